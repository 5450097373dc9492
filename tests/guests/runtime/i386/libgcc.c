/*
 * 64-bit division (and, further down, 8-byte atomics) for the 32-bit
 * flavour.  GCC turns u64 / and % on i386 into calls to these libgcc
 * helpers; the runtime links no libgcc, so here they are, as plain
 * shift-and-subtract long division (speed is no concern for formatting
 * numbers and test arithmetic).
 */
#include <stdint.h>

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem);
uint64_t __udivdi3(uint64_t n, uint64_t d);
uint64_t __umoddi3(uint64_t n, uint64_t d);
int64_t __divdi3(int64_t n, int64_t d);
int64_t __moddi3(int64_t n, int64_t d);

uint64_t __udivmoddi4(uint64_t n, uint64_t d, uint64_t *rem)
{
    uint64_t q = 0, r = 0;

    if (d == 0) /* as the hardware would: #DE */
        __asm__ volatile("div %0" : : "r"(0U) : "eax", "edx");
    for (int bit = 63; bit >= 0; bit--) {
        r = (r << 1) | ((n >> bit) & 1);
        if (r >= d) {
            r -= d;
            q |= (uint64_t)1 << bit;
        }
    }
    if (rem)
        *rem = r;
    return q;
}

uint64_t __udivdi3(uint64_t n, uint64_t d)
{
    return __udivmoddi4(n, d, 0);
}

uint64_t __umoddi3(uint64_t n, uint64_t d)
{
    uint64_t r;
    __udivmoddi4(n, d, &r);
    return r;
}

static uint64_t magnitude(int64_t v)
{
    return v < 0 ? -(uint64_t)v : (uint64_t)v;
}

int64_t __divdi3(int64_t n, int64_t d)
{
    uint64_t q = __udivmoddi4(magnitude(n), magnitude(d), 0);
    return (n < 0) != (d < 0) ? -(int64_t)q : (int64_t)q;
}

int64_t __moddi3(int64_t n, int64_t d)
{
    uint64_t r;
    __udivmoddi4(magnitude(n), magnitude(d), &r);
    return n < 0 ? -(int64_t)r : (int64_t)r;
}

/*
 * 8-byte atomics.  GCC compiles __atomic_* on 64-bit objects in 32-bit code
 * into calls to libatomic; these are lock-free versions on CMPXCHG8B (every
 * CPU the 32-bit flavour runs on has it).  The memory order argument is
 * ignored: a locked instruction is a full barrier.
 */
#include <stdbool.h>

static inline uint64_t cas8(volatile void *mem, uint64_t old, uint64_t new)
{
    uint64_t prev;
    __asm__ volatile("lock cmpxchg8b %1"
                     : "=A"(prev), "+m"(*(volatile uint64_t *)mem)
                     : "b"((uint32_t)new), "c"((uint32_t)(new >> 32)), "0"(old)
                     : "memory");
    return prev;
}

uint64_t __atomic_load_8(const volatile void *mem, int model);
void __atomic_store_8(volatile void *mem, uint64_t val, int model);
uint64_t __atomic_exchange_8(volatile void *mem, uint64_t val, int model);
bool __atomic_compare_exchange_8(volatile void *mem, void *expected, uint64_t desired, bool weak, int success,
                                 int failure);

uint64_t __atomic_load_8(const volatile void *mem, int model)
{
    (void)model;
    return cas8((volatile void *)mem, 0, 0); /* writes 0 over 0 only: no change */
}

uint64_t __atomic_exchange_8(volatile void *mem, uint64_t val, int model)
{
    uint64_t old = __atomic_load_8(mem, model);
    for (;;) {
        uint64_t prev = cas8(mem, old, val);
        if (prev == old)
            return old;
        old = prev;
    }
}

void __atomic_store_8(volatile void *mem, uint64_t val, int model)
{
    (void)__atomic_exchange_8(mem, val, model);
}

bool __atomic_compare_exchange_8(volatile void *mem, void *expected, uint64_t desired, bool weak, int success,
                                 int failure)
{
    (void)weak;
    (void)success;
    (void)failure;
    uint64_t want = *(uint64_t *)expected;
    uint64_t prev = cas8(mem, want, desired);
    if (prev == want)
        return true;
    *(uint64_t *)expected = prev;
    return false;
}

#define ATOMIC_RMW8(name, expr, ret_new)                                      \
    uint64_t name(volatile void *mem, uint64_t val, int model);               \
    uint64_t name(volatile void *mem, uint64_t val, int model)                \
    {                                                                         \
        uint64_t old = __atomic_load_8(mem, model);                           \
        for (;;) {                                                            \
            uint64_t new = (expr);                                            \
            uint64_t prev = cas8(mem, old, new);                              \
            if (prev == old)                                                  \
                return ret_new ? new : old;                                   \
            old = prev;                                                       \
        }                                                                     \
    }
ATOMIC_RMW8(__atomic_fetch_add_8, old + val, 0)
ATOMIC_RMW8(__atomic_fetch_sub_8, old - val, 0)
ATOMIC_RMW8(__atomic_fetch_and_8, old & val, 0)
ATOMIC_RMW8(__atomic_fetch_or_8, old | val, 0)
ATOMIC_RMW8(__atomic_fetch_xor_8, old ^ val, 0)
ATOMIC_RMW8(__atomic_add_fetch_8, old + val, 1)
ATOMIC_RMW8(__atomic_sub_fetch_8, old - val, 1)
ATOMIC_RMW8(__atomic_and_fetch_8, old & val, 1)
ATOMIC_RMW8(__atomic_or_fetch_8, old | val, 1)
ATOMIC_RMW8(__atomic_xor_fetch_8, old ^ val, 1)
