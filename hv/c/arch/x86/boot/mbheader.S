/*
 * Multiboot 1 and 2 headers.  Both use their address fields so that loaders
 * load the image as the flat copy of memory the linker script makes.
 */
#define MB1_MAGIC       0x1BADB002
#define MB1_FLAGS       ((1 << 0) | (1 << 1) | (1 << 16)) /* page-align modules, memory info, address fields */
#define MB2_MAGIC       0xE85250D6
#define MB2_ARCH_I386   0

    .section .multiboot, "a"
    .align 4
mb1_header:
    .long MB1_MAGIC
    .long MB1_FLAGS
    .long -(MB1_MAGIC + MB1_FLAGS)
    .long mb1_header            /* header_addr */
    .long __image_start_phys    /* load_addr */
    .long __load_end_phys       /* load_end_addr */
    .long __bss_end_phys        /* bss_end_addr */
    .long _start                /* entry_addr */

    .align 8
mb2_header:
    .long MB2_MAGIC
    .long MB2_ARCH_I386
    .long mb2_header_end - mb2_header
    .long -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))

    /* Information requests, all optional: command line, modules, memory
     * map, ACPI RSDP (old and new), EFI memory map. */
    .align 8
1:  .short 1, 1
    .long 2f - 1b
    .long 1, 3, 6, 14, 15, 17
2:
    /* Address tag */
    .align 8
    .short 2, 0
    .long 24
    .long mb2_header
    .long __image_start_phys
    .long __load_end_phys
    .long __bss_end_phys
    /* Entry address tag */
    .align 8
    .short 3, 0
    .long 12
    .long _start
    /* Page-align modules */
    .align 8
    .short 6, 0
    .long 8
    /* End */
    .align 8
    .short 0, 0
    .long 8
mb2_header_end:

    .section .note.GNU-stack, "", @progbits
