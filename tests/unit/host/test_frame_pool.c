/* sources: hv/c/core/mm/frame_pool.c hv/c/core/mm/frame_pool_check.c tests/unit/host/mm_test.c */
/* The buddy algorithm on synthetic pools, checked against a shadow model. */
#include <string.h>

#include "mm_test.h"
#include "shim.h"

#include "../../../hv/c/core/mm/frame_pool.h"

static struct frame_pool pool;
static struct frame_desc *descs;

static void setup(uint64_t base, uint64_t npfn)
{
    free(descs);
    descs = malloc(npfn * sizeof(*descs));
    /* Garbage, as in real RAM: init must not depend on zeroed memory. */
    memset(descs, 0xA5, npfn * sizeof(*descs));
    frame_pool_init(&pool, descs, base, npfn);
}

static void check_pool(void)
{
    const char *e = frame_pool_check(&pool);
    if (e)
        fprintf(stderr, "pool check: %s\n", e);
    CHECK(e == NULL);
}

struct layout {
    uint64_t blocks[NR_ZONES][FRAME_MAX_ORDER + 1];
};

/* How many free blocks of each order and zone, in list order ignored. */
static struct layout layout_of(void)
{
    struct layout l;
    memset(&l, 0, sizeof(l));
    for (unsigned z = 0; z < NR_ZONES; z++)
        for (unsigned o = 0; o <= FRAME_MAX_ORDER; o++)
            for (uint32_t i = pool.head[z][o]; i != FRAME_NIL; i = pool.desc[i].next)
                l.blocks[z][o]++;
    return l;
}

static bool same_layout(const struct layout *a, const struct layout *b)
{
    return !memcmp(a, b, sizeof(*a));
}

static void test_uninitialised(void)
{
    static struct frame_pool zero;
    CHECK_EQ(frame_pool_alloc(&zero, 0, false), 0);
    CHECK_EQ(frame_pool_free(&zero, 5, 0), FP_OUTSIDE);
    CHECK(frame_pool_desc(&zero, 0) == NULL);
}

static void test_every_order(void)
{
    uint64_t base = 1u << 18, n = (1u << 18) + 37;
    setup(base, n);
    frame_pool_add_range(&pool, base, base + n);
    check_pool();
    CHECK_EQ(pool.total_pages, n);
    CHECK_EQ(pool.free_pages, n);
    struct layout initial = layout_of();
    /* 2^18 + 32 + 4 + 1: the largest aligned blocks. */
    CHECK_EQ(initial.blocks[ZONE_DMA32][18], 1);
    CHECK_EQ(initial.blocks[ZONE_DMA32][5], 1);
    CHECK_EQ(initial.blocks[ZONE_DMA32][2], 1);
    CHECK_EQ(initial.blocks[ZONE_DMA32][0], 1);

    /* Orders 0..17 in turn split the 1 GiB block, so order 18 then fails. */
    uint64_t got[FRAME_MAX_ORDER + 1], used = 0;
    for (unsigned o = 0; o <= FRAME_MAX_ORDER; o++) {
        got[o] = frame_pool_alloc(&pool, o, false);
        if (o == FRAME_MAX_ORDER) {
            CHECK_EQ(got[o], 0);
            break;
        }
        CHECK(got[o] != 0);
        CHECK_EQ(got[o] & ((1ULL << o) - 1), 0);
        CHECK(got[o] >= base && got[o] + (1ULL << o) <= base + n);
        used += 1ULL << o;
        CHECK_EQ(pool.free_pages, n - used);
        check_pool();
    }
    for (unsigned o = FRAME_MAX_ORDER + 1; o-- > 0;) {
        if (!got[o])
            continue;
        CHECK_EQ(frame_pool_free(&pool, got[o], o), FP_OK);
        check_pool();
    }
    CHECK_EQ(pool.free_pages, n);
    struct layout after = layout_of();
    CHECK(same_layout(&initial, &after));

    /* Exactly one 1 GiB block: the second request fails cleanly. */
    uint64_t g = frame_pool_alloc(&pool, FRAME_MAX_ORDER, false);
    CHECK_EQ(g, base);
    CHECK_EQ(frame_pool_alloc(&pool, FRAME_MAX_ORDER, false), 0);
    CHECK_EQ(pool.free_pages, 37);
    CHECK_EQ(frame_pool_alloc(&pool, FRAME_MAX_ORDER + 1, false), 0);
    CHECK_EQ(frame_pool_free(&pool, g, FRAME_MAX_ORDER), FP_OK);
    check_pool();
}

