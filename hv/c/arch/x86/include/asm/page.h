#ifndef ASM_PAGE_H
#define ASM_PAGE_H

#include <keel/types.h>
#include <asm/boot_layout.h>

static inline void *phys_to_virt(paddr_t p) { return (void *)(uintptr_t)(p + DIRECTMAP_BASE); }

static inline paddr_t virt_to_phys(const void *v)
{
    uintptr_t a = (uintptr_t)v;
    if (a >= KEEL_VIRT)
        return a - KEEL_VIRT;
    return a - DIRECTMAP_BASE;
}

#endif
