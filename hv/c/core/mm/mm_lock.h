/*
 * The allocators' locks.  They are IRQ-safe: frames and heap objects may be
 * allocated and freed from interrupt handlers, and an interrupt arriving on
 * a CPU that holds the lock must not spin on it forever.
 *
 * Host unit tests are ordinary processes where cli faults; there the lock
 * instead checks the discipline: taking a lock that is already held (a
 * recursion that would deadlock the hypervisor) panics.
 */
#ifndef CORE_MM_MM_LOCK_H
#define CORE_MM_MM_LOCK_H

#include <keel/panic.h>
#include <keel/spinlock.h>

#ifdef KEEL_HOST_TEST
static inline unsigned long mm_lock(spinlock_t *l)
{
    BUG_ON(spin_is_locked(l));
    spin_lock(l);
    return 0;
}

static inline void mm_unlock(spinlock_t *l, unsigned long flags)
{
    BUG_ON(!spin_is_locked(l));
    (void)flags;
    spin_unlock(l);
}
#else
static inline unsigned long mm_lock(spinlock_t *l)
{
    return spin_lock_irqsave(l);
}

static inline void mm_unlock(spinlock_t *l, unsigned long flags)
{
    spin_unlock_irqrestore(l, flags);
}
#endif

#endif
