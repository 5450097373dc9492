/*
 * Firmware memory maps reduced to what the frame allocator needs: sorted,
 * disjoint runs of whole usable RAM frames, and a place for its metadata.
 * Pure functions, so host tests feed them hostile maps.
 */
#ifndef CORE_MM_MEMMAP_H
#define CORE_MM_MEMMAP_H

#include <keel/boot.h>
#include <keel/types.h>

/* x86-64 physical addresses have at most 52 bits; anything the firmware
 * reports beyond that is ignored. */
#define MEMMAP_PHYS_LIMIT (1ULL << 52)

struct pfn_range {
    uint64_t start, end; /* frame numbers, end exclusive */
};

/*
 * The frames of map that are entirely RAM: covered by some MEM_RAM region
 * and by no region of another type (non-RAM wins where they overlap),
 * below limit (0: no limit).  Regions may be unsorted, overlapping and
 * unaligned; at most BOOT_MAX_MEMMAP are looked at.  Writes at most max
 * ranges, sorted and disjoint, to out and returns how many.
 */
size_t memmap_usable(const struct boot_mem_region *map, size_t n, uint64_t limit, struct pfn_range *out,
                     size_t max);

/*
 * The highest run of pages frames inside the ranges of usable (sorted),
 * ending at or below ceiling and overlapping none of avoid (any order).
 * Returns false when there is none.
 */
bool memmap_find_window(const struct pfn_range *usable, size_t n, const struct pfn_range *avoid, size_t navoid,
                        uint64_t pages, uint64_t ceiling, uint64_t *start);

#endif
