/*
 * The shared-info page: one hypervisor page per domain, mapped into the
 * guest where it asks (XENMEM_add_to_physmap).  Its layout depends on the
 * guest's mode (struct shared_info or struct compat_shared_info), latched
 * when the guest maps it.  vcpu_info for vCPUs 0-31 lives in it unless the
 * guest registers its own; pvclock time records are published there.
 */
#include <abi.h>
#include <keel/domain.h>
#include <keel/event.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/p2m.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/page.h>

int shared_info_init(struct domain *d)
{
    d->shared_info = frame_alloc(0, FRAME_ZERO);
    if (!d->shared_info)
        return -ENOMEM;
    d->xen_pages++;
    for (unsigned i = 0; i < d->max_vcpus && i < XEN_LEGACY_MAX_VCPUS; i++)
        d->vcpu[i]->vcpu_info = (uint8_t *)phys_to_virt(d->shared_info) + i * sizeof(struct vcpu_info);
    return 0;
}

void shared_info_teardown(struct domain *d)
{
    if (d->shared_info) {
        frame_free(d->shared_info, 0);
        d->xen_pages--;
        d->shared_info = 0;
    }
}

bool shared_info_compat(const struct domain *d)
{
    return d->shinfo_compat;
}

static void wallclock(struct domain *d)
{
    uint8_t *s = phys_to_virt(d->shared_info);
    size_t ver = d->shinfo_compat ? offsetof(struct compat_shared_info, wc_version)
                                  : offsetof(struct shared_info, wc_version);
    uint32_t *version = (uint32_t *)(s + ver);
    uint32_t *sec = version + 1, *nsec = version + 2;
    __atomic_fetch_add(version, 1, __ATOMIC_SEQ_CST);
    *sec = (uint32_t)boot_wallclock_sec;
    *nsec = 0;
    if (!d->shinfo_compat)
        ((struct shared_info *)s)->wc_sec_hi = (uint32_t)(boot_wallclock_sec >> 32);
    else
        ((struct compat_shared_info *)s)->wc_sec_hi = (uint32_t)(boot_wallclock_sec >> 32);
    __atomic_fetch_add(version, 1, __ATOMIC_SEQ_CST);
}

int shared_info_map(struct vcpu *caller, struct domain *d, gfn_t gfn)
{
    mfn_t mfn = d->shared_info >> PAGE_SHIFT;
    if (d->shared_info_gfn != ~0ULL && d->shared_info_gfn != gfn)
        p2m_unmap(&d->p2m, d->shared_info_gfn);
    int rc = p2m_map(&d->p2m, gfn, mfn, P2M_XEN, P2M_R | P2M_W);
    if (rc)
        return rc;
    d->shared_info_gfn = gfn;
    d->shinfo_compat = guest_compat(caller);
    wallclock(d);
    for (unsigned i = 0; i < d->max_vcpus; i++)
        vcpu_time_update(d->vcpu[i]);
    return 0;
}

void *vcpu_info_ptr(struct vcpu *v)
{
    return v->vcpu_info;
}

int vcpu_info_register(struct vcpu *v, gfn_t gfn, uint32_t offset)
{
    mfn_t mfn;
    enum p2m_type type;
    /* Xen's rule: the 64-byte area must sit inside one page of the
     * domain's own RAM. */
    if (offset > PAGE_SIZE - sizeof(struct vcpu_info) || (offset & 7))
        return -EINVAL;
    if (!p2m_lookup(&v->domain->p2m, gfn, &mfn, &type, NULL) || type != P2M_RAM)
        return -EINVAL;
    if (v->vcpu_info_mfn)
        return -EEXIST;
    uint8_t *page = phys_to_virt(mfn << PAGE_SHIFT);
    void *old = v->vcpu_info;
    void *new = page + offset;
    /* Carry over the pending state of the old location. */
    if (old)
        memcpy(new, old, sizeof(struct vcpu_info));
    else
        memset(new, 0, sizeof(struct vcpu_info));
    v->vcpu_info_mfn = mfn;
    __atomic_store_n(&v->vcpu_info, new, __ATOMIC_RELEASE);
    vcpu_time_update(v);
    evtchn_check_upcall(v);
    return 0;
}

/* pvclock scale: ns = ((tsc - stamp) << shift) * mul >> 32 (Xen's
 * set_time_scale), chosen so that mul fits 32 bits. */
static void time_scale(uint64_t tps, uint32_t *mul, int8_t *shift)
{
    const uint64_t ns_per_sec = 1000000000ULL;
    int s = 0;
    while (tps > ns_per_sec * 2) {
        tps >>= 1;
        s--;
    }
    uint32_t tps32 = (uint32_t)tps;
    while (tps32 <= (uint32_t)ns_per_sec) {
        tps32 <<= 1;
        s++;
    }
    *mul = (uint32_t)((ns_per_sec << 32) / tps32);
    *shift = (int8_t)s;
}

void vcpu_time_update(struct vcpu *v)
{
    struct vcpu_info *vi = v->vcpu_info;
    if (!vi)
        return;
    /* The time record sits at offset 32 in both layouts. */
    struct vcpu_time_info *t = &vi->time;
    uint32_t mul;
    int8_t shift;
    time_scale(tsc_khz * 1000, &mul, &shift);
    uint64_t host_tsc = rdtsc();
    uint64_t now = tsc_to_ns(host_tsc - boot_tsc);
    __atomic_store_n(&t->version, t->version + 1, __ATOMIC_SEQ_CST); /* odd: updating */
    t->tsc_timestamp = host_tsc + v->domain->tsc_offset;
    t->system_time = now;
    t->tsc_to_system_mul = mul;
    t->tsc_shift = shift;
    t->flags = XEN_PVCLOCK_TSC_STABLE_BIT;
    __atomic_store_n(&t->version, t->version + 1, __ATOMIC_SEQ_CST);
}
