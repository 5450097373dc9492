/* A multiboot image that prints nothing and exits through the test exit
 * port: the harness must report a crash (no banner), not a pass. */
    .section .text
    .code32
    .align 4
    .long 0x1BADB002
    .long 0x00000000
    .long -(0x1BADB002)
    .global _start
_start:
    mov     $0xF4, %dx
    xor     %eax, %eax
    out     %eax, %dx
    /* Bochs: ask the emulator to stop. */
    mov     $0x8900, %dx
    mov     $shutdown, %esi
1:  lodsb
    test    %al, %al
    jz      2f
    out     %al, %dx
    jmp     1b
2:  cli
    hlt
    jmp     2b
shutdown:
    .asciz  "Shutdown"

    .section .note.GNU-stack, "", @progbits