static void test_large_blocks(void)
{
    /* Three 1 GiB blocks above frame 0, which is never handed out. */
    uint64_t n = 3 * (1u << 18) + 5;
    setup(0, n);
    frame_pool_add_range(&pool, 0, n);
    check_pool();
    CHECK_EQ(pool.total_pages, n);
    CHECK_EQ(pool.reserved_pages, 1);
    CHECK_EQ(pool.free_pages, n - 1);
    uint64_t a = frame_pool_alloc(&pool, 18, false), b = frame_pool_alloc(&pool, 18, false);
    CHECK(a && b && a != b);
    CHECK_EQ(a % (1u << 18), 0);
    CHECK_EQ(b % (1u << 18), 0);
    /* The first 1 GiB holds frame 0, so it is not a whole block. */
    CHECK_EQ(frame_pool_alloc(&pool, 18, false), 0);
    CHECK(frame_pool_alloc(&pool, 17, false) != 0);
    check_pool();
}

static void test_frame_zero_never_returned(void)
{
    setup(0, 64);
    frame_pool_add_range(&pool, 0, 64);
    unsigned got = 0;
    while (frame_pool_alloc(&pool, 0, false))
        got++;
    CHECK_EQ(got, 63);
    CHECK_EQ(pool.free_pages, 0);
    CHECK_EQ(pool.reserved_pages, 1);
    CHECK_EQ(frame_pool_free(&pool, 0, 0), FP_NOT_ALLOC);
    check_pool();
}

static void test_fragmentation(void)
{
    uint64_t base = 1024;
    setup(base, 1024);
    frame_pool_add_range(&pool, base, base + 1024);
    struct layout initial = layout_of();
    CHECK_EQ(initial.blocks[ZONE_DMA32][10], 1);

    static uint64_t f[1024];
    for (unsigned i = 0; i < 1024; i++) {
        f[i] = frame_pool_alloc(&pool, 0, false);
        CHECK(f[i] >= base && f[i] < base + 1024);
    }
    CHECK_EQ(pool.free_pages, 0);
    CHECK_EQ(frame_pool_alloc(&pool, 0, false), 0);
    check_pool();

    /* Every other frame free: half the memory, yet no two adjacent frames. */
    for (unsigned i = 0; i < 1024; i++)
        if (f[i] % 2 == 0)
            CHECK_EQ(frame_pool_free(&pool, f[i], 0), FP_OK);
    CHECK_EQ(pool.free_pages, 512);
    CHECK_EQ(frame_pool_alloc(&pool, 1, false), 0);
    CHECK_EQ(pool.free_pages, 512);
    check_pool();

    /* The rest back: everything coalesces into the one order-10 block. */
    for (unsigned i = 0; i < 1024; i++)
        if (f[i] % 2)
            CHECK_EQ(frame_pool_free(&pool, f[i], 0), FP_OK);
    struct layout after = layout_of();
    CHECK(same_layout(&initial, &after));
    CHECK_EQ(frame_pool_alloc(&pool, 10, false), base);
    check_pool();
}

