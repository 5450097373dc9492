/*
 * Interrupt and exception entry stubs.  Every vector pushes an error code
 * (0 where the CPU does not) and its number, then all general registers,
 * forming struct cpu_regs (asm/traps.h) for trap_dispatch().
 * Vectors with a CPU error code: 8, 10-14, 17, 21, 29, 30
 * (Intel SDM vol. 3A table 6-1).
 */
    .section .text
    .code64

.macro STUB vec
    .align 16
isr_\vec:
    .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
    .else
    pushq   $0
    .endif
    pushq   $\vec
    jmp     isr_common
.endm

    .global isr_stubs
isr_stubs:
.altmacro
.set i, 0
.rept 256
    STUB %i
    .set i, i + 1
.endr

isr_common:
    cld
    pushq   %rax
    pushq   %rbx
    pushq   %rcx
    pushq   %rdx
    pushq   %rsi
    pushq   %rdi
    pushq   %rbp
    pushq   %r8
    pushq   %r9
    pushq   %r10
    pushq   %r11
    pushq   %r12
    pushq   %r13
    pushq   %r14
    pushq   %r15
    mov     %rsp, %rdi
    /* Align the stack for the C call; the frame pointer chain continues
     * from the interrupted code for stack traces. */
    mov     %rsp, %rbx
    and     $~15, %rsp
    call    trap_dispatch
    mov     %rbx, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %r11
    popq    %r10
    popq    %r9
    popq    %r8
    popq    %rbp
    popq    %rdi
    popq    %rsi
    popq    %rdx
    popq    %rcx
    popq    %rbx
    popq    %rax
    add     $16, %rsp
    iretq

    .section .note.GNU-stack, "", @progbits
