/* Firmware memory map normalisation (see memmap.h).  Boot-time only, O(n^2)
 * in the number of regions (at most BOOT_MAX_MEMMAP). */
#include "memmap.h"

/* Boundaries of every region: between two consecutive ones, each region
 * either covers the whole interval or none of it. */
static uint64_t points[2 * BOOT_MAX_MEMMAP + 2];

static uint64_t region_end(const struct boot_mem_region *r)
{
    uint64_t base = MIN(r->base, MEMMAP_PHYS_LIMIT);
    return r->size > MEMMAP_PHYS_LIMIT - base ? MEMMAP_PHYS_LIMIT : base + r->size;
}

static size_t sorted_points(const struct boot_mem_region *map, size_t n)
{
    size_t np = 0;

    for (size_t i = 0; i < n; i++) {
        uint64_t v[2] = { MIN(map[i].base, MEMMAP_PHYS_LIMIT), region_end(&map[i]) };
        for (unsigned k = 0; k < 2; k++) {
            /* Insertion sort, dropping duplicates. */
            size_t j = np;
            while (j > 0 && points[j - 1] > v[k])
                j--;
            if (j > 0 && points[j - 1] == v[k])
                continue;
            for (size_t m = np; m > j; m--)
                points[m] = points[m - 1];
            points[j] = v[k];
            np++;
        }
    }
    return np;
}

static bool interval_usable(const struct boot_mem_region *map, size_t n, uint64_t a, uint64_t b)
{
    bool ram = false;

    for (size_t i = 0; i < n; i++) {
        if (map[i].size == 0 || MIN(map[i].base, MEMMAP_PHYS_LIMIT) > a || region_end(&map[i]) < b)
            continue;
        if (map[i].type != MEM_RAM)
            return false;
        ram = true;
    }
    return ram;
}

/* Whole frames of the byte range [s, e) below limit. */
static size_t emit(uint64_t s, uint64_t e, uint64_t limit, struct pfn_range *out, size_t nout, size_t max)
{
    uint64_t first = ALIGN_UP(s, PAGE_SIZE) >> PAGE_SHIFT;
    uint64_t last = ALIGN_DOWN(MIN(e, limit), PAGE_SIZE) >> PAGE_SHIFT;

    if (first < last && nout < max)
        out[nout++] = (struct pfn_range){ first, last };
    return nout;
}

size_t memmap_usable(const struct boot_mem_region *map, size_t n, uint64_t limit, struct pfn_range *out,
                     size_t max)
{
    size_t nout = 0, np;
    uint64_t run_start = 0, run_end = 0;
    bool in_run = false;

    n = MIN(n, (size_t)BOOT_MAX_MEMMAP);
    limit = limit ? MIN(limit, MEMMAP_PHYS_LIMIT) : MEMMAP_PHYS_LIMIT;
    np = sorted_points(map, n);
    for (size_t i = 0; i + 1 < np; i++) {
        uint64_t a = points[i], b = points[i + 1];
        if (!interval_usable(map, n, a, b))
            continue;
        /* Adjacent usable intervals merge, so a page split between two RAM
         * entries is still usable. */
        if (in_run && a == run_end) {
            run_end = b;
            continue;
        }
        if (in_run)
            nout = emit(run_start, run_end, limit, out, nout, max);
        run_start = a;
        run_end = b;
        in_run = true;
    }
    if (in_run)
        nout = emit(run_start, run_end, limit, out, nout, max);
    return nout;
}

bool memmap_find_window(const struct pfn_range *usable, size_t n, const struct pfn_range *avoid, size_t navoid,
                        uint64_t pages, uint64_t ceiling, uint64_t *start)
{
    if (pages == 0)
        return false;
    for (size_t r = n; r-- > 0;) {
        uint64_t lo = usable[r].start, hi = MIN(usable[r].end, ceiling);
        while (hi > lo && hi - lo >= pages) {
            uint64_t s = hi - pages, next_hi = hi;
            /* A window ending at or below hi cannot lie above an avoided
             * range that overlaps [s, hi): it must end below all of them. */
            for (size_t a = 0; a < navoid; a++)
                if (avoid[a].start < hi && avoid[a].end > s && avoid[a].start < avoid[a].end)
                    next_hi = MIN(next_hi, avoid[a].start);
            if (next_hi == hi) {
                *start = s;
                return true;
            }
            hi = next_hi;
        }
    }
    return false;
}
