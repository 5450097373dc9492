/*
 * The hypervisor's frame allocator: one frame_pool covering all managed RAM,
 * its descriptor array carved out of usable RAM below 4 GiB (the only memory
 * the boot page tables map), and a lock around it.
 */
#include <keel/lib.h>
#include <keel/panic.h>
#include <keel/printk.h>
#include <asm/page.h>

#include "frame_internal.h"
#include "mm_lock.h"

#define LOW_MEMORY_PFN (MiB(1) >> PAGE_SHIFT)

static struct frame_pool pool;
static spinlock_t frame_lock = SPINLOCK_INIT;
static bool high_mapped;
static uint64_t meta_pfn, meta_pages;
static paddr_t highest_ram;

/* Boot-time scratch; static so that frame_setup() needs little stack. */
static struct pfn_range usable[2 * BOOT_MAX_MEMMAP];
static struct pfn_range avoid[FRAME_MAX_RESERVED + 1];

static size_t collect_avoid(const struct frame_layout *l)
{
    size_t n = 0;

    /* Real-mode IVT, BIOS data, EBDA and the SMP trampoline. */
    avoid[n++] = (struct pfn_range){ 0, LOW_MEMORY_PFN };
    for (size_t i = 0; i < l->nr_reserved && n < ARRAY_SIZE(avoid); i++) {
        const struct phys_range *r = &l->reserved[i];
        if (r->end > r->start)
            avoid[n++] = (struct pfn_range){ r->start >> PAGE_SHIFT, DIV_ROUND_UP(r->end, PAGE_SIZE) };
    }
    return n;
}

static uint64_t metadata_pages_for(uint64_t npfn)
{
    return DIV_ROUND_UP(npfn * sizeof(struct frame_desc), PAGE_SIZE);
}

/* End of the highest usable RAM below cap, or 0. */
static uint64_t ram_end_below(size_t n, uint64_t cap)
{
    uint64_t end = 0;
    for (size_t i = 0; i < n && usable[i].start < cap; i++)
        end = MIN(usable[i].end, cap);
    return end;
}

/*
 * The descriptor array covers [base, end) including holes, and must fit
 * contiguously below 4 GiB.  On a machine where it does not (terabytes, or
 * RAM far above a hole), RAM at the top is given up until it does.
 */
static uint64_t place_metadata(size_t n, size_t navoid, uint64_t base, uint64_t *end)
{
    uint64_t start;

    *end = ram_end_below(n, base + FRAME_POOL_MAX_FRAMES);
    for (;;) {
        uint64_t pages = metadata_pages_for(*end - base);
        if (memmap_find_window(usable, n, avoid, navoid, pages, FRAME_DMA32_PFN, &start))
            return start;
        uint64_t cap = MAX(FRAME_DMA32_PFN, base + (*end - base) / 2);
        uint64_t smaller = *end > FRAME_DMA32_PFN ? ram_end_below(n, cap) : 0;
        if (smaller <= base)
            panic("frame allocator: no room below 4 GiB for %lu KiB of metadata", (unsigned long)(pages * 4));
        pr_warn("frame allocator: metadata for RAM up to %#lx does not fit below 4 GiB; ignoring RAM above %#lx\n",
                (unsigned long)(*end << PAGE_SHIFT), (unsigned long)(smaller << PAGE_SHIFT));
        *end = smaller;
    }
}

