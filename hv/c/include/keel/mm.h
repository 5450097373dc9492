/*
 * Physical frame allocator: a buddy allocator over the firmware memory map.
 *
 * Blocks are 2^order contiguous 4 KiB frames, naturally aligned (an order-9
 * block is a 2 MiB-aligned 2 MiB run, order 18 a 1 GiB-aligned 1 GiB run), so
 * callers can map them with large pages.  Frames never handed out: all of
 * the first 1 MiB, the hypervisor image, every boot module and the
 * allocator's own descriptor array.  The allocator never reads or writes the
 * contents of a free frame.
 *
 * Every function is safe from any CPU and with interrupts disabled.
 */
#ifndef KEEL_MM_H
#define KEEL_MM_H

#include <keel/types.h>

/* Largest block: order 18 = 1 GiB. */
#define FRAME_MAX_ORDER 18

#define FRAME_ZERO (1u << 0)  /* zero the memory (through phys_to_virt) */
#define FRAME_DMA32 (1u << 1) /* below 4 GiB */

/* A block of 2^order frames, or 0 when none is free (never panics).
 * Requests without FRAME_DMA32 take memory above 4 GiB first so that low
 * memory stays available for the callers that need it.  Until
 * frame_init_high_mapped() every request is served below 4 GiB, the only
 * memory the boot page tables map.  Unknown flag bits are ignored. */
paddr_t frame_alloc(unsigned order, unsigned flags);

/* Return a block; order must be the one it was allocated with.  A double
 * free, an unaligned or foreign address or a wrong order panics: that is a
 * hypervisor bug. */
void frame_free(paddr_t addr, unsigned order);

/* Turn an allocated 2^order block into 2^order single frames (each then
 * freed with order 0), e.g. when a large guest mapping is split. */
void frame_split(paddr_t addr, unsigned order);

struct frame_stats {
    uint64_t total_pages;    /* RAM frames under management (after mem=) */
    uint64_t free_pages;     /* free now */
    uint64_t reserved_pages; /* RAM never handed out: low 1 MiB, image, modules, metadata */
    uint64_t metadata_pages; /* the part of reserved_pages holding the descriptor array */
    paddr_t highest_ram;     /* end (exclusive) of the highest managed RAM frame */
};
/* total_pages == free_pages + reserved_pages + frames currently allocated. */
void frame_get_stats(struct frame_stats *st);

/* Build the allocator from boot_info and the mem= option; call once, early,
 * while the boot page tables map 0..4 GiB.  Prints a one-line summary. */
void frame_init(void);

/* The arch code calls this once the direct map covers all RAM: from then on
 * allocations (and FRAME_ZERO) may use memory above 4 GiB. */
void frame_init_high_mapped(void);

uint64_t frame_free_pages(void);

#endif
