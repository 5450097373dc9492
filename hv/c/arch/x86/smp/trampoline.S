/*
 * AP start-up: real mode -> protected mode -> long mode -> ap_entry64.
 * Copied to TRAMPOLINE_PHYS before each start; the SIPI starts the AP at
 * CS = TRAMPOLINE_PHYS >> 4, IP = 0 (Intel SDM vol. 3A 9.4.4).  The boot CPU
 * fills the tramp_* variables (CR3, stack, per-CPU pointer) first.
 */
#include <asm/smp.h>

#define REL(x) ((x) - trampoline_start)
#define ABS(x) (TRAMPOLINE_PHYS + REL(x))

    .section .rodata, "a"
    .code16
    .global trampoline_start, trampoline_end
    .global tramp_cr3, tramp_stack, tramp_percpu, tramp_entry, tramp_efer_nx
trampoline_start:
    cli
    cld
    mov     %cs, %ax
    mov     %ax, %ds
    lgdtl   REL(tramp_gdt_desc)
    mov     %cr0, %eax
    or      $1, %eax
    mov     %eax, %cr0
    ljmpl   $0x18, $ABS(tramp_pm)

    .code32
tramp_pm:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     %cr4, %eax
    or      $(1 << 5), %eax         /* PAE */
    mov     %eax, %cr4
    mov     ABS(tramp_cr3), %eax
    mov     %eax, %cr3
    mov     $0xC0000080, %ecx       /* EFER: LME, and NXE if the BSP uses it */
    rdmsr
    or      $(1 << 8), %eax
    or      ABS(tramp_efer_nx), %eax
    wrmsr
    mov     %cr0, %eax
    and     $~((1 << 30) | (1 << 29)), %eax     /* INIT leaves CD and NW set: caches on */
    or      $((1 << 31) | (1 << 16) | 1), %eax  /* PG, WP, PE */
    mov     %eax, %cr0
    ljmpl   $0x08, $ABS(tramp_lm)

    .code64
tramp_lm:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    mov     ABS(tramp_stack), %rsp
    mov     ABS(tramp_percpu), %rdi
    xor     %ebp, %ebp
    mov     ABS(tramp_entry), %rax
    jmp     *%rax

    .align 16
tramp_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF        /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF        /* 0x10: data */
    .quad 0x00CF9A000000FFFF        /* 0x18: 32-bit code */
tramp_gdt_desc:
    .short tramp_gdt_desc - tramp_gdt - 1
    .long ABS(tramp_gdt)

    .align 8
tramp_cr3:      .quad 0
tramp_stack:    .quad 0
tramp_percpu:   .quad 0
tramp_entry:    .quad 0
tramp_efer_nx:  .long 0
trampoline_end:

    .section .note.GNU-stack, "", @progbits
