/*
 * Between the global frame allocator (frame.c), its boot glue
 * (frame_boot.c), the heap and the host tests.
 */
#ifndef CORE_MM_FRAME_INTERNAL_H
#define CORE_MM_FRAME_INTERNAL_H

#include <keel/boot.h>
#include <keel/mm.h>

#include "frame_pool.h"
#include "memmap.h"

struct phys_range {
    paddr_t start, end; /* bytes, end exclusive */
};

#define FRAME_MAX_RESERVED (BOOT_MAX_MODULES + 8)

struct frame_layout {
    const struct boot_mem_region *mem; /* firmware memory map */
    size_t nr_mem;
    const struct phys_range *reserved; /* never handed out (image, modules), on top of the low 1 MiB */
    size_t nr_reserved;                /* at most FRAME_MAX_RESERVED */
    uint64_t mem_limit;                /* ignore RAM at and above this address; 0: none */
};

/* Build the global allocator from a layout: frame_init() without boot_info.
 * Host tests call it again for each synthetic map; it resets everything,
 * including the high-memory gate.  Panics only when there is no RAM or no
 * room for the metadata below 4 GiB. */
void frame_setup(const struct frame_layout *l);

/* The heap's access to the descriptors of the frames it owns. */
struct frame_desc *frame_desc_of(paddr_t pa); /* NULL outside managed memory */
uint32_t frame_desc_index(const struct frame_desc *d);
struct frame_desc *frame_desc_at(uint32_t index);
paddr_t frame_desc_addr(const struct frame_desc *d);

/* For tests and debugging. */
const struct frame_pool *frame_global_pool(void);
void frame_metadata_range(paddr_t *start, paddr_t *end);

#endif
