/* sources: hv/c/core/mm/frame.c hv/c/core/mm/frame_pool.c hv/c/core/mm/frame_pool_check.c hv/c/core/mm/memmap.c tests/unit/host/mm_test.c */
/* The global frame allocator on synthetic machines: reserved memory, memory
 * above 4 GiB and its mapping gate, FRAME_ZERO, mem=, panics. */
#include <string.h>

#include "mm_test.h"
#include "shim.h"

#include <asm/page.h>
#include <keel/mm.h>

#include "../../../hv/c/core/mm/frame_internal.h"

#define PHYS_BYTES GiB(8)

static void check_pool(void)
{
    const char *e = frame_pool_check(frame_global_pool());
    if (e)
        fprintf(stderr, "pool check: %s\n", e);
    CHECK(e == NULL);
}

static void setup(const struct mm_map *m, const struct phys_range *res, size_t nres, uint64_t limit)
{
    mm_test_phys_discard();
    frame_setup(&(struct frame_layout){ m->r, m->n, res, nres, limit });
    /* As under the boot page tables: nothing above 4 GiB is mapped yet. */
    mm_test_phys_access(GiB(4), PHYS_BYTES, false);
    check_pool();
}

static void map_high(void)
{
    mm_test_phys_access(GiB(4), PHYS_BYTES, true);
    frame_init_high_mapped();
}

static struct mm_map qemu_128m(void)
{
    struct mm_map m = { .n = 0 };
    mm_map_add(&m, 0, 0x9fc00, MEM_RAM);
    mm_map_add(&m, 0x9fc00, 0x400, MEM_RESERVED);
    mm_map_add(&m, 0xf0000, 0x10000, MEM_RESERVED);
    mm_map_add(&m, 0x100000, 0x7fe0000 - 0x100000, MEM_RAM);
    mm_map_add(&m, 0x7fe0000, 0x20000, MEM_RESERVED);
    mm_map_add(&m, 0xfffc0000, 0x40000, MEM_RESERVED);
    return m;
}

/* 6 GiB of RAM: 3 GiB below the PCI hole, 3 GiB above 4 GiB. */
static struct mm_map six_gib(void)
{
    struct mm_map m = { .n = 0 };
    mm_map_add(&m, 0x100000000ULL, 0xc0000000ULL, MEM_RAM);
    mm_map_add(&m, 0x100000, 0xbfee0000 - 0x100000, MEM_RAM);
    mm_map_add(&m, 0, 0x9fc00, MEM_RAM);
    mm_map_add(&m, 0xbfee0000, 0x20000, MEM_ACPI);
    mm_map_add(&m, 0xfec00000, 0x1000, MEM_RESERVED);
    return m;
}

static void test_before_init(void)
{
    struct frame_stats st;
    CHECK_EQ(frame_alloc(0, 0), 0);
    CHECK_EQ(frame_free_pages(), 0);
    frame_get_stats(&st);
    CHECK_EQ(st.total_pages, 0);
    CHECK_EQ(st.free_pages, 0);
}

static const struct phys_range qemu_reserved[] = {
    { MiB(2), MiB(5) },                /* the image */
    { 0x1000000, 0x1234567 },          /* a module, unaligned end */
    { 0x2000800, 0x2000801 },          /* a one-byte module in mid-frame */
    { 0x8000, 0x9000 },                /* inside the low 1 MiB anyway */
    { 0x3000000, 0x3000000 },          /* empty */
};

static bool in_reserved(paddr_t pa)
{
    if (pa < MiB(1))
        return true;
    for (size_t i = 0; i < ARRAY_SIZE(qemu_reserved); i++) {
        const struct phys_range *r = &qemu_reserved[i];
        if (r->end > r->start && pa + PAGE_SIZE > ALIGN_DOWN(r->start, PAGE_SIZE) && pa < r->end)
            return true;
    }
    return false;
}

