/* The registers trap.S saves, in memory order (64-bit flavour). */
#ifndef ARCH_FRAME_H
#define ARCH_FRAME_H

struct trap_frame {
    unsigned long r15, r14, r13, r12, r11, r10, r9, r8;
    unsigned long bp, di, si, dx, cx, bx, ax;
    unsigned long vector, error_code;
    unsigned long ip, cs, flags, sp, ss; /* pushed by the CPU */
};

#endif
