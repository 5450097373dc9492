/*
 * PVH entry of the 32-bit flavour: 32-bit protected mode, paging off, EBX =
 * struct hvm_start_info.  Clears BSS, loads the GDT, builds the page tables,
 * turns on PAE paging (staying in 32-bit mode) and calls rt_start(start info
 * address).  Secondary vCPUs arrive at ap_entry with paging already on
 * (VCPU_HVM_MODE_32B with this vCPU's CR0/CR3/CR4).
 */
#include "rt/layout.h"

#define CR0_PE  0x00000001
#define CR0_ET  0x00000010
#define CR0_NE  0x00000020
#define CR0_WP  0x00010000
#define CR0_PG  0x80000000
#define CR4_PAE 0x00000020

/* The PVH entry point for loaders (XEN_ELFNOTE_PHYS32_ENTRY = 18). */
    .section .note.Xen, "a", @note
    .balign 4
    .long   4, 4, 18
    .asciz  "Xen"
    .long   pvh_start

    .section .text.entry, "ax"
    .code32
    .global pvh_start
pvh_start:
    cli
    cld
    /* EBX is all we are given: keep it in .data (BSS is cleared next). */
    mov     %ebx, boot_start_info

    mov     $__bss_start, %edi
    mov     $__bss_end, %ecx
    sub     %edi, %ecx
    xor     %eax, %eax
    rep stosb

    lgdt    gdt_desc
    ljmp    $SEL_CODE, $1f
1:  mov     $SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %eax, %fs
    mov     %eax, %gs
    mov     $(boot_stack + STACK_SIZE), %esp

    mov     $1, %eax                /* PAE PDPT entries: present only */
    call    build_page_tables

    /* PAE paging (SDM Vol. 3A 4.4): CR4.PAE, CR3 = PDPT, then CR0.PG. */
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $pdpt, %eax
    mov     %eax, %cr3
    mov     $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_PE), %eax
    mov     %eax, %cr0

    xor     %ebp, %ebp
    pushl   boot_start_info
    call    rt_start
    jmp     .

/* Secondary vCPUs: flat segments from the context, no GDT of ours yet. */
    .global ap_entry
ap_entry:
    cld
    lgdt    gdt_desc
    ljmp    $SEL_CODE, $2f
2:  mov     $SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %eax, %fs
    mov     %eax, %gs
    xor     %ebp, %ebp
    call    ap_start
    jmp     .

    .section .data
    .balign 8
    .global gdt
gdt:
    .quad   0
    .quad   0x00cf9b000000ffff      /* SEL_CODE: flat 32-bit code */
    .quad   0x00cf93000000ffff      /* SEL_DATA: flat data */
    .quad   0x00cffb000000ffff      /* SEL_UCODE: flat 32-bit code, DPL 3 */
    .quad   0x00cff3000000ffff      /* SEL_UDATA: flat data, DPL 3 */
    /* GDT_TSS_FIRST: an 8-byte TSS descriptor per vCPU, written by user.c. */
    .fill   RT_MAX_VCPUS, 8, 0
gdt_end:
    .balign 8
    .word   0
gdt_desc:
    .word   gdt_end - gdt - 1
    .long   gdt

    .global boot_start_info
boot_start_info:
    .long   0

    .section .bss
    /* The boot vCPU's stack; its struct percpu sits at the bottom. */
    .balign STACK_SIZE
    .global boot_stack
boot_stack:
    .skip   STACK_SIZE

    .section .note.GNU-stack, "", @progbits
