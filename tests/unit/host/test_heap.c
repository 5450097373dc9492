/* sources: hv/c/core/mm/heap.c hv/c/core/mm/frame.c hv/c/core/mm/frame_pool.c hv/c/core/mm/frame_pool_check.c hv/c/core/mm/memmap.c tests/unit/host/mm_test.c */
/* kmalloc/kfree over the real frame allocator on a synthetic machine. */
#include <string.h>

#include "mm_test.h"
#include "shim.h"

#include <asm/page.h>
#include <keel/heap.h>
#include <keel/mm.h>

#include "../../../hv/c/core/mm/frame_internal.h"

#define PHYS_BYTES GiB(8)

static uint64_t baseline;

static void setup(const struct mm_map *m)
{
    static const struct phys_range image[] = { { MiB(2), MiB(3) } };
    mm_test_phys_discard();
    frame_setup(&(struct frame_layout){ m->r, m->n, image, 1, 0 });
    mm_test_phys_access(GiB(4), PHYS_BYTES, false);
    baseline = frame_free_pages();
}

static void setup_64m(void)
{
    struct mm_map m = { .n = 0 };
    mm_map_add(&m, 0, 0x9fc00, MEM_RAM);
    mm_map_add(&m, MiB(1), MiB(63), MEM_RAM);
    setup(&m);
}

/* The heap holds nothing and every frame is back. */
static void check_empty(void)
{
    struct heap_stats hs;
    heap_get_stats(&hs);
    CHECK_EQ(hs.allocations, 0);
    CHECK_EQ(hs.bytes_in_use, 0);
    CHECK_EQ(hs.pages_in_use, 0);
    CHECK_EQ(frame_free_pages(), baseline);
    CHECK(frame_pool_check(frame_global_pool()) == NULL);
}

static unsigned class_of(size_t size)
{
    static const unsigned classes[] = { 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 2048 };
    for (size_t i = 0; i < ARRAY_SIZE(classes); i++)
        if (size <= classes[i])
            return classes[i];
    return 0;
}

static void test_size_classes(void)
{
    static const size_t sizes[] = { 1,   15,  16,  17,  31,  32,  33,  47,  48,  49,  63,   64,   65,   96,  97,  128,
                                    129, 192, 193, 256, 257, 384, 385, 512, 513, 768, 769, 1024, 1025, 2047, 2048 };
    enum { PER = 40 };
    static unsigned char *p[ARRAY_SIZE(sizes)][PER];
    uint64_t bytes = 0, bad_align = 0;

    for (size_t s = 0; s < ARRAY_SIZE(sizes); s++) {
        for (unsigned i = 0; i < PER; i++) {
            p[s][i] = kmalloc(sizes[s]);
            CHECK(p[s][i] != NULL);
            unsigned cls = class_of(sizes[s]);
            bad_align += (uintptr_t)p[s][i] % 16 != 0;
            /* Power-of-two classes are naturally aligned. */
            if ((cls & (cls - 1)) == 0)
                bad_align += (uintptr_t)p[s][i] % cls != 0;
            if (p[s][i])
                memset(p[s][i], (int)(s * PER + i), sizes[s]);
            bytes += cls;
        }
    }
    CHECK_EQ(bad_align, 0);
    struct heap_stats hs;
    heap_get_stats(&hs);
    CHECK_EQ(hs.allocations, ARRAY_SIZE(sizes) * PER);
    CHECK_EQ(hs.bytes_in_use, bytes);
    CHECK_EQ(baseline - frame_free_pages(), hs.pages_in_use);

    /* No object overlaps another: every byte still holds its pattern. */
    uint64_t bad = 0;
    for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
        for (unsigned i = 0; i < PER; i++)
            for (size_t b = 0; p[s][i] && b < sizes[s]; b++)
                bad += p[s][i][b] != (unsigned char)(s * PER + i);
    CHECK_EQ(bad, 0);
    for (size_t s = 0; s < ARRAY_SIZE(sizes); s++)
        for (unsigned i = 0; i < PER; i++)
            kfree(p[s][i]);
    check_empty();
}

static void test_slab_packing(void)
{
    /* Bookkeeping is off-page: 4096 / size objects per frame, e.g. two of
     * 2048 bytes and 256 of 16. */
    void *a = kmalloc(2048), *b = kmalloc(2048), *c = kmalloc(2048);
    struct heap_stats hs;
    heap_get_stats(&hs);
    CHECK_EQ(hs.pages_in_use, 2);
    CHECK_EQ(((uintptr_t)a ^ (uintptr_t)b) & PAGE_MASK, 0);
    kfree(a);
    kfree(b);
    kfree(c);
    static void *small[257];
    for (int i = 0; i < 257; i++)
        small[i] = kmalloc(16);
    heap_get_stats(&hs);
    CHECK_EQ(hs.pages_in_use, 2);
    for (int i = 0; i < 257; i++)
        kfree(small[i]);
    check_empty();
}

