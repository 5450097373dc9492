/* memory_op: the guest's view of its memory and what it may map. */
#include <abi.h>
#include <keel/domain.h>
#include <keel/event.h>
#include <keel/grant.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/vcpu.h>

/* grant_table.c: whether another domain maps our RAM page at gfn. */
bool gnttab_gfn_busy(struct domain *owner, gfn_t gfn);

/* Page-table pages a domain may make Keel allocate for the frames it maps
 * itself (shared info, grant frames, grants), beyond what its RAM needs:
 * without a bound, mapping one frame every GiB takes the host's memory
 * (Xen bounds it with the paging pool).  Over the budget a frame may still
 * be mapped where its last-level table exists (some frame of the same
 * 2 MiB is mapped), which needs no new table.  Used by grant_table.c too. */
bool p2m_room(struct domain *d, gfn_t gfn);
bool p2m_room(struct domain *d, gfn_t gfn)
{
    if (d->p2m.table_pages < 64 + d->p2m.pages / 512)
        return true;
    for (gfn_t g = gfn & ~511ULL; g < (gfn & ~511ULL) + 512; g++)
        if (p2m_lookup(&d->p2m, g, NULL, NULL, NULL))
            return true;
    return false;
}

static long add_to_physmap(struct vcpu *v, abi_gva_t arg)
{
    struct xen_add_to_physmap a;
    if (guest_compat(v)) {
        struct compat_xen_add_to_physmap c;
        if (copy_from_guest(v, &c, arg, sizeof(c)))
            return -EFAULT;
        a.domid = c.domid;
        a.size = c.size;
        a.space = c.space;
        a.idx = c.idx;
        a.gpfn = c.gpfn;
    } else if (copy_from_guest(v, &a, arg, sizeof(a))) {
        return -EFAULT;
    }
    struct domain *d = a.domid == DOMID_SELF || a.domid == v->domain->id ? v->domain : NULL;
    if (!d)
        return v->domain->is_control ? -EOPNOTSUPP : -EPERM;
    if (a.gpfn >> 36)
        return -EINVAL;
    if (!p2m_room(d, a.gpfn))
        return -ENOMEM;
    switch (a.space) {
    case XENMAPSPACE_shared_info:
        if (a.idx != 0)
            return -EINVAL;
        if (gnttab_gfn_busy(d, a.gpfn))
            return -EBUSY; /* freeing that page would leave another domain's mapping dangling */
        return shared_info_map(v, d, a.gpfn);
    case XENMAPSPACE_grant_table:
        return gnttab_map_frame(d, a.idx, a.gpfn);
    default:
        return -EOPNOTSUPP;
    }
}

static long memory_map(struct vcpu *v, abi_gva_t arg)
{
    struct domain *d = v->domain;
    uint64_t ram_end = d->config.memory + 0x60000;
    struct hvm_memmap_table_entry map[3] = {
        { 0, 0xA0000, XEN_HVM_MEMMAP_TYPE_RAM, 0 },
        { 0xA0000, 0x60000, XEN_HVM_MEMMAP_TYPE_RESERVED, 0 },
        { 0x100000, ram_end - 0x100000, XEN_HVM_MEMMAP_TYPE_RAM, 0 },
    };
    uint32_t nr;
    abi_gva_t buf;
    if (guest_compat(v)) {
        struct compat_xen_memory_map m;
        if (copy_from_guest(v, &m, arg, sizeof(m)))
            return -EFAULT;
        nr = m.nr_entries;
        buf = m.buffer;
    } else {
        struct xen_memory_map m;
        if (copy_from_guest(v, &m, arg, sizeof(m)))
            return -EFAULT;
        nr = m.nr_entries;
        buf = m.buffer;
    }
    /* e820 entries are 20 bytes: u64 addr, u64 size, u32 type. */
    uint32_t n = MIN(nr, (uint32_t)ARRAY_SIZE(map));
    for (uint32_t i = 0; i < n; i++)
        if (copy_to_guest(v, buf + 20 * i, &map[i], 20))
            return -EFAULT;
    return copy_to_guest(v, arg, &n, sizeof(n)) ? -EFAULT : 0;
}

long do_memory_op(struct vcpu *v, uint32_t cmd, abi_gva_t arg)
{
    struct domain *d = v->domain;
    switch (cmd) {
    case XENMEM_add_to_physmap:
        return add_to_physmap(v, arg);
    case XENMEM_memory_map:
        return memory_map(v, arg);
    case XENMEM_maximum_ram_page:
        return (long)(d->p2m.max_gfn ? d->p2m.max_gfn - 1 : 0);
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation: {
        uint16_t domid;
        if (copy_from_guest(v, &domid, arg, sizeof(domid)))
            return -EFAULT;
        struct domain *t = domain_get(domid == DOMID_SELF ? d->id : domid);
        if (!t)
            return -ESRCH;
        long rc = t != d && !d->is_control ? -EPERM
                  : (long)(cmd == XENMEM_current_reservation ? t->p2m.pages : t->max_pages);
        domain_put(t);
        return rc;
    }
    default:
        return -ENOSYS;
    }
}
