/*
 * 256 interrupt stubs, 16 bytes apart (trap_stubs + 16 * vector), each
 * pushing a zero error code where the CPU pushes none and then the vector,
 * and one common path that saves the registers as a struct trap_frame
 * (arch/frame.h) and calls trap_dispatch(frame).
 */
#include "rt/layout.h"

/* Exceptions that push an error code (SDM Vol. 3A 6.15): 8, 10-14, 17,
 * 21, 29, 30. */
#define ERROR_CODE_VECTORS 0x60227D00

    .section .text
    .code64
    .balign 16
    .global trap_stubs
trap_stubs:
    vector = 0
    .rept 256
0:
    .if vector >= 32
    pushq   $0
    .elseif ((ERROR_CODE_VECTORS >> vector) & 1) == 0
    pushq   $0
    .endif
    /* push imm8 sign-extends: trap_dispatch keeps the low 8 bits. */
    .byte   0x6a, vector
    jmp     trap_common
    .fill   0b + 16 - ., 1, 0xcc
    vector = vector + 1
    .endr

trap_common:
    push    %rax
    push    %rbx
    push    %rcx
    push    %rdx
    push    %rsi
    push    %rdi
    push    %rbp
    push    %r8
    push    %r9
    push    %r10
    push    %r11
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    cld
    /* The CPU aligned RSP to 16 before pushing 5 words; with the error
     * code, the vector and 15 registers RSP is 16-aligned again here. */
    mov     %rsp, %rdi
    call    trap_dispatch
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %r11
    pop     %r10
    pop     %r9
    pop     %r8
    pop     %rbp
    pop     %rdi
    pop     %rsi
    pop     %rdx
    pop     %rcx
    pop     %rbx
    pop     %rax
    add     $16, %rsp
    iretq

    .section .note.GNU-stack, "", @progbits
