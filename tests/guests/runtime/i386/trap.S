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
    .code32
    .balign 16
    .global trap_stubs
trap_stubs:
    vector = 0
    .rept 256
0:
    .if vector >= 32
    pushl   $0
    .elseif ((ERROR_CODE_VECTORS >> vector) & 1) == 0
    pushl   $0
    .endif
    /* push imm8 sign-extends: trap_dispatch keeps the low 8 bits. */
    .byte   0x6a, vector
    jmp     trap_common
    .fill   0b + 16 - ., 1, 0xcc
    vector = vector + 1
    .endr

trap_common:
    pusha
    cld
    push    %esp
    call    trap_dispatch
    add     $4, %esp
    popa
    add     $8, %esp
    iret

    .section .note.GNU-stack, "", @progbits
