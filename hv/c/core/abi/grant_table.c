/*
 * Grant tables, version 1.  The table frames are hypervisor pages the guest
 * maps into its own address space and fills; another domain maps a granted
 * frame into its p2m (GNTMAP_host_map at a guest-physical address) and Keel
 * sets GTF_reading / GTF_writing in the granter's entry while any mapping
 * exists, so the granter can tell its page is in use.  When a granter dies,
 * every mapping of its pages is removed before its memory is freed.
 */
#include <abi.h>
#include <keel/domain.h>
#include <keel/grant.h>
#include <keel/guest_mem.h>
#include <keel/heap.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/p2m.h>
#include <keel/vcpu.h>
#include <asm/page.h>

#define MAX_BATCH 512

bool gnttab_gfn_busy(struct domain *owner, gfn_t gfn);
bool p2m_room(struct domain *d, gfn_t gfn); /* memory_op.c */

int gnttab_init(struct domain *d)
{
    struct grant_table *gt = kzalloc(sizeof(*gt));
    if (!gt)
        return -ENOMEM;
    for (unsigned i = 0; i < GNTTAB_MAX_FRAMES; i++)
        gt->frame_gfn[i] = ~0ULL;
    d->grants = gt;
    return 0;
}

static int grow(struct domain *d, unsigned frames)
{
    struct grant_table *gt = d->grants;
    if (frames > GNTTAB_MAX_FRAMES)
        return -EINVAL;
    while (gt->nr_frames < frames) {
        unsigned i = gt->nr_frames;
        paddr_t f = frame_alloc(0, FRAME_ZERO);
        uint16_t *act = kzalloc(sizeof(uint16_t) * GRANT_ENTRIES_PER_FRAME);
        if (!f || !act) {
            if (f)
                frame_free(f, 0);
            kfree(act);
            return -ENOMEM;
        }
        gt->frame[i] = f;
        gt->active[i] = act;
        gt->nr_frames++;
        d->xen_pages++;
    }
    return 0;
}

int gnttab_map_frame(struct domain *d, unsigned long idx, gfn_t gfn)
{
    struct grant_table *gt = d->grants;
    if (idx & XENMAPIDX_grant_table_status)
        return -EOPNOTSUPP; /* status frames belong to v2 */
    if (idx >= GNTTAB_MAX_FRAMES)
        return -EINVAL;
    if (gnttab_gfn_busy(d, gfn))
        return -EBUSY; /* our page there is mapped by another domain */
    spin_lock(&gt->lock);
    int rc = grow(d, (unsigned)idx + 1);
    if (!rc) {
        if (gt->frame_gfn[idx] != ~0ULL && gt->frame_gfn[idx] != gfn)
            p2m_unmap(&d->p2m, gt->frame_gfn[idx]);
        rc = p2m_map(&d->p2m, gfn, gt->frame[idx] >> PAGE_SHIFT, P2M_XEN, P2M_R | P2M_W);
        if (!rc)
            gt->frame_gfn[idx] = gfn;
    }
    spin_unlock(&gt->lock);
    return rc;
}

static struct grant_entry_v1 *entry(struct grant_table *gt, uint32_t ref)
{
    uint32_t f = ref / GRANT_ENTRIES_PER_FRAME;
    if (f >= gt->nr_frames)
        return NULL;
    return (struct grant_entry_v1 *)phys_to_virt(gt->frame[f]) + ref % GRANT_ENTRIES_PER_FRAME;
}

static uint16_t *active(struct grant_table *gt, uint32_t ref)
{
    return &gt->active[ref / GRANT_ENTRIES_PER_FRAME][ref % GRANT_ENTRIES_PER_FRAME];
}

/* One mapping fewer of granter's ref: clear the in-use flags with the last. */
static void release_ref(struct domain *granter, uint32_t ref)
{
    struct grant_table *gt = granter->grants;
    spin_lock(&gt->lock);
    struct grant_entry_v1 *e = entry(gt, ref);
    if (e && *active(gt, ref) && --*active(gt, ref) == 0)
        __atomic_fetch_and(&e->flags, (uint16_t)~(GTF_reading | GTF_writing), __ATOMIC_SEQ_CST);
    spin_unlock(&gt->lock);
}