void frame_setup(const struct frame_layout *l)
{
    size_t n = memmap_usable(l->mem, l->nr_mem, l->mem_limit, usable, ARRAY_SIZE(usable));
    size_t navoid = collect_avoid(l);

    if (n == 0)
        panic("frame allocator: no usable RAM in the memory map");
    uint64_t base = usable[0].start, end;
    uint64_t meta = place_metadata(n, navoid, base, &end);
    uint64_t pages = metadata_pages_for(end - base);

    unsigned long f = mm_lock(&frame_lock);
    frame_pool_init(&pool, phys_to_virt(meta << PAGE_SHIFT), base, end - base);
    highest_ram = 0;
    for (size_t i = 0; i < n; i++) {
        frame_pool_add_range(&pool, usable[i].start, usable[i].end);
        if (usable[i].start < end)
            highest_ram = MIN(usable[i].end, end) << PAGE_SHIFT;
    }
    for (size_t i = 0; i < navoid; i++)
        frame_pool_reserve(&pool, avoid[i].start, avoid[i].end);
    uint64_t got = frame_pool_reserve(&pool, meta, meta + pages);
    BUG_ON(got != pages);
    meta_pfn = meta;
    meta_pages = pages;
    high_mapped = false;
    mm_unlock(&frame_lock, f);
}

paddr_t frame_alloc(unsigned order, unsigned flags)
{
    if (order > FRAME_MAX_ORDER)
        return 0;
    unsigned long f = mm_lock(&frame_lock);
    uint64_t pfn = frame_pool_alloc(&pool, order, (flags & FRAME_DMA32) || !high_mapped);
    mm_unlock(&frame_lock, f);
    if (!pfn)
        return 0;
    paddr_t pa = pfn << PAGE_SHIFT;
    if (flags & FRAME_ZERO)
        memset(phys_to_virt(pa), 0, PAGE_SIZE << order);
    return pa;
}

void frame_free(paddr_t addr, unsigned order)
{
    enum frame_pool_err err = FP_UNALIGNED;

    if (IS_ALIGNED(addr, PAGE_SIZE)) {
        unsigned long f = mm_lock(&frame_lock);
        err = frame_pool_free(&pool, addr >> PAGE_SHIFT, order);
        mm_unlock(&frame_lock, f);
    }
    if (err != FP_OK)
        panic("frame_free(%#lx, order %u): %s", (unsigned long)addr, order, frame_pool_strerror(err));
}

void frame_split(paddr_t addr, unsigned order)
{
    enum frame_pool_err err = FP_UNALIGNED;

    if (IS_ALIGNED(addr, PAGE_SIZE)) {
        unsigned long f = mm_lock(&frame_lock);
        err = frame_pool_split(&pool, addr >> PAGE_SHIFT, order);
        mm_unlock(&frame_lock, f);
    }
    if (err != FP_OK)
        panic("frame_split(%#lx, order %u): %s", (unsigned long)addr, order, frame_pool_strerror(err));
}

void frame_get_stats(struct frame_stats *st)
{
    unsigned long f = mm_lock(&frame_lock);
    st->total_pages = pool.total_pages;
    st->free_pages = pool.free_pages;
    st->reserved_pages = pool.reserved_pages;
    st->metadata_pages = meta_pages;
    st->highest_ram = highest_ram;
    mm_unlock(&frame_lock, f);
}

void frame_init_high_mapped(void)
{
    unsigned long f = mm_lock(&frame_lock);
    high_mapped = true;
    mm_unlock(&frame_lock, f);
}

uint64_t frame_free_pages(void)
{
    /* One aligned 64-bit load: no lock needed for a snapshot. */
    return READ_ONCE(pool.free_pages);
}

struct frame_desc *frame_desc_of(paddr_t pa)
{
    return frame_pool_desc(&pool, pa >> PAGE_SHIFT);
}

uint32_t frame_desc_index(const struct frame_desc *d)
{
    return (uint32_t)(d - pool.desc);
}

struct frame_desc *frame_desc_at(uint32_t index)
{
    return &pool.desc[index];
}

paddr_t frame_desc_addr(const struct frame_desc *d)
{
    return (pool.base_pfn + (uint64_t)(d - pool.desc)) << PAGE_SHIFT;
}

const struct frame_pool *frame_global_pool(void)
{
    return &pool;
}

void frame_metadata_range(paddr_t *start, paddr_t *end)
{
    *start = meta_pfn << PAGE_SHIFT;
    *end = (meta_pfn + meta_pages) << PAGE_SHIFT;
}