static void test_reserved_never_returned(void)
{
    struct mm_map m = qemu_128m();
    struct frame_stats st;
    paddr_t meta_start, meta_end;

    setup(&m, qemu_reserved, ARRAY_SIZE(qemu_reserved), 0);
    frame_get_stats(&st);
    frame_metadata_range(&meta_start, &meta_end);

    uint64_t ram = 0x9f + (0x7fe0 - 0x100);
    uint64_t meta = DIV_ROUND_UP(0x7fe0 * sizeof(struct frame_desc), PAGE_SIZE);
    uint64_t module_pages = DIV_ROUND_UP(0x1234567, PAGE_SIZE) - 0x1000 + 1;
    CHECK_EQ(sizeof(struct frame_desc), 16);
    CHECK_EQ(st.total_pages, ram);
    CHECK_EQ(st.metadata_pages, meta);
    CHECK_EQ(st.reserved_pages, 0x9f + 768 + module_pages + meta);
    CHECK_EQ(st.free_pages, ram - st.reserved_pages);
    CHECK_EQ(st.highest_ram, 0x7fe0000);
    CHECK_EQ(frame_free_pages(), st.free_pages);

    /* The metadata is in RAM below 4 GiB, clear of everything reserved. */
    CHECK_EQ(meta_end - meta_start, meta * PAGE_SIZE);
    CHECK(meta_start >= MiB(1) && meta_end <= 0x7fe0000);
    bool clash = false;
    for (paddr_t pa = meta_start; pa < meta_end; pa += PAGE_SIZE)
        clash |= in_reserved(pa);
    CHECK(!clash);

    /* Drain it: nothing reserved, not RAM, or metadata comes out, and each
     * frame comes out once. */
    static paddr_t got[0x8000];
    static uint8_t seen[0x8000];
    memset(seen, 0, sizeof(seen));
    size_t n = 0, bad = 0;
    for (paddr_t pa; (pa = frame_alloc(0, 0));) {
        uint64_t pfn = pa >> PAGE_SHIFT;
        bad += pfn >= 0x7fe0 || in_reserved(pa) || (pa >= meta_start && pa < meta_end) || seen[pfn];
        seen[pfn] = 1;
        got[n++] = pa;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(n, st.free_pages);
    CHECK_EQ(frame_free_pages(), 0);
    CHECK_EQ(frame_alloc(0, FRAME_ZERO), 0);
    check_pool();

    /* Exhausted, then usable again. */
    CHECK(n > 0);
    if (n) {
        frame_free(got[--n], 0);
        CHECK_EQ(frame_alloc(0, FRAME_ZERO), got[n]);
        n++;
    }
    while (n)
        frame_free(got[--n], 0);
    CHECK_EQ(frame_free_pages(), st.free_pages);
    check_pool();
}

static void test_high_memory(void)
{
    struct mm_map m = six_gib();
    struct frame_stats st;
    static const struct phys_range image[] = { { MiB(2), MiB(4) } };

    setup(&m, image, 1, 0);
    frame_get_stats(&st);
    uint64_t ram = 0x9f + (0xbfee0 - 0x100) + 0xc0000;
    CHECK_EQ(st.total_pages, ram);
    CHECK_EQ(st.highest_ram, 0x1c0000000ULL);
    CHECK_EQ(st.metadata_pages, 7 * 1024); /* 16 bytes per frame of 0..7 GiB */
    uint64_t free0 = st.free_pages;

    /* Before the direct map covers it, high memory is not handed out, not
     * even for plain requests (above 4 GiB is inaccessible right now, so
     * FRAME_ZERO there would crash this test). */
    paddr_t a = frame_alloc(0, FRAME_ZERO), b = frame_alloc(9, FRAME_ZERO), c = frame_alloc(FRAME_MAX_ORDER, 0);
    CHECK(a && a < GiB(4));
    CHECK(b && b < GiB(4) && b % MiB(2) == 0);
    CHECK(c && c < GiB(4) && c % GiB(1) == 0);
    frame_free(a, 0);
    frame_free(b, 9);
    frame_free(c, FRAME_MAX_ORDER);

    map_high();
    a = frame_alloc(0, 0);
    b = frame_alloc(0, FRAME_DMA32);
    CHECK(a >= GiB(4) && a < GiB(7));
    CHECK(b && b < GiB(4));
    frame_free(a, 0);
    frame_free(b, 0);

    /* FRAME_ZERO really zeroes, high and low. */
    for (unsigned dma = 0; dma < 2; dma++) {
        unsigned flags = dma ? FRAME_DMA32 : 0;
        paddr_t p = frame_alloc(4, flags);
        memset(phys_to_virt(p), 0xAB, PAGE_SIZE << 4);
        frame_free(p, 4);
        paddr_t q = frame_alloc(4, flags | FRAME_ZERO);
        CHECK_EQ(q, p); /* the same block, reused first */
        const uint64_t *w = phys_to_virt(q);
        uint64_t nonzero = 0;
        for (size_t i = 0; i < (PAGE_SIZE << 4) / 8; i++)
            nonzero += w[i] != 0;
        CHECK_EQ(nonzero, 0);
        frame_free(q, 4);
    }

    /* Three 1 GiB blocks above 4 GiB, then plain requests fall back low. */
    paddr_t g[3];
    for (int i = 0; i < 3; i++) {
        g[i] = frame_alloc(FRAME_MAX_ORDER, 0);
        CHECK(g[i] >= GiB(4) && g[i] % GiB(1) == 0);
    }
    a = frame_alloc(0, 0);
    CHECK(a && a < GiB(4));
    frame_free(a, 0);
    for (int i = 0; i < 3; i++)
        frame_free(g[i], FRAME_MAX_ORDER);
    CHECK_EQ(frame_free_pages(), free0);
    check_pool();

    /* Orders out of range fail cleanly; unknown flags are ignored. */
    CHECK_EQ(frame_alloc(FRAME_MAX_ORDER + 1, 0), 0);
    a = frame_alloc(0, 1u << 7);
    CHECK(a != 0);
    frame_free(a, 0);

    /* A new setup closes the gate again. */
    setup(&m, image, 1, 0);
    a = frame_alloc(0, 0);
    CHECK(a && a < GiB(4));
    frame_free(a, 0);
}

static void test_mem_limit(void)
{
    struct mm_map m = six_gib();
    struct frame_stats st;

    setup(&m, NULL, 0, GiB(5) + 1234);
    map_high();
    frame_get_stats(&st);
    CHECK_EQ(st.highest_ram, GiB(5));
    CHECK_EQ(st.total_pages, 0x9f + (0xbfee0 - 0x100) + 0x40000);
    CHECK_EQ(st.metadata_pages, 5 * 1024);
    paddr_t a = frame_alloc(FRAME_MAX_ORDER, 0), b = frame_alloc(FRAME_MAX_ORDER, 0);
    CHECK_EQ(a, GiB(4));
    CHECK(b && b < GiB(4));
    frame_free(a, FRAME_MAX_ORDER);
    frame_free(b, FRAME_MAX_ORDER);

    /* Below 4 GiB: no high memory at all. */
    setup(&m, NULL, 0, GiB(2));
    map_high();
    frame_get_stats(&st);
    CHECK_EQ(st.highest_ram, GiB(2));
    CHECK_EQ(st.total_pages, 0x9f + 0x80000 - 0x100);
    a = frame_alloc(0, 0);
    CHECK(a && a < GiB(2));
    frame_free(a, 0);
    check_pool();
}

static void test_hostile_map(void)
{
    /* Unsorted, overlapping, unaligned, with RAM inside reserved areas. */
    struct mm_map m = { .n = 0 };
    mm_map_add(&m, MiB(64) + 5, MiB(64), MEM_RAM);       /* 64 MiB + 5 .. 128 MiB + 5 */
    mm_map_add(&m, MiB(96), 3 * PAGE_SIZE + 1, MEM_NVS); /* 4 frames gone */
    mm_map_add(&m, 0, MiB(64) + 100, MEM_RAM);
    mm_map_add(&m, MiB(32), MiB(1), MEM_RAM);            /* duplicate */
    mm_map_add(&m, MiB(100), MiB(1), MEM_RESERVED);
    mm_map_add(&m, MiB(100) + MiB(1) / 2, 8192, MEM_RAM); /* RAM inside reserved */
    setup(&m, NULL, 0, 0);
    struct frame_stats st;
    frame_get_stats(&st);
    /* 0..128 MiB + 5 merged, minus the NVS frames and the reserved MiB. */
    CHECK_EQ(st.total_pages, MiB(128) / PAGE_SIZE - 4 - 256);
    CHECK_EQ(st.highest_ram, MiB(128));
    check_pool();
}

static void test_metadata_too_big(void)
{
    /* 64 MiB low, 1 GiB at 64 GiB: descriptors for 0..65 GiB would need
     * 260 MiB below 4 GiB.  The far RAM is given up, with a warning. */
    struct mm_map m = { .n = 0 };
    mm_map_add(&m, 0, MiB(64), MEM_RAM);
    mm_map_add(&m, GiB(64), GiB(1), MEM_RAM);
    shim_log_clear();
    setup(&m, NULL, 0, 0);
    struct frame_stats st;
    frame_get_stats(&st);
    CHECK(strstr(shim_log(), "does not fit below 4 GiB") != NULL);
    CHECK_EQ(st.highest_ram, MiB(64));
    CHECK_EQ(st.total_pages, MiB(64) / PAGE_SIZE);
    CHECK_EQ(st.metadata_pages, MiB(64) / PAGE_SIZE * 16 / PAGE_SIZE);
    check_pool();

    /* 5..6 GiB far away still fits (24 MiB of descriptors in 64 MiB). */
    struct mm_map f = { .n = 0 };
    mm_map_add(&f, 0, MiB(64), MEM_RAM);
    mm_map_add(&f, GiB(5), GiB(1), MEM_RAM);
    shim_log_clear();
    setup(&f, NULL, 0, 0);
    frame_get_stats(&st);
    CHECK(strstr(shim_log(), "does not fit") == NULL);
    CHECK_EQ(st.highest_ram, GiB(6));
    CHECK_EQ(st.metadata_pages, 6 * 1024);
}

static void test_never_touches_free_frames(void)
{
    struct mm_map m = qemu_128m();
    struct mm_rng rng = { 99 };
    static paddr_t live[4096];
    static unsigned live_order[4096];
    size_t n = 0;
    paddr_t ms, me;

    setup(&m, qemu_reserved, ARRAY_SIZE(qemu_reserved), 0);
    uint64_t free0 = frame_free_pages();
    /* Everything but the descriptors faults if touched. */
    frame_metadata_range(&ms, &me);
    mm_test_phys_access(0, ms, false);
    mm_test_phys_access(me, PHYS_BYTES, false);
    for (unsigned step = 0; step < 50000; step++) {
        if (n < ARRAY_SIZE(live) && (n == 0 || mm_rng_below(&rng, 2))) {
            unsigned o = (unsigned)mm_rng_below(&rng, 6);
            paddr_t p = frame_alloc(o, mm_rng_below(&rng, 2) ? FRAME_DMA32 : 0);
            if (p) {
                live[n] = p;
                live_order[n++] = o;
            }
        } else {
            size_t i = mm_rng_below(&rng, n);
            frame_free(live[i], live_order[i]);
            live[i] = live[--n];
            live_order[i] = live_order[n];
        }
    }
    while (n--)
        frame_free(live[n], live_order[n]);
    mm_test_phys_access(0, PHYS_BYTES, true);
    CHECK_EQ(frame_free_pages(), free0);
    check_pool();
}

/* Panics, each in a child process. */
static paddr_t victim;

static void double_free(void *arg)
{
    (void)arg;
    paddr_t p = frame_alloc(2, 0);
    frame_free(p, 2);
    frame_free(p, 2);
}

static void wrong_order(void *arg)
{
    (void)arg;
    frame_free(frame_alloc(2, 0), 1);
}

static void free_addr(void *arg)
{
    frame_free(*(paddr_t *)arg, 0);
}

static void setup_map(void *arg)
{
    frame_setup(&(struct frame_layout){ ((struct mm_map *)arg)->r, ((struct mm_map *)arg)->n, NULL, 0, 0 });
}

static void test_panics(void)
{
    struct mm_map m = qemu_128m();
    setup(&m, qemu_reserved, ARRAY_SIZE(qemu_reserved), 0);

    CHECK(mm_test_panics(double_free, NULL, "double free"));
    CHECK(mm_test_panics(wrong_order, NULL, "wrong order"));
    victim = frame_alloc(0, 0) + 0x800;
    CHECK(mm_test_panics(free_addr, &victim, "not aligned"));
    victim = MiB(2); /* the image */
    CHECK(mm_test_panics(free_addr, &victim, "not an allocated block"));
    victim = 0x7fe0000; /* firmware-reserved, beyond the last RAM frame */
    CHECK(mm_test_panics(free_addr, &victim, "not managed memory"));
    victim = GiB(100);
    CHECK(mm_test_panics(free_addr, &victim, "not managed memory"));

    struct mm_map none = { .n = 0 };
    mm_map_add(&none, 0, MiB(1), MEM_RESERVED);
    CHECK(mm_test_panics(setup_map, &none, "no usable RAM"));
    /* Only high RAM: nowhere below 4 GiB for the descriptors. */
    struct mm_map high = { .n = 0 };
    mm_map_add(&high, GiB(4), GiB(1), MEM_RAM);
    CHECK(mm_test_panics(setup_map, &high, "no room below 4 GiB"));
    /* The parent is untouched by its children. */
    check_pool();
}

void run_tests(void)
{
    mm_test_phys_init(PHYS_BYTES);
    test_before_init();
    test_reserved_never_returned();
    test_high_memory();
    test_mem_limit();
    test_hostile_map();
    test_metadata_too_big();
    test_never_touches_free_frames();
    test_panics();
}
