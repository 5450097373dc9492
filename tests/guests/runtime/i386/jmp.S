/*
 * rt_setjmp/rt_longjmp: the recovery behind run_expecting_fault().  Like
 * setjmp/longjmp, plus EFLAGS, so that leaving an exception handler (which
 * runs with IF clear) restores the caller's interrupt flag.
 * Buffer: ebx esi edi ebp esp eip eflags.
 */
    .section .text
    .code32
    .global rt_setjmp, rt_longjmp
rt_setjmp:
    mov     4(%esp), %edx
    mov     %ebx, 0(%edx)
    mov     %esi, 4(%edx)
    mov     %edi, 8(%edx)
    mov     %ebp, 12(%edx)
    lea     4(%esp), %eax           /* the stack pointer after our return */
    mov     %eax, 16(%edx)
    mov     (%esp), %eax
    mov     %eax, 20(%edx)
    pushf
    pop     %eax
    mov     %eax, 24(%edx)
    xor     %eax, %eax
    ret

rt_longjmp:
    mov     4(%esp), %edx
    mov     8(%esp), %eax
    mov     0(%edx), %ebx
    mov     4(%edx), %esi
    mov     8(%edx), %edi
    mov     12(%edx), %ebp
    mov     16(%edx), %esp
    pushl   24(%edx)
    popf
    jmp     *20(%edx)

    .section .note.GNU-stack, "", @progbits
