/* The hypervisor's own page tables (4-level, Intel SDM vol. 3A 4.5). */
#ifndef ASM_PAGING_H
#define ASM_PAGING_H

#include <keel/types.h>

#define PTE_P (1ULL << 0)
#define PTE_W (1ULL << 1)
#define PTE_U (1ULL << 2)
#define PTE_PWT (1ULL << 3)
#define PTE_PCD (1ULL << 4)
#define PTE_A (1ULL << 5)
#define PTE_D (1ULL << 6)
#define PTE_PS (1ULL << 7)
#define PTE_G (1ULL << 8)
#define PTE_NX (1ULL << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000ULL

/* Stacks with guard pages live here (PML4 slot 508). */
#define STACK_AREA_BASE 0xFFFFFE0000000000ULL
#define STACK_AREA_SIZE (1ULL << 39)

/* Build the final tables: all RAM in the direct map (NX), the image with
 * W^X, guard pages unmapped, a low identity map for AP start-up; enable
 * global pages, SMEP and SMAP where present. */
void paging_init(void);
/* Remove the low identity map once every CPU is up. */
void paging_drop_identity(void);
/* Physical address of the top-level table (for CR3 and the AP trampoline). */
paddr_t paging_root(void);
/* Allocate a stack of size bytes (multiple of 4 KiB) below an unmapped guard
 * page; returns its lowest address or NULL. */
void *vmap_stack(size_t size);
/* Walk the tables: the physical address va maps to, or 0 if unmapped. */
paddr_t paging_lookup(uint64_t va, uint64_t *flags);

extern bool cpu_has_smep, cpu_has_smap, cpu_has_nx, cpu_has_pdpe1gb;

#endif
