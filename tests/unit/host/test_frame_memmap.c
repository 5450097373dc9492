/* sources: hv/c/core/mm/memmap.c tests/unit/host/mm_test.c */
/* Firmware memory maps: unsorted, overlapping, unaligned, limited; and the
 * search for the allocator's metadata window. */
#include <string.h>

#include "mm_test.h"
#include "shim.h"

#include "../../../hv/c/core/mm/memmap.h"

static struct pfn_range out[2 * BOOT_MAX_MEMMAP];

static size_t usable(const struct mm_map *m, uint64_t limit)
{
    return memmap_usable(m->r, m->n, limit, out, ARRAY_SIZE(out));
}

#define CHECK_RANGE(i, s, e)                                                                                           \
    do {                                                                                                               \
        CHECK_EQ(out[i].start, (s));                                                                                   \
        CHECK_EQ(out[i].end, (e));                                                                                     \
    } while (0)

static void test_qemu_6g(void)
{
    /* What QEMU's BIOS reports for -m 6G, shuffled. */
    struct mm_map m = { .n = 0 };
    mm_map_add(&m, 0x100000000ULL, 0xc0000000ULL, MEM_RAM);
    mm_map_add(&m, 0xfffc0000, 0x40000, MEM_RESERVED);
    mm_map_add(&m, 0x9fc00, 0x400, MEM_RESERVED);
    mm_map_add(&m, 0xf0000, 0x10000, MEM_RESERVED);
    mm_map_add(&m, 0x100000, 0xbfee0000 - 0x100000, MEM_RAM);
    mm_map_add(&m, 0, 0x9fc00, MEM_RAM);
    mm_map_add(&m, 0xbfee0000, 0x20000, MEM_RESERVED);
    mm_map_add(&m, 0xfd00000000ULL, 0x300000000ULL, MEM_RESERVED);
    CHECK_EQ(usable(&m, 0), 3);
    CHECK_RANGE(0, 0, 0x9f);     /* the partial page at 0x9f000 is dropped */
    CHECK_RANGE(1, 0x100, 0xbfee0);
    CHECK_RANGE(2, 0x100000, 0x1c0000);

    /* mem= keeps whole frames below the limit. */
    CHECK_EQ(usable(&m, GiB(5) + 123), 3);
    CHECK_RANGE(2, 0x100000, 0x140000);
    CHECK_EQ(usable(&m, GiB(3)), 2);
    CHECK_RANGE(1, 0x100, 0xbfee0);
    CHECK_EQ(usable(&m, MiB(1) + 4095), 1);
    CHECK_RANGE(0, 0, 0x9f);
    CHECK_EQ(usable(&m, 4095), 0);
}

static void test_overlaps(void)
{
    struct mm_map m = { .n = 0 };
    /* Non-RAM inside RAM wins, to the page. */
    mm_map_add(&m, 0, MiB(8), MEM_RAM);
    mm_map_add(&m, MiB(4) + 100, 100, MEM_ACPI);
    /* RAM listed twice and RAM inside RAM: no double counting. */
    mm_map_add(&m, MiB(1), MiB(2), MEM_RAM);
    mm_map_add(&m, 0, MiB(8), MEM_RAM);
    /* Zero-sized entries mean nothing, whatever their type. */
    mm_map_add(&m, MiB(6), 0, MEM_RESERVED);
    /* Unknown types are not RAM. */
    mm_map_add(&m, MiB(7), 8192, 42);
    CHECK_EQ(usable(&m, 0), 3);
    CHECK_RANGE(0, 0, 0x400);
    CHECK_RANGE(1, 0x401, 0x700);
    CHECK_RANGE(2, 0x702, 0x800);

    /* Adjacent and overlapping unaligned RAM entries merge before rounding,
     * so the page they share is usable. */
    struct mm_map a = { .n = 0 };
    mm_map_add(&a, 0x1800, 0x1000, MEM_RAM);  /* 0x1800..0x2800 */
    mm_map_add(&a, 0x2800, 0x1800, MEM_RAM);  /* ..0x4000 */
    mm_map_add(&a, 0x3000, 0x10800, MEM_RAM); /* ..0x13800 */
    CHECK_EQ(usable(&a, 0), 1);
    CHECK_RANGE(0, 2, 0x13);

    /* RAM entirely shadowed by a reserved entry is gone. */
    struct mm_map b = { .n = 0 };
    mm_map_add(&b, MiB(1), MiB(1), MEM_RAM);
    mm_map_add(&b, MiB(1) - 1, MiB(1) + 2, MEM_NVS);
    CHECK_EQ(usable(&b, 0), 0);
}

