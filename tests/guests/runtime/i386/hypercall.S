/*
 * long keel_hypercall(nr, a1, a2, a3, a4, a5) for 32-bit guests: EAX = nr,
 * arguments in EBX, ECX, EDX, ESI, EDI, result in EAX.  Through the
 * hypercall page (slot nr at hypercall_page + 32 * nr, which loads EAX
 * itself) or directly with VMCALL/VMMCALL, per hypercall_mode_cur.  EBX,
 * ESI, EDI and EBP are callee-saved in the i386 ABI: kept on the stack.
 */
#include "rt/layout.h"

#define ENOSYS 38

    .section .text
    .code32
    .global keel_hypercall
keel_hypercall:
    push    %ebp
    push    %ebx
    push    %esi
    push    %edi
    mov     20(%esp), %eax
    mov     24(%esp), %ebx
    mov     28(%esp), %ecx
    mov     32(%esp), %edx
    mov     36(%esp), %esi
    mov     40(%esp), %edi
    mov     hypercall_mode_cur, %ebp
    cmp     $RT_HYPERCALL_PAGE, %ebp
    jne     1f
    cmp     $128, %eax              /* the page has 128 slots */
    jae     3f
    shl     $5, %eax
    add     $hypercall_page, %eax
    call    *%eax
    jmp     9f
1:  cmp     $RT_HYPERCALL_VMCALL, %ebp
    jne     2f
    vmcall
    jmp     9f
2:  cmp     $RT_HYPERCALL_VMMCALL, %ebp
    jne     3f
    vmmcall
    jmp     9f
3:  mov     $-ENOSYS, %eax
9:  pop     %edi
    pop     %esi
    pop     %ebx
    pop     %ebp
    ret

    .section .note.GNU-stack, "", @progbits
