/* Sets of physical CPUs (affinity masks). */
#ifndef KEEL_CPUMASK_H
#define KEEL_CPUMASK_H

#include <keel/types.h>

#define CPUMASK_BITS 256
#define CPUMASK_WORDS (CPUMASK_BITS / 64)

typedef struct {
    uint64_t w[CPUMASK_WORDS];
} cpumask_t;

static inline void cpumask_clear(cpumask_t *m)
{
    for (unsigned i = 0; i < CPUMASK_WORDS; i++)
        m->w[i] = 0;
}

static inline void cpumask_fill(cpumask_t *m)
{
    for (unsigned i = 0; i < CPUMASK_WORDS; i++)
        m->w[i] = ~0ULL;
}

static inline void cpumask_set(cpumask_t *m, unsigned cpu) { m->w[cpu / 64] |= 1ULL << (cpu % 64); }
static inline void cpumask_unset(cpumask_t *m, unsigned cpu) { m->w[cpu / 64] &= ~(1ULL << (cpu % 64)); }

static inline bool cpumask_test(const cpumask_t *m, unsigned cpu)
{
    return cpu < CPUMASK_BITS && (m->w[cpu / 64] >> (cpu % 64)) & 1;
}

static inline bool cpumask_empty(const cpumask_t *m)
{
    for (unsigned i = 0; i < CPUMASK_WORDS; i++)
        if (m->w[i])
            return false;
    return true;
}

static inline unsigned cpumask_weight(const cpumask_t *m)
{
    unsigned n = 0;
    for (unsigned i = 0; i < CPUMASK_WORDS; i++)
        for (uint64_t x = m->w[i]; x; x &= x - 1) /* no POPCNT: baseline x86-64 */
            n++;
    return n;
}

static inline void cpumask_and(cpumask_t *d, const cpumask_t *a, const cpumask_t *b)
{
    for (unsigned i = 0; i < CPUMASK_WORDS; i++)
        d->w[i] = a->w[i] & b->w[i];
}

/* First CPU in the mask at or after `from`, or CPUMASK_BITS. */
static inline unsigned cpumask_next(const cpumask_t *m, unsigned from)
{
    for (unsigned c = from; c < CPUMASK_BITS; c++)
        if (cpumask_test(m, c))
            return c;
    return CPUMASK_BITS;
}

/* Parse xl-style CPU lists: "all", "0-3,^1", "2,5". */
bool cpumask_parse(const char *s, cpumask_t *out);

#endif