static void test_zones(void)
{
    /* 1024 frames on each side of 4 GiB. */
    uint64_t base = FRAME_DMA32_PFN - 1024;
    setup(base, 2048);
    frame_pool_add_range(&pool, base, base + 2048);
    check_pool();
    CHECK_EQ(pool.zone_free[ZONE_DMA32], 1024);
    CHECK_EQ(pool.zone_free[ZONE_HIGH], 1024);
    /* Blocks never straddle 4 GiB: the largest are the two halves. */
    CHECK_EQ(layout_of().blocks[ZONE_DMA32][10], 1);
    CHECK_EQ(layout_of().blocks[ZONE_HIGH][10], 1);

    /* A DMA32 request is served low although high memory is free. */
    uint64_t d = frame_pool_alloc(&pool, 0, true);
    CHECK(d >= base && d < FRAME_DMA32_PFN);
    CHECK_EQ(frame_pool_free(&pool, d, 0), FP_OK);

    /* Other requests use all high memory first. */
    for (unsigned i = 0; i < 1024; i++)
        CHECK(frame_pool_alloc(&pool, 0, false) >= FRAME_DMA32_PFN);
    CHECK_EQ(pool.zone_free[ZONE_HIGH], 0);
    uint64_t low = frame_pool_alloc(&pool, 3, false);
    CHECK(low && low < FRAME_DMA32_PFN);
    CHECK_EQ(frame_pool_free(&pool, low, 3), FP_OK);

    /* Low memory exhausted by DMA32 requests: they fail even though a high
     * frame becomes free, which only a plain request may take. */
    unsigned n = 0;
    while (frame_pool_alloc(&pool, 0, true))
        n++;
    CHECK_EQ(n, 1024);
    CHECK_EQ(frame_pool_free(&pool, FRAME_DMA32_PFN + 7, 0), FP_OK);
    CHECK_EQ(frame_pool_alloc(&pool, 0, true), 0);
    CHECK_EQ(frame_pool_alloc(&pool, 0, false), FRAME_DMA32_PFN + 7);
    CHECK_EQ(pool.free_pages, 0);
    check_pool();
}