/* The domain's maptrack, allocated on first use (vCPUs may race here). */
static struct maptrack *maptrack_of(struct domain *d)
{
    struct maptrack *mt = __atomic_load_n(&d->grants->maptrack, __ATOMIC_ACQUIRE);
    if (mt)
        return mt;
    struct maptrack *fresh = kzalloc(sizeof(*fresh) * MAPTRACK_MAX);
    if (!fresh)
        return NULL;
    if (!__atomic_compare_exchange_n(&d->grants->maptrack, &mt, fresh, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        kfree(fresh);
        return mt;
    }
    return fresh;
}

/* A free handle, claimed atomically (two vCPUs must not get the same). */
static unsigned claim_handle(struct maptrack *mt)
{
    for (unsigned h = 0; h < MAPTRACK_MAX; h++) {
        if (!__atomic_load_n(&mt[h].used, __ATOMIC_RELAXED) && !__atomic_exchange_n(&mt[h].used, true, __ATOMIC_ACQ_REL)) {
            /* Until filled in, it names no granter (a dying one must not
             * take a previous mapping's fields for ours). */
            __atomic_store_n(&mt[h].dom, (uint16_t)DOMID_INVALID, __ATOMIC_RELEASE);
            return h;
        }
    }
    return MAPTRACK_MAX;
}

bool gnttab_gfn_busy(struct domain *owner, gfn_t gfn)
{
    mfn_t mfn;
    enum p2m_type type;
    if (!p2m_lookup(&owner->p2m, gfn, &mfn, &type, NULL) || type != P2M_RAM)
        return false;
    bool busy = false;
    unsigned long f = spin_lock_irqsave(&domlist_lock);
    list_for_each(pos, &domain_list) {
        struct domain *o = list_entry(pos, struct domain, list);
        struct maptrack *mt = o->grants ? __atomic_load_n(&o->grants->maptrack, __ATOMIC_ACQUIRE) : NULL;
        for (unsigned h = 0; mt && h < MAPTRACK_MAX && !busy; h++) {
            mfn_t m;
            enum p2m_type t;
            busy = __atomic_load_n(&mt[h].used, __ATOMIC_ACQUIRE) && mt[h].dom == owner->id &&
                   p2m_lookup(&o->p2m, mt[h].gfn, &m, &t, NULL) && t == P2M_FOREIGN && m == mfn;
        }
        if (busy)
            break;
    }
    spin_unlock_irqrestore(&domlist_lock, f);
    return busy;
}

static int16_t map_from(struct domain *d, struct domain *granter, struct gnttab_map_grant_ref *op);

static int16_t map_one(struct domain *d, struct gnttab_map_grant_ref *op)
{
    if (!(op->flags & GNTMAP_host_map) || (op->flags & GNTMAP_device_map))
        return GNTST_general_error;
    if (op->host_addr & (PAGE_SIZE - 1) || op->host_addr >> 48)
        return GNTST_bad_virt_addr;
    struct domain *granter = domain_get(op->dom);
    int16_t st = granter && granter->grants ? map_from(d, granter, op) : GNTST_bad_domain;
    domain_put(granter);
    return st;
}

/* granter: referenced by the caller. */
static int16_t map_from(struct domain *d, struct domain *granter, struct gnttab_map_grant_ref *op)
{
    bool ro = op->flags & GNTMAP_readonly;
    gfn_t gfn = op->host_addr >> PAGE_SHIFT;
    /* Mapping over our own page gives it back to the hypervisor: not while
     * another domain maps it through one of our grants. */
    if (gnttab_gfn_busy(d, gfn))
        return GNTST_general_error;
    struct grant_table *gt = granter->grants;
    struct maptrack *mt = maptrack_of(d);
    if (!mt)
        return GNTST_no_device_space;
    unsigned handle = claim_handle(mt);
    if (handle == MAPTRACK_MAX)
        return GNTST_no_device_space;

    spin_lock(&gt->lock);
    struct grant_entry_v1 *e = entry(gt, op->ref);
    if (!e) {
        spin_unlock(&gt->lock);
        __atomic_store_n(&mt[handle].used, false, __ATOMIC_RELEASE);
        return GNTST_bad_gntref;
    }
    /* Check and mark in one step: the granter may be revoking concurrently. */
    uint16_t flags = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
    for (;;) {
        if ((flags & GTF_type_mask) != GTF_permit_access || READ_ONCE(e->domid) != d->id ||
            (!ro && (flags & GTF_readonly))) {
            spin_unlock(&gt->lock);
            __atomic_store_n(&mt[handle].used, false, __ATOMIC_RELEASE);
            return GNTST_permission_denied;
        }
        uint16_t want = flags | GTF_reading | (ro ? 0 : GTF_writing);
        if (__atomic_compare_exchange_n(&e->flags, &flags, want, false, __ATOMIC_SEQ_CST, __ATOMIC_ACQUIRE))
            break;
    }
    gfn_t src = READ_ONCE(e->frame);
    mfn_t mfn;
    enum p2m_type type;
    if (!p2m_lookup(&granter->p2m, src, &mfn, &type, NULL) || type != P2M_RAM) {
        if (*active(gt, op->ref) == 0)
            __atomic_fetch_and(&e->flags, (uint16_t)~(GTF_reading | GTF_writing), __ATOMIC_SEQ_CST);
        spin_unlock(&gt->lock);
        __atomic_store_n(&mt[handle].used, false, __ATOMIC_RELEASE);
        return GNTST_bad_page;
    }
    (*active(gt, op->ref))++;
    spin_unlock(&gt->lock);

    /* Recorded before the mapping exists, so that a granter dying from now
     * on finds it (revoke_foreign_mappings); checked again after. */
    mt[handle].readonly = ro;
    mt[handle].dom = op->dom;
    mt[handle].ref = op->ref;
    mt[handle].gfn = gfn;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    /* The mapper's page-table budget (memory_op.c) is used up. */
    bool room = p2m_room(d, gfn);
    if (!room || p2m_map(&d->p2m, gfn, mfn, P2M_FOREIGN, ro ? P2M_R : P2M_R | P2M_W)) {
        __atomic_store_n(&mt[handle].used, false, __ATOMIC_RELEASE);
        release_ref(granter, op->ref);
        return room ? GNTST_general_error : GNTST_no_device_space;
    }
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (READ_ONCE(granter->state) == DOMAIN_DYING) {
        if (__atomic_exchange_n(&mt[handle].used, false, __ATOMIC_ACQ_REL))
            p2m_unmap(&d->p2m, gfn);
        return GNTST_bad_domain;
    }
    op->handle = handle;
    op->dev_bus_addr = 0;
    return GNTST_okay;
}

static int16_t unmap_one(struct domain *d, struct gnttab_unmap_grant_ref *op)
{
    struct maptrack *mt = __atomic_load_n(&d->grants->maptrack, __ATOMIC_ACQUIRE);
    if (!mt || op->handle >= MAPTRACK_MAX || !__atomic_load_n(&mt[op->handle].used, __ATOMIC_ACQUIRE))
        return GNTST_bad_handle;
    struct maptrack m = mt[op->handle];
    if (op->host_addr && op->host_addr >> PAGE_SHIFT != m.gfn)
        return GNTST_bad_virt_addr;
    /* Released once, by whoever clears it (another vCPU or a dying granter). */
    if (!__atomic_exchange_n(&mt[op->handle].used, false, __ATOMIC_ACQ_REL))
        return GNTST_bad_handle;
    p2m_unmap(&d->p2m, m.gfn);
    struct domain *granter = domain_get(m.dom);
    if (granter && granter->grants)
        release_ref(granter, m.ref);
    domain_put(granter);
    return GNTST_okay;
}

/* Remove every mapping other domains hold of d's pages (d is dying). */
static void revoke_foreign_mappings(struct domain *d)
{
    unsigned long f = spin_lock_irqsave(&domlist_lock);
    list_for_each(pos, &domain_list) {
        struct domain *o = list_entry(pos, struct domain, list);
        struct maptrack *mt = o->grants ? o->grants->maptrack : NULL;
        for (unsigned h = 0; mt && h < MAPTRACK_MAX; h++) {
            if (mt[h].used && mt[h].dom == d->id && __atomic_exchange_n(&mt[h].used, false, __ATOMIC_ACQ_REL))
                p2m_unmap(&o->p2m, mt[h].gfn);
        }
    }
    spin_unlock_irqrestore(&domlist_lock, f);
}

void gnttab_teardown(struct domain *d)
{
    struct grant_table *gt = d->grants;
    if (!gt)
        return;
    revoke_foreign_mappings(d);
    /* Our own mappings of others' grants end too. */
    for (unsigned h = 0; gt->maptrack && h < MAPTRACK_MAX; h++) {
        if (!gt->maptrack[h].used)
            continue;
        struct domain *granter = domain_by_id(gt->maptrack[h].dom);
        if (granter && granter->grants && granter != d)
            release_ref(granter, gt->maptrack[h].ref);
        gt->maptrack[h].used = false;
    }
    for (unsigned i = 0; i < gt->nr_frames; i++) {
        frame_free(gt->frame[i], 0);
        kfree(gt->active[i]);
        d->xen_pages--;
    }
    kfree(gt->maptrack);
    kfree(gt);
    d->grants = NULL;
}

static long op_setup_table(struct vcpu *v, abi_gva_t uop, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        struct gnttab_setup_table s;
        struct compat_gnttab_setup_table cs;
        bool compat = guest_compat(v);
        abi_gva_t at = uop + i * (compat ? sizeof(cs) : sizeof(s));
        if (compat) {
            if (copy_from_guest(v, &cs, at, sizeof(cs)))
                return -EFAULT;
            s.dom = cs.dom;
            s.nr_frames = cs.nr_frames;
            s.frame_list = cs.frame_list;
        } else if (copy_from_guest(v, &s, at, sizeof(s))) {
            return -EFAULT;
        }
        struct domain *d = domain_get(s.dom == DOMID_SELF ? v->domain->id : s.dom);
        s.status = GNTST_okay;
        if (!d)
            s.status = GNTST_bad_domain;
        else if (d != v->domain && !v->domain->is_control)
            s.status = GNTST_permission_denied;
        else if (s.nr_frames > GNTTAB_MAX_FRAMES)
            s.status = GNTST_general_error;
        if (s.status == GNTST_okay) {
            spin_lock(&d->grants->lock);
            int rc = grow(d, s.nr_frames);
            spin_unlock(&d->grants->lock);
            if (rc)
                s.status = GNTST_general_error;
        }
        /* Auto-translated guests learn where each frame is mapped. */
        for (uint32_t f = 0; s.status == GNTST_okay && f < s.nr_frames; f++) {
            uint64_t g = d->grants->frame_gfn[f];
            if (copy_to_guest(v, s.frame_list + f * (compat ? 4 : 8), &g, compat ? 4 : 8)) {
                domain_put(d);
                return -EFAULT;
            }
        }
        domain_put(d);
        if (compat) {
            cs.status = s.status;
            if (copy_to_guest(v, at, &cs, sizeof(cs)))
                return -EFAULT;
        } else if (copy_to_guest(v, at, &s, sizeof(s))) {
            return -EFAULT;
        }
    }
    return 0;
}

