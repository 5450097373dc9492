/*
 * Entering ring 3 and coming back (common/user.c has the rest).
 *
 * arch_enter_user(fn, arg, user_sp, sp0): records the current stack pointer
 * as the TSS ESP0 (SS0 is SEL_DATA), loads the user data segments, then
 * IRETs to user_trampoline at CPL 3 on user_sp with the caller's EFLAGS.
 * The trampoline calls fn(arg) and leaves with INT RT_USER_EXIT_VECTOR (a
 * DPL-3 gate); trap.c longjmps back into run_in_user_mode().  Never returns.
 */
#include "rt/layout.h"

    .section .text
    .code32
    .global arch_enter_user, arch_user_return
arch_enter_user:
    mov     16(%esp), %ecx
    mov     %esp, (%ecx)            /* TSS.ESP0 */
    mov     4(%esp), %eax           /* fn */
    mov     8(%esp), %edx           /* arg */
    mov     12(%esp), %ecx          /* user stack */
    pushl   $(SEL_UDATA | 3)        /* SS */
    pushl   %ecx                    /* ESP */
    pushfl
    pushl   $(SEL_UCODE | 3)        /* CS */
    pushl   $user_trampoline        /* EIP */
    mov     $(SEL_UDATA | 3), %ecx
    mov     %ecx, %ds
    mov     %ecx, %es
    xor     %ebp, %ebp
    iret

user_trampoline:
    sub     $12, %esp               /* keep the stack 16-byte aligned at the call */
    push    %edx
    call    *%eax
    int     $RT_USER_EXIT_VECTOR
    ud2

/* Back in ring 0 after the longjmp: restore the kernel's data segments
 * (IRET to ring 3 nulled FS and GS; DS and ES hold the user selector). */
arch_user_return:
    mov     $SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %fs
    mov     %eax, %gs
    ret

    .section .note.GNU-stack, "", @progbits
