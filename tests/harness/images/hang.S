/* A multiboot image that prints a line and then hangs: the harness must
 * report it as a hang (timeout), never as a pass. */
    .section .text
    .code32
    .align 4
    .long 0x1BADB002
    .long 0x00000000
    .long -(0x1BADB002)
    .global _start
_start:
    mov     $msg, %esi
1:  lodsb
    test    %al, %al
    jz      2f
    mov     %al, %bl
3:  mov     $0x3FD, %dx
    in      %dx, %al
    test    $0x20, %al
    jz      3b
    mov     $0x3F8, %dx
    mov     %bl, %al
    out     %al, %dx
    jmp     1b
2:  cli
    jmp     2b
msg:
    .asciz  "hang: started, now looping forever\r\n"

    .section .note.GNU-stack, "", @progbits
