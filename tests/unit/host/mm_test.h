/* Helpers shared by the frame allocator and heap host tests. */
#ifndef HOST_MM_TEST_H
#define HOST_MM_TEST_H

#include <keel/boot.h>
#include <keel/types.h>

/* "Physical memory": an anonymous, lazily backed mapping of `bytes` that
 * phys_to_virt() points into (see asm/page.h).  Call once per program. */
void mm_test_phys_init(uint64_t bytes);
/* Drop the contents of all of it (pages read as zero again, RSS released). */
void mm_test_phys_discard(void);
/* Make [start, end) accessible or not: inaccessible memory faults when
 * touched, which proves code never touches it. */
void mm_test_phys_access(paddr_t start, paddr_t end, bool accessible);

/* Deterministic pseudo-random numbers (xorshift64*). */
struct mm_rng {
    uint64_t s;
};
uint64_t mm_rng_next(struct mm_rng *r);
uint64_t mm_rng_below(struct mm_rng *r, uint64_t n);

/* Run fn(arg) in a child process; true when it panicked and the panic
 * message contains `expect`. */
bool mm_test_panics(void (*fn)(void *), void *arg, const char *expect);

/* A memory map builder. */
struct mm_map {
    struct boot_mem_region r[BOOT_MAX_MEMMAP];
    size_t n;
};
void mm_map_add(struct mm_map *m, uint64_t base, uint64_t size, uint32_t type);

#endif
