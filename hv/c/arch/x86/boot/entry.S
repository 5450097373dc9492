/*
 * 32-bit multiboot entry -> long mode -> C.
 *
 * Runs at its load address with paging off.  It builds temporary page
 * tables mapping the first 4 GiB twice (identity, and at the direct-map
 * base) plus the image at KEEL_VIRT, switches to long mode (Intel SDM
 * vol. 3A 10.8.5, AMD APM vol. 2 14.6) and calls boot_main() on the boot
 * stack.  mm_init() later replaces these tables with the final ones.
 */
#include <asm/boot_layout.h>

#define CR0_PE          (1 << 0)
#define CR0_WP          (1 << 16)
#define CR0_PG          (1 << 31)
#define CR0_NW          (1 << 29)
#define CR0_CD          (1 << 30)
#define CR4_PAE         (1 << 5)
#define EFER_MSR        0xC0000080
#define EFER_LME        (1 << 8)
#define EFER_NXE        (1 << 11)
#define PTE_P           (1 << 0)
#define PTE_W           (1 << 1)
#define PTE_PS          (1 << 7)
#define COM1            0x3F8

    .section .boot.text, "ax"
    .code32
    .global _start
_start:
    cli
    cld
    mov     %eax, %edi
    rdtsc
    mov     %eax, boot_entry_tsc
    mov     %edx, boot_entry_tsc + 4
    mov     %edi, %eax
    mov     %eax, boot_mb_magic
    mov     %ebx, boot_mb_info
    mov     $boot_stack32_top, %esp

    /* Long mode present?  CPUID 0x80000001 EDX bit 29. */
    mov     $0x80000000, %eax
    cpuid
    cmp     $0x80000001, %eax
    jb      no_long_mode
    mov     $0x80000001, %eax
    cpuid
    bt      $29, %edx
    jnc     no_long_mode
    mov     %edx, %ebp              /* keep: bit 20 = NX */

    /* PD entries: 2048 x 2 MiB pages covering 0..4 GiB. */
    mov     $boot_pd, %edi
    xor     %ecx, %ecx
1:  mov     %ecx, %eax
    shl     $21, %eax
    or      $(PTE_P | PTE_W | PTE_PS), %eax
    mov     %eax, (%edi, %ecx, 8)
    mov     %ecx, %eax
    shr     $11, %eax               /* high dword: bits 32+ of the address */
    mov     %eax, 4(%edi, %ecx, 8)
    inc     %ecx
    cmp     $2048, %ecx
    jne     1b

    /* PDPT: 4 entries -> the 4 PDs. */
    mov     $boot_pdpt, %edi
    mov     $boot_pd + (PTE_P | PTE_W), %eax
    mov     %eax, 0(%edi)
    add     $4096, %eax
    mov     %eax, 8(%edi)
    add     $4096, %eax
    mov     %eax, 16(%edi)
    add     $4096, %eax
    mov     %eax, 24(%edi)

    /* High PDPT: entry 510 maps KEEL_VIRT -> physical 0 (first PD, 1 GiB). */
    mov     $boot_pdpt_high, %edi
    movl    $boot_pd + (PTE_P | PTE_W), 510 * 8(%edi)

    /* PML4: 0 -> identity, DIRECTMAP slot -> identity, 511 -> high. */
    mov     $boot_pml4, %edi
    movl    $boot_pdpt + (PTE_P | PTE_W), 0(%edi)
    movl    $boot_pdpt + (PTE_P | PTE_W), (BOOT_DIRECTMAP_SLOT * 8)(%edi)
    movl    $boot_pdpt_high + (PTE_P | PTE_W), 511 * 8(%edi)

    mov     %cr4, %eax
    or      $CR4_PAE, %eax
    mov     %eax, %cr4
    mov     $boot_pml4, %eax
    mov     %eax, %cr3
    mov     $EFER_MSR, %ecx
    rdmsr
    or      $EFER_LME, %eax
    bt      $20, %ebp
    jnc     2f
    or      $EFER_NXE, %eax
2:  wrmsr
    mov     %cr0, %eax
    and     $~(CR0_CD | CR0_NW), %eax   /* caches on, whatever the loader left */
    or      $(CR0_PG | CR0_WP | CR0_PE), %eax
    mov     %eax, %cr0

    lgdt    boot_gdt_desc
    ljmp    $0x08, $long_mode_entry

no_long_mode:
    mov     $msg_no_lm, %esi
    mov     $COM1 + 5, %dx
3:  lodsb
    test    %al, %al
    jz      4f
    mov     %al, %bl
    mov     $COM1 + 5, %dx
5:  in      %dx, %al
    test    $0x20, %al
    jz      5b
    mov     $COM1, %dx
    mov     %bl, %al
    out     %al, %dx
    jmp     3b
4:  cli
    hlt
    jmp     4b

    .code64
long_mode_entry:
    mov     $0x10, %ax
    mov     %ax, %ds
    mov     %ax, %es
    mov     %ax, %ss
    xor     %eax, %eax
    mov     %ax, %fs
    mov     %ax, %gs
    movabs  $boot_stack_top, %rsp
    xor     %ebp, %ebp
    mov     boot_mb_magic, %edi
    mov     boot_mb_info, %esi
    movabs  $boot_main, %rax
    call    *%rax
6:  cli
    hlt
    jmp     6b

msg_no_lm:
    .asciz  "Keel: this CPU has no long mode (x86-64); cannot boot.\r\n"

    .section .boot.data, "aw"
    .align 4096
    .global boot_pml4
boot_pml4:      .fill 512, 8, 0
boot_pdpt:      .fill 512, 8, 0
boot_pdpt_high: .fill 512, 8, 0
boot_pd:        .fill 4 * 512, 8, 0
    .fill 1024, 1, 0
boot_stack32_top:

    .align 16
boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF    /* 0x08: 64-bit code */
    .quad 0x00CF92000000FFFF    /* 0x10: data */
boot_gdt_desc:
    .short boot_gdt_desc - boot_gdt - 1
    .long boot_gdt

    .global boot_mb_magic, boot_mb_info, boot_entry_tsc
    .align 8
boot_entry_tsc:    .quad 0
boot_mb_magic:     .long 0
boot_mb_info:      .long 0

    /* Boot CPU stacks.  The pages named *_guard stay unmapped once
     * paging_init() runs, so an overflow faults instead of corrupting. */
    .section .bss.page_aligned, "aw", @nobits
    .align 4096
    .global bsp_ist_stacks
bsp_ist_stacks:                 /* [guard][NMI][guard][#DF][guard][#MC] */
    .skip 6 * 4096
    .global boot_stack_guard
boot_stack_guard:
    .skip 4096
    .global boot_stack_bottom
boot_stack_bottom:
    .skip BOOT_STACK_SIZE
    .global boot_stack_top
boot_stack_top:

    .section .note.GNU-stack, "", @progbits
