/*
 * long keel_hypercall(nr, a1, a2, a3, a4, a5) for 64-bit guests: RAX = nr,
 * arguments in RDI, RSI, RDX, R10, R8, result in RAX.  Through the
 * hypercall page (slot nr at hypercall_page + 32 * nr, which loads EAX
 * itself) or directly with VMCALL/VMMCALL, per hypercall_mode_cur.  Every
 * register the hypervisor may clobber is caller-saved in the SysV ABI.
 */
#include "rt/layout.h"

#define ENOSYS 38

    .section .text
    .code64
    .global keel_hypercall
keel_hypercall:
    mov     %rdi, %rax
    mov     %rsi, %rdi
    mov     %rdx, %rsi
    mov     %rcx, %rdx
    mov     %r8, %r10
    mov     %r9, %r8
    mov     hypercall_mode_cur(%rip), %r11d
    cmp     $RT_HYPERCALL_PAGE, %r11d
    jne     1f
    cmp     $128, %rax              /* the page has 128 slots */
    jae     3f
    shl     $5, %eax
    add     $hypercall_page, %rax
    call    *%rax
    ret
1:  cmp     $RT_HYPERCALL_VMCALL, %r11d
    jne     2f
    vmcall
    ret
2:  cmp     $RT_HYPERCALL_VMMCALL, %r11d
    jne     3f
    vmmcall
    ret
3:  mov     $-ENOSYS, %rax
    ret

    .section .note.GNU-stack, "", @progbits
