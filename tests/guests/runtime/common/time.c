/* pvclock, wallclock and TSC frequency (rt/time.h). */
#include "rt.h"

bool pvclock_snapshot(struct vcpu_time_info *out)
{
    volatile struct vcpu_info *vi = this_vcpu_info();
    if (!vi)
        return false;
    volatile struct vcpu_time_info *t = &vi->time;
    for (;;) {
        uint32_t v1 = __atomic_load_n(&t->version, __ATOMIC_ACQUIRE);
        if (v1 & 1) {
            cpu_relax();
            continue;
        }
        out->version = v1;
        out->pad0 = 0;
        out->tsc_timestamp = t->tsc_timestamp;
        out->system_time = t->system_time;
        out->tsc_to_system_mul = t->tsc_to_system_mul;
        out->tsc_shift = t->tsc_shift;
        out->flags = t->flags;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&t->version, __ATOMIC_ACQUIRE) == v1)
            return true;
    }
}

uint64_t pvclock_tsc_to_ns(const struct vcpu_time_info *t, uint64_t tsc)
{
    uint64_t delta = tsc - t->tsc_timestamp;
    if (t->tsc_shift < 0)
        delta >>= -t->tsc_shift;
    else
        delta <<= t->tsc_shift;
    /* (delta * mul) >> 32 without a 128-bit type (the 32-bit flavour). */
    uint64_t lo = (delta & 0xFFFFFFFFULL) * t->tsc_to_system_mul;
    uint64_t hi = (delta >> 32) * t->tsc_to_system_mul;
    return t->system_time + hi + (lo >> 32);
}

uint64_t pvclock_ns(void)
{
    struct vcpu_time_info t;
    if (!pvclock_snapshot(&t))
        return 0;
    return pvclock_tsc_to_ns(&t, rdtsc());
}

bool wallclock_read(uint64_t *sec, uint32_t *nsec, uint32_t *version)
{
    if (!shared_info)
        return false;
    volatile struct shared_info *s = shared_info;
    for (;;) {
        uint32_t v1 = __atomic_load_n(&s->wc_version, __ATOMIC_ACQUIRE);
        if (v1 & 1) {
            cpu_relax();
            continue;
        }
        uint64_t sc = s->wc_sec | ((uint64_t)s->wc_sec_hi << 32);
        uint32_t ns = s->wc_nsec;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&s->wc_version, __ATOMIC_ACQUIRE) != v1)
            continue;
        *sec = sc;
        *nsec = ns;
        if (version)
            *version = v1;
        return true;
    }
}

uint32_t hypervisor_tsc_khz(void)
{
    if (!hypervisor.present || hypervisor.max_leaf < hypervisor.base + 3)
        return 0;
    return cpuid_count(hypervisor.base + 3, 0).ecx;
}

uint64_t ns_to_tsc(uint64_t ns)
{
    uint64_t khz = hypervisor_tsc_khz();
    if (!khz)
        return ns;
    /* ns * khz / 10^6, split to stay within 64 bits for long timeouts. */
    return ns / 1000000 * khz + ns % 1000000 * khz / 1000000;
}

uint64_t tsc_to_ns(uint64_t cycles)
{
    uint64_t khz = hypervisor_tsc_khz();
    if (!khz)
        return cycles;
    return cycles / khz * 1000000 + cycles % khz * 1000000 / khz;
}
