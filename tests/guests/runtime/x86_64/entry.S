/*
 * PVH entry of the 64-bit flavour: 32-bit protected mode, paging off, EBX =
 * struct hvm_start_info.  Clears BSS, loads the GDT, builds the page tables,
 * enters long mode and calls rt_start(start info address).  Secondary vCPUs
 * arrive at ap_entry already in long mode (VCPU_HVM_MODE_64B).
 */
#include "rt/layout.h"

#define CR0_PE  0x00000001
#define CR0_ET  0x00000010
#define CR0_NE  0x00000020
#define CR0_WP  0x00010000
#define CR0_PG  0x80000000
#define CR4_PAE 0x00000020
#define MSR_EFER 0xC0000080
#define EFER_LME 0x00000100

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
    mov     $SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %eax, %fs
    mov     %eax, %gs
    mov     $(boot_stack + STACK_SIZE), %esp

    mov     $3, %eax                /* PDPT entries: present, writable */
    call    build_page_tables
    movl    $(pdpt + 3), pml4

    /* Long mode (SDM Vol. 3A 10.8.5): PAE, CR3, EFER.LME, then paging. */
    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $pml4, %eax
    mov     %eax, %cr3
    mov     $MSR_EFER, %ecx
    rdmsr
    or      $EFER_LME, %eax
    wrmsr
    mov     $(CR0_PG | CR0_WP | CR0_NE | CR0_ET | CR0_PE), %eax
    mov     %eax, %cr0
    ljmp    $SEL_CODE, $1f

    .code64
1:  /* The upper halves of registers are undefined after the switch. */
    mov     $(boot_stack + STACK_SIZE), %rsp
    xor     %ebp, %ebp
    mov     boot_start_info(%rip), %edi
    call    rt_start
    jmp     .

/* Secondary vCPUs: long mode with flat segments but selectors of nobody's
 * GDT; the stack pointer was set by VCPUOP_initialise. */
    .global ap_entry
ap_entry:
    cld
    lgdt    gdt_desc(%rip)
    mov     $SEL_DATA, %eax
    mov     %eax, %ds
    mov     %eax, %es
    mov     %eax, %ss
    mov     %eax, %fs
    mov     %eax, %gs
    pushq   $SEL_CODE
    lea     2f(%rip), %rax
    push    %rax
    lretq
2:  xor     %ebp, %ebp
    call    ap_start
    jmp     .

    .section .data
    .balign 8
    .global gdt
gdt:
    .quad   0
    .quad   0x00af9b000000ffff      /* SEL_CODE: 64-bit code */
    .quad   0x00cf93000000ffff      /* SEL_DATA: flat data */
    .quad   0x00affb000000ffff      /* SEL_UCODE: 64-bit code, DPL 3 */
    .quad   0x00cff3000000ffff      /* SEL_UDATA: flat data, DPL 3 */
    /* GDT_TSS_FIRST: a 16-byte TSS descriptor per vCPU, written by user.c. */
    .fill   2 * RT_MAX_VCPUS, 8, 0
gdt_end:
    .balign 8
    .word   0
gdt_desc:
    .word   gdt_end - gdt - 1
    .quad   gdt                     /* 32-bit LGDT reads the low half only */

    .global boot_start_info
boot_start_info:
    .long   0

    .section .bss
    .balign PAGE_SIZE
pml4:
    .skip   PAGE_SIZE
    /* The boot vCPU's stack; its struct percpu sits at the bottom. */
    .balign STACK_SIZE
    .global boot_stack
boot_stack:
    .skip   STACK_SIZE

    .section .note.GNU-stack, "", @progbits
