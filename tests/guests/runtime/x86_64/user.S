/*
 * Entering ring 3 and coming back (common/user.c has the rest).
 *
 * arch_enter_user(fn, arg, user_sp, sp0): records the current stack pointer
 * as the TSS RSP0 (so exceptions and interrupts from ring 3 land just below
 * the caller's frames), then IRETs to user_trampoline at CPL 3 on user_sp
 * with the caller's RFLAGS.  The trampoline calls fn(arg) and leaves with
 * INT RT_USER_EXIT_VECTOR (a DPL-3 gate); trap.c longjmps back into
 * run_in_user_mode().  Never returns.
 */
#include "rt/layout.h"

    .section .text
    .code64
    .global arch_enter_user, arch_user_return
arch_enter_user:
    mov     %rsp, (%rcx)            /* TSS.RSP0 */
    pushq   $(SEL_UDATA | 3)        /* SS */
    pushq   %rdx                    /* RSP */
    pushfq
    pushq   $(SEL_UCODE | 3)        /* CS */
    lea     user_trampoline(%rip), %rax
    pushq   %rax                    /* RIP */
    mov     %rdi, %rax
    mov     %rsi, %rdi
    xor     %ebp, %ebp
    iretq

user_trampoline:
    /* RSP is 16-byte aligned here, as a call expects. */
    call    *%rax
    int     $RT_USER_EXIT_VECTOR
    ud2

/* Back in ring 0 after the longjmp: an interrupt from ring 3 loaded a null
 * SS, and IRET to ring 3 nulled the data segments; restore ours. */
arch_user_return:
    mov     $SEL_DATA, %eax
    mov     %eax, %ss
    mov     %eax, %ds
    mov     %eax, %es
    ret

    .section .note.GNU-stack, "", @progbits