static void test_large(void)
{
    static const struct {
        size_t size;
        unsigned order;
    } cases[] = { { 2049, 0 }, { 4096, 0 }, { 4097, 1 }, { 5 * 4096, 3 }, { MiB(1), 8 }, { MiB(4) + 1, 11 } };
    void *p[ARRAY_SIZE(cases)];
    uint64_t pages = 0;

    for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
        p[i] = kmalloc(cases[i].size);
        CHECK(p[i] != NULL);
        CHECK_EQ((uintptr_t)p[i] % PAGE_SIZE, 0);
        /* Straight from the frame allocator: a block of the right order. */
        CHECK_EQ(virt_to_phys(p[i]) % (PAGE_SIZE << cases[i].order), 0);
        if (p[i])
            memset(p[i], 0x5A, cases[i].size);
        pages += 1ULL << cases[i].order;
    }
    struct heap_stats hs;
    heap_get_stats(&hs);
    CHECK_EQ(hs.pages_in_use, pages);
    CHECK_EQ(hs.bytes_in_use, pages * PAGE_SIZE);
    CHECK_EQ(hs.allocations, ARRAY_SIZE(cases));
    CHECK_EQ(baseline - frame_free_pages(), pages);
    for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
        kfree(p[i]);
    check_empty();
}

static void test_reuse_and_return(void)
{
    void *keep = kmalloc(64);
    void *p = kmalloc(64);
    kfree(p);
    CHECK(kmalloc(64) == p); /* most recently freed first */
    kfree(p);
    kfree(keep);
    check_empty(); /* the emptied page went back at once */

    void *z1 = kmalloc(0), *z2 = kmalloc(0);
    CHECK(z1 && z2 && z1 != z2);
    kfree(z1);
    kfree(z2);
    kfree(NULL);
    check_empty();
}

static void test_kzalloc(void)
{
    /* Dirty a frame, give it back, and get it again through kzalloc. */
    paddr_t pa = frame_alloc(0, 0);
    memset(phys_to_virt(pa), 0xEE, PAGE_SIZE);
    frame_free(pa, 0);
    unsigned char *p = kzalloc(300);
    CHECK_EQ(virt_to_phys(p) & PAGE_MASK, pa);
    uint64_t nonzero = 0;
    for (int i = 0; i < 300; i++)
        nonzero += p[i] != 0;
    CHECK_EQ(nonzero, 0);
    kfree(p);

    unsigned char *big = kzalloc(3 * PAGE_SIZE);
    nonzero = 0;
    for (size_t i = 0; i < 3 * PAGE_SIZE; i++)
        nonzero += big[i] != 0;
    CHECK_EQ(nonzero, 0);
    kfree(big);
    check_empty();
}

static void test_absurd_sizes(void)
{
    CHECK(kmalloc(SIZE_MAX) == NULL);
    CHECK(kzalloc(SIZE_MAX) == NULL);
    CHECK(kmalloc(GiB(1) + 1) == NULL);
    CHECK(kmalloc(GiB(1)) == NULL); /* a valid order, but 64 MiB of RAM */
    check_empty();
}

struct obj {
    unsigned char *p;
    size_t size;
    unsigned char tag;
};

static void test_create_destroy_loop(void)
{
    /* What domain creation and destruction do to the heap, 40 times: the
     * frame allocator must end each round exactly where it started. */
    enum { N = 1500 };
    static struct obj o[N];
    struct mm_rng rng = { 2024 };
    uint64_t bad = 0, not_back = 0;

    for (unsigned round = 0; round < 40; round++) {
        for (unsigned i = 0; i < N; i++) {
            size_t size = mm_rng_below(&rng, 10) ? 1 + mm_rng_below(&rng, 2048) : 2049 + mm_rng_below(&rng, KiB(64));
            o[i] = (struct obj){ kmalloc(size), size, (unsigned char)mm_rng_next(&rng) };
            if (!o[i].p) {
                bad++;
                continue;
            }
            memset(o[i].p, o[i].tag, size);
        }
        /* Free in random order, checking contents as we go. */
        for (unsigned left = N; left; left--) {
            unsigned i = (unsigned)mm_rng_below(&rng, left);
            struct obj x = o[i];
            o[i] = o[left - 1];
            for (size_t b = 0; x.p && b < x.size; b += 7)
                bad += x.p[b] != x.tag;
            kfree(x.p);
        }
        not_back += frame_free_pages() != baseline;
    }
    CHECK_EQ(bad, 0);
    CHECK_EQ(not_back, 0);
    check_empty();
}

