/*
 * Heap for hypervisor objects.
 *
 * Requests up to 2048 bytes come from size-class slabs (one 4 KiB frame per
 * slab page); larger ones are whole power-of-two blocks from the frame
 * allocator, page aligned.  Every pointer is 16-byte aligned at least and
 * lies in the direct map (virt_to_phys works on it).  A slab page goes back
 * to the frame allocator as soon as its last object is freed, so freeing
 * everything returns the frame allocator to its exact earlier state.
 *
 * Safe from any CPU and with interrupts disabled.  Lock order: the heap's
 * lock is taken before the frame allocator's, never the other way round.
 */
#ifndef KEEL_HEAP_H
#define KEEL_HEAP_H

#include <keel/types.h>

/* NULL when memory is exhausted or the size is absurd (never panics).
 * kmalloc(0) returns a valid, unique smallest object. */
void *kmalloc(size_t size);
void *kzalloc(size_t size);

/* kfree(NULL) does nothing.  A pointer kmalloc did not return, or one freed
 * twice, panics: that is a hypervisor bug. */
void kfree(void *p);

struct heap_stats {
    uint64_t bytes_in_use; /* rounded up to the size class or block size */
    uint64_t pages_in_use; /* frames the heap holds (slab pages and large blocks) */
    uint64_t allocations;  /* live objects */
};
void heap_get_stats(struct heap_stats *st);

#endif