long do_grant_table_op(struct vcpu *v, uint32_t cmd, abi_gva_t uop, uint32_t count)
{
    struct domain *d = v->domain;
    if (count > MAX_BATCH)
        return -EINVAL;
    switch (cmd) {
    case GNTTABOP_map_grant_ref:
        for (uint32_t i = 0; i < count; i++) {
            struct gnttab_map_grant_ref op;
            abi_gva_t at = uop + i * sizeof(op);
            if (copy_from_guest(v, &op, at, sizeof(op)))
                return -EFAULT;
            op.status = map_one(d, &op);
            if (copy_to_guest(v, at, &op, sizeof(op)))
                return -EFAULT;
        }
        return 0;
    case GNTTABOP_unmap_grant_ref:
        for (uint32_t i = 0; i < count; i++) {
            struct gnttab_unmap_grant_ref op;
            abi_gva_t at = uop + i * sizeof(op);
            if (copy_from_guest(v, &op, at, sizeof(op)))
                return -EFAULT;
            op.status = unmap_one(d, &op);
            if (copy_to_guest(v, at, &op, sizeof(op)))
                return -EFAULT;
        }
        return 0;
    case GNTTABOP_setup_table:
        return op_setup_table(v, uop, count);
    case GNTTABOP_query_size:
        for (uint32_t i = 0; i < count; i++) {
            struct gnttab_query_size q;
            abi_gva_t at = uop + i * sizeof(q);
            if (copy_from_guest(v, &q, at, sizeof(q)))
                return -EFAULT;
            struct domain *t = domain_get(q.dom == DOMID_SELF ? d->id : q.dom);
            q.status = !t ? GNTST_bad_domain : (t != d && !d->is_control) ? GNTST_permission_denied : GNTST_okay;
            q.nr_frames = q.status == GNTST_okay ? t->grants->nr_frames : 0;
            domain_put(t);
            q.max_nr_frames = GNTTAB_MAX_FRAMES;
            if (copy_to_guest(v, at, &q, sizeof(q)))
                return -EFAULT;
        }
        return 0;
    default:
        return -ENOSYS;
    }
}