static void test_exhaustion(void)
{
    size_t cap = (size_t)(baseline * 2 + 16), n = 0;
    void **p = malloc(cap * sizeof(*p));
    while (n < cap && (p[n] = kmalloc(2048)))
        n++;
    CHECK_EQ(n, baseline * 2);
    CHECK_EQ(frame_free_pages(), 0);
    CHECK(kmalloc(16) == NULL);
    CHECK(kmalloc(3000) == NULL);
    CHECK(kzalloc(100) == NULL);
    struct heap_stats hs;
    heap_get_stats(&hs);
    CHECK_EQ(hs.allocations, n);
    CHECK_EQ(hs.pages_in_use, baseline);

    /* One object back: its page has room again, nothing else does. */
    kfree(p[n - 1]);
    CHECK(kmalloc(16) == NULL);
    p[n - 1] = kmalloc(2048);
    CHECK(p[n - 1] != NULL);
    while (n)
        kfree(p[--n]);
    free(p);
    check_empty();

    /* Exhausted by large blocks, then usable again. */
    void *big[64];
    size_t nb = 0;
    while (nb < ARRAY_SIZE(big) && (big[nb] = kmalloc(MiB(1))))
        nb++;
    CHECK(nb > 40 && nb < 64);
    CHECK(kmalloc(MiB(1)) == NULL);
    void *small = kmalloc(100);
    while (nb)
        kfree(big[--nb]);
    kfree(small);
    check_empty();
}

static void test_high_memory(void)
{
    struct mm_map m = { .n = 0 };
    mm_map_add(&m, 0, 0x9fc00, MEM_RAM);
    mm_map_add(&m, MiB(1), MiB(255), MEM_RAM);
    mm_map_add(&m, GiB(4), MiB(256), MEM_RAM);
    setup(&m);
    /* Before the direct map covers high memory (inaccessible right now),
     * heap pages come from low memory. */
    void *a = kmalloc(100), *b = kmalloc(10000);
    CHECK(virt_to_phys(a) < GiB(4));
    CHECK(virt_to_phys(b) < GiB(4));
    mm_test_phys_access(GiB(4), PHYS_BYTES, true);
    frame_init_high_mapped();
    void *c = kmalloc(3000), *d = kmalloc(10000);
    CHECK(virt_to_phys(c) >= GiB(4));
    CHECK(virt_to_phys(d) >= GiB(4));
    memset(c, 1, 3000);
    memset(d, 2, 10000);
    kfree(a);
    kfree(b);
    kfree(c);
    kfree(d);
    check_empty();
}

/* Misuse panics, each in a child process. */
static void double_free_small(void *arg)
{
    (void)arg;
    void *keep = kmalloc(32), *p = kmalloc(32);
    (void)keep;
    kfree(p);
    kfree(p);
}

static void double_free_page_gone(void *arg)
{
    (void)arg;
    void *p = kmalloc(32);
    kfree(p);
    kfree(p);
}

static void double_free_large(void *arg)
{
    (void)arg;
    void *p = kmalloc(20000);
    kfree(p);
    kfree(p);
}

static void free_ptr(void *arg)
{
    kfree(arg);
}

static void interior_small(void *arg)
{
    (void)arg;
    kfree((char *)kmalloc(64) + 16);
}

static void interior_large(void *arg)
{
    (void)arg;
    kfree((char *)kmalloc(3 * PAGE_SIZE) + (uintptr_t)arg);
}

static void slab_tail(void *arg)
{
    (void)arg;
    /* 4096 = 85 * 48 + 16: the last 16 bytes of a 48-byte slab hold no object. */
    char *p = kmalloc(48);
    kfree((char *)((uintptr_t)p & PAGE_MASK) + 85 * 48);
}

static void use_after_free(void *arg)
{
    (void)arg;
    void *keep = kmalloc(64), *p = kmalloc(64);
    (void)keep;
    kfree(p);
    memset(p, 0x77, 8); /* scribbles over the free-list link */
    kmalloc(64);
}

static void test_panics(void)
{
    CHECK(mm_test_panics(double_free_small, NULL, "double free"));
    CHECK(mm_test_panics(double_free_page_gone, NULL, "not a heap pointer"));
    CHECK(mm_test_panics(double_free_large, NULL, "not a heap pointer"));
    int on_stack;
    CHECK(mm_test_panics(free_ptr, &on_stack, "not a heap pointer"));
    void *host = malloc(64);
    CHECK(mm_test_panics(free_ptr, host, "not a heap pointer"));
    free(host);
    CHECK(mm_test_panics(free_ptr, phys_to_virt(MiB(2)), "not a heap pointer")); /* the image */
    paddr_t frame = frame_alloc(0, 0);
    CHECK(mm_test_panics(free_ptr, phys_to_virt(frame), "not a heap pointer")); /* not the heap's frame */
    frame_free(frame, 0);
    CHECK(mm_test_panics(interior_small, NULL, "not the start"));
    CHECK(mm_test_panics(interior_large, (void *)(uintptr_t)16, "inside a large allocation"));
    CHECK(mm_test_panics(interior_large, (void *)(uintptr_t)PAGE_SIZE, "not a heap pointer"));
    CHECK(mm_test_panics(slab_tail, NULL, "not the start"));
    CHECK(mm_test_panics(use_after_free, NULL, "corrupted"));
    check_empty();
}

void run_tests(void)
{
    mm_test_phys_init(PHYS_BYTES);
    CHECK(kmalloc(16) == NULL); /* no frame allocator yet */
    setup_64m();
    test_size_classes();
    test_slab_packing();
    test_large();
    test_reuse_and_return();
    test_kzalloc();
    test_absurd_sizes();
    test_create_destroy_loop();
    test_exhaustion();
    test_panics();
    test_high_memory();
}
