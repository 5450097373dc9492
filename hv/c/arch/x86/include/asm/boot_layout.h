/* Address-space constants shared by assembly and C. */
#ifndef ASM_BOOT_LAYOUT_H
#define ASM_BOOT_LAYOUT_H

/* The image is linked at KEEL_VIRT + physical address (see hv.ld). */
#define KEEL_VIRT           0xFFFFFFFF80000000
/* All physical memory is mapped at DIRECTMAP_BASE + physical address. */
#define DIRECTMAP_BASE      0xFFFF800000000000
#define BOOT_DIRECTMAP_SLOT 256     /* PML4 index of DIRECTMAP_BASE */
#define BOOT_STACK_SIZE     (16 * 1024)

#endif