static void test_extremes(void)
{
    struct mm_map m = { .n = 0 };
    /* Sizes that overflow and addresses beyond 52 bits are clipped. */
    mm_map_add(&m, 0x1000, UINT64_MAX, MEM_RAM);
    mm_map_add(&m, 1ULL << 60, GiB(1), MEM_RAM);
    CHECK_EQ(usable(&m, 0), 1);
    CHECK_RANGE(0, 1, MEMMAP_PHYS_LIMIT >> PAGE_SHIFT);

    struct mm_map e = { .n = 0 };
    CHECK_EQ(usable(&e, 0), 0);

    /* Output truncated to the room given. */
    struct mm_map many = { .n = 0 };
    for (unsigned i = 0; i < 10; i++)
        mm_map_add(&many, MiB(2) * i, MiB(1), MEM_RAM);
    CHECK_EQ(usable(&many, 0), 10);
    CHECK_EQ(memmap_usable(many.r, many.n, 0, out, 4), 4);
    CHECK_RANGE(3, 0x600, 0x700);

    /* A full firmware map of tiny entries. */
    struct mm_map full = { .n = 0 };
    for (unsigned i = 0; i < BOOT_MAX_MEMMAP; i++)
        mm_map_add(&full, (uint64_t)(BOOT_MAX_MEMMAP - 1 - i) * 2 * PAGE_SIZE, PAGE_SIZE,
                   i % 3 ? MEM_RAM : MEM_RESERVED);
    size_t n = usable(&full, 0);
    CHECK_EQ(n, BOOT_MAX_MEMMAP - (BOOT_MAX_MEMMAP + 2) / 3);
}

/* Brute force: a page is usable when each of its 256-byte chunks is covered
 * by RAM and by nothing else.  The fuzzed maps use that granularity. */
#define CHUNK 256
#define SPACE_PAGES 64
static bool brute_usable(const struct mm_map *m, uint64_t page, uint64_t limit)
{
    if (limit && (page + 1) * PAGE_SIZE > limit)
        return false;
    for (uint64_t c = page * PAGE_SIZE; c < (page + 1) * PAGE_SIZE; c += CHUNK) {
        bool ram = false, other = false;
        for (size_t i = 0; i < m->n; i++) {
            if (c >= m->r[i].base && c < m->r[i].base + m->r[i].size) {
                ram |= m->r[i].type == MEM_RAM;
                other |= m->r[i].type != MEM_RAM;
            }
        }
        if (!ram || other)
            return false;
    }
    return true;
}

static void test_fuzz_against_brute_force(void)
{
    struct mm_rng rng = { 42 };
    unsigned bad = 0, ranges = 0;

    for (unsigned round = 0; round < 3000; round++) {
        struct mm_map m = { .n = 0 };
        size_t n = 1 + mm_rng_below(&rng, 12);
        for (size_t i = 0; i < n; i++) {
            uint64_t base = mm_rng_below(&rng, SPACE_PAGES * PAGE_SIZE / CHUNK) * CHUNK;
            uint64_t size = mm_rng_below(&rng, 24 * PAGE_SIZE / CHUNK) * CHUNK;
            uint32_t type = mm_rng_below(&rng, 3) ? MEM_RAM : (uint32_t)(2 + mm_rng_below(&rng, 4));
            mm_map_add(&m, base, size, type);
        }
        uint64_t limit = mm_rng_below(&rng, 3) ? 0 : mm_rng_below(&rng, SPACE_PAGES * PAGE_SIZE);
        size_t got = usable(&m, limit);
        ranges += (unsigned)got;
        bool page[SPACE_PAGES + 24] = { false };
        for (size_t i = 0; i < got; i++) {
            bad += out[i].start >= out[i].end;
            bad += i > 0 && out[i].start <= out[i - 1].end; /* sorted, disjoint, not adjacent */
            for (uint64_t p = out[i].start; p < out[i].end && p < ARRAY_SIZE(page); p++)
                page[p] = true;
        }
        for (uint64_t p = 0; p < ARRAY_SIZE(page); p++)
            if (page[p] != brute_usable(&m, p, limit)) {
                if (!bad)
                    fprintf(stderr, "fuzz round %u: page %lu differs\n", round, (unsigned long)p);
                bad++;
            }
    }
    CHECK_EQ(bad, 0);
    CHECK(ranges > 1000);
}

