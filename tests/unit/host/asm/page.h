/*
 * Host-test stand-in for the direct map.  A test that wants "physical
 * memory" reserves a big anonymous mapping and points host_directmap_base
 * at it; phys_to_virt(p) is then that mapping + p.  Tests that never set it
 * get an identity map (physical address == host address), which suits code
 * that is handed host buffers as "physical" addresses.
 */
#ifndef ASM_PAGE_H
#define ASM_PAGE_H

#include <keel/types.h>
#include <asm/boot_layout.h>

/* Weak, so that every test program links whether or not it defines it. */
__attribute__((weak)) uintptr_t host_directmap_base;

static inline void *phys_to_virt(paddr_t p)
{
    return (void *)(uintptr_t)(p + host_directmap_base);
}

static inline paddr_t virt_to_phys(const void *v)
{
    return (paddr_t)((uintptr_t)v - host_directmap_base);
}

#endif
