/*
 * panic() is for the hypervisor's own broken invariants and for boot
 * failures only.  A misbehaving guest never reaches it: its domain is
 * crashed instead (domain_crash()).
 */
#ifndef KEEL_PANIC_H
#define KEEL_PANIC_H

#include <keel/types.h>

/* The one unmistakable line every panic prints (tests look for it). */
#define PANIC_MARKER "KEEL PANIC"

__noreturn void panic(const char *fmt, ...) __printf(1, 2);

#define BUG_ON(cond)                                                                                                   \
    do {                                                                                                               \
        if (unlikely(cond))                                                                                            \
            panic("BUG at %s:%d: %s", __FILE__, __LINE__, #cond);                                                      \
    } while (0)

#define ASSERT(cond) BUG_ON(!(cond))

/* Arch hooks used by panic(). */
void arch_panic_stop_other_cpus(void);
unsigned arch_cpu_id(void);
void arch_panic_delay_ms(unsigned ms);

#endif
