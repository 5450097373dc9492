/* The registers trap.S saves, in memory order (32-bit flavour). */
#ifndef ARCH_FRAME_H
#define ARCH_FRAME_H

struct trap_frame {
    unsigned long di, si, bp, sp_at_pusha, bx, dx, cx, ax; /* PUSHA */
    unsigned long vector, error_code;
    unsigned long ip, cs, flags; /* pushed by the CPU; no SS:ESP at CPL 0 */
};

#endif