static void test_reserve(void)
{
    uint64_t base = 1u << 18, n = 40000;
    setup(base, n);
    frame_pool_add_range(&pool, base + 10, base + 30000);
    frame_pool_add_range(&pool, base + 31000, base + n);
    uint64_t total = 30000 - 10 + n - 31000;
    CHECK_EQ(pool.total_pages, total);

    CHECK_EQ(frame_pool_reserve(&pool, base + 1000, base + 1003), 3);
    CHECK_EQ(frame_pool_reserve(&pool, base + 1000, base + 1003), 0);     /* already */
    CHECK_EQ(frame_pool_reserve(&pool, base + 1002, base + 1010), 7);     /* partly already */
    CHECK_EQ(frame_pool_reserve(&pool, base + 30500, base + 30600), 0);   /* a hole */
    CHECK_EQ(frame_pool_reserve(&pool, base + 29990, base + 31005), 15);  /* across a hole */
    CHECK_EQ(frame_pool_reserve(&pool, base + n - 2, base + n + 100), 2); /* clipped to the pool */
    CHECK_EQ(frame_pool_reserve(&pool, 0, base + 12), 2);                 /* clipped below */
    CHECK_EQ(frame_pool_reserve(&pool, base + 5000, base + 5000 + 4096), 4096);
    check_pool();
    uint64_t reserved = 3 + 7 + 15 + 2 + 2 + 4096;
    CHECK_EQ(pool.reserved_pages, reserved);
    CHECK_EQ(pool.free_pages, total - reserved);

    /* Take everything: no reserved frame and no hole frame comes out. */
    static uint8_t seen[40000];
    memset(seen, 0, sizeof(seen));
    uint64_t got = 0, pfn, bad = 0;
    while ((pfn = frame_pool_alloc(&pool, 0, false))) {
        uint64_t i = pfn - base;
        bool ok = (i >= 12 && i < 1000) || (i >= 1010 && i < 5000) || (i >= 9096 && i < 29990) ||
                  (i >= 31005 && i < n - 2);
        bad += !ok || seen[i];
        seen[i] = 1;
        got++;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(got, total - reserved);
    CHECK_EQ(pool.free_pages, 0);
    check_pool();
}

static void test_adjacent_ranges_coalesce(void)
{
    setup(0, 5000);
    frame_pool_add_range(&pool, 3, 1000);
    frame_pool_add_range(&pool, 1000, 1500);
    frame_pool_add_range(&pool, 2001, 2002);
    frame_pool_add_range(&pool, 4990, 6000); /* clipped to the pool */
    check_pool();
    struct layout pieces = layout_of();
    CHECK_EQ(pool.total_pages, 997 + 500 + 1 + 10);

    setup(0, 5000);
    frame_pool_add_range(&pool, 3, 1500);
    frame_pool_add_range(&pool, 2001, 2002);
    frame_pool_add_range(&pool, 4990, 5000);
    struct layout whole = layout_of();
    CHECK(same_layout(&pieces, &whole));
}

static void test_free_errors(void)
{
    uint64_t base = 4096;
    setup(base, 1024);
    frame_pool_add_range(&pool, base, base + 1024);
    uint64_t p = frame_pool_alloc(&pool, 3, false);
    uint64_t free_now = pool.free_pages;

    CHECK_EQ(frame_pool_free(&pool, p, 2), FP_WRONG_ORDER);
    CHECK_EQ(frame_pool_free(&pool, p, 4), (p & 15) ? FP_UNALIGNED : FP_WRONG_ORDER);
    CHECK_EQ(frame_pool_free(&pool, p + 1, 0), FP_NOT_ALLOC); /* inside the block */
    CHECK_EQ(frame_pool_free(&pool, p + 4, 3), FP_UNALIGNED);
    CHECK_EQ(frame_pool_free(&pool, p, FRAME_MAX_ORDER + 1), FP_BAD_ORDER);
    CHECK_EQ(frame_pool_free(&pool, base - 1, 0), FP_OUTSIDE);
    CHECK_EQ(frame_pool_free(&pool, base + 1024, 0), FP_OUTSIDE);
    CHECK_EQ(frame_pool_free(&pool, base + 1016, 4), FP_OUTSIDE); /* runs past the end */
    CHECK_EQ(frame_pool_free(&pool, base + 512, 0), FP_NOT_ALLOC); /* free memory */
    CHECK_EQ(pool.free_pages, free_now);
    check_pool();
    CHECK_EQ(frame_pool_free(&pool, p, 3), FP_OK);
    CHECK_EQ(frame_pool_free(&pool, p, 3), FP_NOT_ALLOC); /* double free */
    CHECK_EQ(pool.free_pages, 1024);
    check_pool();
}

/* The model: one state per frame. */
enum { S_HOLE, S_FREE, S_ALLOC, S_RESERVED };
static uint8_t *shadow;
static uint64_t shadow_free;

/* Is there an aligned block of 2^order frames, all free, in [lo, hi)?  With
 * full coalescing the allocator must then be able to hand one out. */
static bool shadow_has_block(uint64_t base, uint64_t lo, uint64_t hi, unsigned order)
{
    uint64_t size = 1ULL << order;
    for (uint64_t b = ALIGN_UP(lo, size); b + size <= hi; b += size) {
        bool all = true;
        for (uint64_t f = b; f < b + size && all; f++)
            all = shadow[f - base] == S_FREE;
        if (all)
            return true;
    }
    return false;
}

struct live {
    uint64_t pfn;
    unsigned order;
};

static void test_random_against_model(void)
{
    /* 6000 frames on each side of 4 GiB, with holes and reservations. */
    const uint64_t base = FRAME_DMA32_PFN - 6000, n = 12000, top = base + n;
    static const uint64_t ram[][2] = { { 3, 2500 }, { 2600, 9000 }, { 9500, 11999 } };
    static const uint64_t res[][2] = { { 100, 150 }, { 5995, 6010 }, { 11000, 11001 }, { 2550, 2650 } };
    static struct live live[12000];
    size_t nlive = 0;
    struct mm_rng rng = { 0x1234567887654321ULL };

    setup(base, n);
    shadow = calloc(n, 1);
    for (size_t i = 0; i < ARRAY_SIZE(ram); i++) {
        frame_pool_add_range(&pool, base + ram[i][0], base + ram[i][1]);
        memset(shadow + ram[i][0], S_FREE, ram[i][1] - ram[i][0]);
    }
    for (size_t i = 0; i < ARRAY_SIZE(res); i++) {
        uint64_t expect = 0;
        for (uint64_t f = res[i][0]; f < res[i][1]; f++)
            if (shadow[f] == S_FREE) {
                shadow[f] = S_RESERVED;
                expect++;
            }
        CHECK_EQ(frame_pool_reserve(&pool, base + res[i][0], base + res[i][1]), expect);
    }
    shadow_free = 0;
    for (uint64_t f = 0; f < n; f++)
        shadow_free += shadow[f] == S_FREE;
    CHECK_EQ(pool.free_pages, shadow_free);
    check_pool();
    struct layout initial = layout_of();

    unsigned bad = 0, fails = 0, allocs = 0;
    for (unsigned step = 0; step < 200000; step++) {
        if (nlive == 0 || mm_rng_below(&rng, 100) < 55) {
            /* Mostly small blocks, now and then up to 8 MiB. */
            unsigned order = (unsigned)(mm_rng_below(&rng, 8) ? mm_rng_below(&rng, 3) : mm_rng_below(&rng, 12));
            bool dma = mm_rng_below(&rng, 4) == 0;
            uint64_t pfn = frame_pool_alloc(&pool, order, dma);
            uint64_t size = 1ULL << order;
            if (!pfn) {
                /* Failure only when no suitable free block exists. */
                bad += shadow_has_block(base, base, dma ? FRAME_DMA32_PFN : top, order);
                fails++;
                continue;
            }
            allocs++;
            bad += (pfn & (size - 1)) != 0 || pfn < base || pfn + size > top;
            bad += dma && pfn + size > FRAME_DMA32_PFN;
            /* Low memory for a plain request only when high memory cannot serve it. */
            if (!dma && pfn < FRAME_DMA32_PFN)
                bad += shadow_has_block(base, FRAME_DMA32_PFN, top, order);
            for (uint64_t f = pfn; f < pfn + size; f++) {
                bad += shadow[f - base] != S_FREE;
                shadow[f - base] = S_ALLOC;
            }
            shadow_free -= size;
            live[nlive++] = (struct live){ pfn, order };
        } else {
            size_t i = mm_rng_below(&rng, nlive);
            struct live l = live[i];
            live[i] = live[--nlive];
            bad += frame_pool_free(&pool, l.pfn, l.order) != FP_OK;
            for (uint64_t f = l.pfn; f < l.pfn + (1ULL << l.order); f++)
                shadow[f - base] = S_FREE;
            shadow_free += 1ULL << l.order;
        }
        bad += pool.free_pages != shadow_free;
        if (step % 4000 == 0)
            check_pool();
    }
    CHECK_EQ(bad, 0);
    CHECK(fails > 100);   /* the sequence did reach exhaustion */
    CHECK(allocs > 80000);
    check_pool();

    while (nlive) {
        struct live l = live[--nlive];
        CHECK_EQ(frame_pool_free(&pool, l.pfn, l.order), FP_OK);
        shadow_free += 1ULL << l.order;
    }
    CHECK_EQ(pool.free_pages, shadow_free);
    struct layout after = layout_of();
    CHECK(same_layout(&initial, &after));
    check_pool();
    free(shadow);
}

static void test_owner_fields_cleared(void)
{
    setup(64, 64);
    frame_pool_add_range(&pool, 64, 128);
    uint64_t p = frame_pool_alloc(&pool, 0, false);
    struct frame_desc *d = frame_pool_desc(&pool, p);
    CHECK(d && d->state == FS_ALLOC && d->order == 0);
    d->priv = 0xdead;
    d->priv16 = 0xbeef;
    CHECK_EQ(frame_pool_free(&pool, p, 0), FP_OK);
    uint64_t q = frame_pool_alloc(&pool, 0, false);
    CHECK_EQ(q, p);
    CHECK_EQ(d->priv, 0);
    CHECK_EQ(d->priv16, 0);
    CHECK(frame_pool_desc(&pool, 63) == NULL);
    CHECK(frame_pool_desc(&pool, 128) == NULL);
}

void run_tests(void)
{
    test_uninitialised();
    test_every_order();
    test_large_blocks();
    test_frame_zero_never_returned();
    test_fragmentation();
    test_zones();
    test_reserve();
    test_adjacent_ranges_coalesce();
    test_free_errors();
    test_random_against_model();
    test_owner_fields_cleared();
    free(descs);
}
