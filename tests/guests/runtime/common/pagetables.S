/*
 * The boot page tables, shared by both flavours: the first 4 GiB identity-
 * mapped with 2 MiB pages, except the first 2 MiB, mapped with 4 KiB pages
 * so that one page of the image, unmapped_page, can stay unmapped: a
 * place that faults in both flavours.  (Page 0 stays mapped: QEMU puts the
 * PVH start info and memory map there.)  The top GiB (LAPIC, IOAPIC,
 * Keel's ACPI tables at 0xFC000000, other MMIO) is mapped uncached
 * (PCD|PWT).  Nothing above 4 GiB is mapped.
 *
 * Runs in 32-bit protected mode with paging off, from either flavour's
 * entry, after BSS (where the tables live) has been cleared.
 */
#include "rt/layout.h"

#define PTE_P   0x001
#define PTE_W   0x002
#define PTE_PWT 0x008
#define PTE_PCD 0x010
#define PTE_PS  0x080

    .section .text, "ax"
    .code32

/* build_page_tables(EAX = flags for the four PDPT entries).  Long mode wants
 * P|W; PAE's PDPTEs must hold P alone (SDM Vol. 3A 4.4.1: the other low bits
 * are reserved).  Clobbers EAX, ECX, EDX. */
    .global build_page_tables
build_page_tables:
    mov     %eax, %edx

    /* pt0: 512 4 KiB pages for 0 - 2 MiB, but unmapped_page (link.ld
     * keeps it below 2 MiB). */
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $12, %eax
    cmp     $unmapped_page, %eax
    je      5f
    or      $(PTE_P | PTE_W), %eax
    mov     %eax, pt0(, %ecx, 8)
5:  inc     %ecx
    cmp     $512, %ecx
    jb      1b

    /* pd: 4 x 512 2 MiB pages; entries 1536 and up are the top GiB. */
    xor     %ecx, %ecx
2:  mov     %ecx, %eax
    shl     $21, %eax
    or      $(PTE_P | PTE_W | PTE_PS), %eax
    cmp     $1536, %ecx
    jb      3f
    or      $(PTE_PCD | PTE_PWT), %eax
3:  mov     %eax, pd(, %ecx, 8)
    inc     %ecx
    cmp     $2048, %ecx
    jb      2b
    movl    $(pt0 + PTE_P + PTE_W), pd

    /* pdpt: one entry per page directory. */
    xor     %ecx, %ecx
4:  mov     %ecx, %eax
    shl     $12, %eax
    add     $pd, %eax
    or      %edx, %eax
    mov     %eax, pdpt(, %ecx, 8)
    inc     %ecx
    cmp     $4, %ecx
    jb      4b
    ret

    .section .bss
    .balign PAGE_SIZE
    .global pdpt
pdpt:   .skip PAGE_SIZE
pd:     .skip 4 * PAGE_SIZE
pt0:    .skip PAGE_SIZE

    .section .bss.unmapped, "aw", @nobits
    .balign PAGE_SIZE
    .global unmapped_page
unmapped_page:
    .skip PAGE_SIZE

    .section .note.GNU-stack, "", @progbits
