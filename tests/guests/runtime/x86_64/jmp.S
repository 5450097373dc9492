/*
 * rt_setjmp/rt_longjmp: the recovery behind run_expecting_fault().  Like
 * setjmp/longjmp, plus RFLAGS, so that leaving an exception handler (which
 * runs with IF clear) restores the caller's interrupt flag.
 * Buffer: rbx rbp r12 r13 r14 r15 rsp rip rflags.
 */
    .section .text
    .code64
    .global rt_setjmp, rt_longjmp
rt_setjmp:
    mov     %rbx, 0(%rdi)
    mov     %rbp, 8(%rdi)
    mov     %r12, 16(%rdi)
    mov     %r13, 24(%rdi)
    mov     %r14, 32(%rdi)
    mov     %r15, 40(%rdi)
    lea     8(%rsp), %rax           /* the stack pointer after our return */
    mov     %rax, 48(%rdi)
    mov     (%rsp), %rax
    mov     %rax, 56(%rdi)
    pushf
    pop     %rax
    mov     %rax, 64(%rdi)
    xor     %eax, %eax
    ret

rt_longjmp:
    mov     %esi, %eax
    mov     0(%rdi), %rbx
    mov     8(%rdi), %rbp
    mov     16(%rdi), %r12
    mov     24(%rdi), %r13
    mov     32(%rdi), %r14
    mov     40(%rdi), %r15
    mov     48(%rdi), %rsp
    pushq   64(%rdi)
    popf
    jmp     *56(%rdi)

    .section .note.GNU-stack, "", @progbits