static void test_window(void)
{
    struct pfn_range u[] = { { 256, 300 }, { 400, 1000 } };
    struct pfn_range av[4];
    uint64_t s = 0;

    CHECK(memmap_find_window(u, 2, NULL, 0, 10, UINT64_MAX, &s));
    CHECK_EQ(s, 990);
    CHECK(memmap_find_window(u, 2, NULL, 0, 10, 500, &s));
    CHECK_EQ(s, 490);
    CHECK(memmap_find_window(u, 2, NULL, 0, 600, 1000, &s)); /* exactly the range */
    CHECK_EQ(s, 400);
    CHECK(!memmap_find_window(u, 2, NULL, 0, 601, 1000, &s));
    CHECK(!memmap_find_window(u, 2, NULL, 0, 0, 1000, &s));
    CHECK(memmap_find_window(u, 2, NULL, 0, 44, 410, &s)); /* falls to the lower range */
    CHECK_EQ(s, 256);

    /* Avoided ranges, in any order, push the window down past them. */
    av[0] = (struct pfn_range){ 975, 985 };
    av[1] = (struct pfn_range){ 990, 1000 };
    av[2] = (struct pfn_range){ 0, 256 }; /* touching, not overlapping */
    av[3] = (struct pfn_range){ 500, 500 }; /* empty */
    CHECK(memmap_find_window(u, 2, av, 4, 10, UINT64_MAX, &s));
    CHECK_EQ(s, 965);
    CHECK(memmap_find_window(u, 2, av, 4, 5, UINT64_MAX, &s));
    CHECK_EQ(s, 985);
    av[0] = (struct pfn_range){ 450, 1000 };
    CHECK(memmap_find_window(u, 2, av, 1, 50, UINT64_MAX, &s));
    CHECK_EQ(s, 400);
    /* 50 frames left up there, 44 in the lower range: 51 fit nowhere. */
    CHECK(!memmap_find_window(u, 2, av, 1, 51, UINT64_MAX, &s));
}

static void test_window_fuzz(void)
{
    struct mm_rng rng = { 7 };
    unsigned bad = 0, found = 0;

    for (unsigned round = 0; round < 3000; round++) {
        struct pfn_range u[6], av[5];
        size_t nu = 0, na = mm_rng_below(&rng, 6);
        uint64_t at = mm_rng_below(&rng, 20);
        for (size_t i = 0; i < 1 + mm_rng_below(&rng, 6); i++) {
            uint64_t len = 1 + mm_rng_below(&rng, 60);
            u[nu++] = (struct pfn_range){ at, at + len };
            at += len + 1 + mm_rng_below(&rng, 10);
        }
        for (size_t i = 0; i < na; i++) {
            uint64_t a = mm_rng_below(&rng, 400), len = mm_rng_below(&rng, 30);
            av[i] = (struct pfn_range){ a, a + len };
        }
        uint64_t pages = 1 + mm_rng_below(&rng, 40), ceiling = mm_rng_below(&rng, 450), s = 0;
        bool got = memmap_find_window(u, nu, av, na, pages, ceiling, &s);

        bool want = false;
        uint64_t best = 0;
        for (size_t r = 0; r < nu; r++)
            for (uint64_t c = u[r].start; c + pages <= MIN(u[r].end, ceiling); c++) {
                bool ok = true;
                for (size_t i = 0; i < na; i++)
                    ok &= !(av[i].start < c + pages && av[i].end > c && av[i].start < av[i].end);
                if (ok) {
                    want = true;
                    best = MAX(best, c);
                }
            }
        bad += got != want || (got && s != best);
        found += got;
    }
    CHECK_EQ(bad, 0);
    CHECK(found > 500);
}

void run_tests(void)
{
    test_qemu_6g();
    test_overlaps();
    test_extremes();
    test_fuzz_against_brute_force();
    test_window();
    test_window_fuzz();
}
