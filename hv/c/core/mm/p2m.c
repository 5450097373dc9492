/*
 * Guest physical memory maps.  Four levels of 512 entries (EPT and NPT
 * alike); the backend encodes entries (hvm->p2m_*), this file owns the
 * structure.  Each leaf records in software bits 52-53 whether the frame is
 * the domain's own RAM (freed with it), a foreign frame or a hypervisor
 * page, so teardown returns exactly what the domain owned.
 */
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/p2m.h>
#include <keel/panic.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>
#include <asm/page.h>

#define TYPE_SHIFT 52
#define TYPE_MASK (3ULL << TYPE_SHIFT)
#define ADDR_MASK 0x000FFFFFFFFFF000ULL
#define LEVELS 4

static uint64_t *table_of(uint64_t e)
{
    return phys_to_virt(e & ADDR_MASK);
}

static unsigned index_of(gfn_t gfn, unsigned level)
{
    return (unsigned)((gfn >> (9 * level)) & 511);
}

int p2m_init(struct p2m *p, struct domain *d)
{
    memset(p, 0, sizeof(*p));
    p->domain = d;
    p->root = frame_alloc(0, FRAME_ZERO);
    if (!p->root)
        return -ENOMEM;
    p->table_pages = 1;
    return 0;
}

static void free_leaf(struct p2m *p, uint64_t e, unsigned level)
{
    if (((e & TYPE_MASK) >> TYPE_SHIFT) != P2M_RAM)
        return;
    frame_free(e & ADDR_MASK & ~((1ULL << (PAGE_SHIFT + 9 * level)) - 1), 9 * level);
    p->pages -= 1ULL << (9 * level);
}

static void teardown(struct p2m *p, uint64_t *t, unsigned level)
{
    for (unsigned i = 0; i < 512; i++) {
        uint64_t e = t[i];
        if (!hvm->p2m_present(e))
            continue;
        if (hvm->p2m_is_leaf(e, level)) {
            free_leaf(p, e, level);
        } else {
            teardown(p, table_of(e), level - 1);
            frame_free(e & ADDR_MASK, 0);
            p->table_pages--;
        }
    }
}

void p2m_teardown(struct p2m *p)
{
    if (!p->root)
        return;
    teardown(p, phys_to_virt(p->root), LEVELS - 1);
    frame_free(p->root, 0);
    p->table_pages--;
    p->root = 0;
    BUG_ON(p->pages || p->table_pages);
}

/* Replace a 2 MiB leaf by a table of 512 4 KiB leaves for the same frames
 * (RAM frames become single allocations so they can be freed one by one). */
static bool split_large(struct p2m *p, uint64_t *e)
{
    paddr_t nt = frame_alloc(0, FRAME_ZERO);
    if (!nt)
        return false;
    p->table_pages++;
    uint64_t old = *e;
    enum p2m_type type = (enum p2m_type)((old & TYPE_MASK) >> TYPE_SHIFT);
    unsigned perms = hvm->p2m_perms(old);
    paddr_t base = old & ADDR_MASK & ~(MiB(2) - 1);
    if (type == P2M_RAM)
        frame_split(base, 9);
    uint64_t *t = phys_to_virt(nt);
    for (unsigned i = 0; i < 512; i++)
        t[i] = hvm->p2m_leaf((base >> PAGE_SHIFT) + i, perms, 0) | ((uint64_t)type << TYPE_SHIFT);
    *e = hvm->p2m_table(nt);
    return true;
}

/* The table at `level` covering gfn, allocating intermediate tables. */
static uint64_t *walk(struct p2m *p, gfn_t gfn, unsigned level, bool alloc)
{
    uint64_t *t = phys_to_virt(p->root);
    for (unsigned l = LEVELS - 1; l > level; l--) {
        uint64_t *e = &t[index_of(gfn, l)];
        if (!hvm->p2m_present(*e)) {
            if (!alloc)
                return NULL;
            paddr_t nt = frame_alloc(0, FRAME_ZERO);
            if (!nt)
                return NULL;
            p->table_pages++;
            *e = hvm->p2m_table(nt);
        } else if (hvm->p2m_is_leaf(*e, l)) {
            if (!alloc || l != 1 || !split_large(p, e))
                return NULL; /* covered by a large page */
        }
        t = table_of(*e);
    }
    return t;
}

static void set_leaf(struct p2m *p, gfn_t gfn, mfn_t mfn, enum p2m_type type, unsigned perms, unsigned level)
{
    uint64_t *t = walk(p, gfn, level, true);
    BUG_ON(!t);
    t[index_of(gfn, level)] = hvm->p2m_leaf(mfn, perms, level) | ((uint64_t)type << TYPE_SHIFT);
    uint64_t end = gfn + (1ULL << (9 * level));
    if (end > p->max_gfn)
        p->max_gfn = end;
}

bool p2m_lookup(struct p2m *p, gfn_t gfn, mfn_t *mfn, enum p2m_type *type, unsigned *perms)
{
    if (!p->root || gfn >> 36)
        return false;
    uint64_t *t = phys_to_virt(p->root);
    for (int l = LEVELS - 1; l >= 0; l--) {
        uint64_t e = t[index_of(gfn, (unsigned)l)];
        if (!hvm->p2m_present(e))
            return false;
        if (hvm->p2m_is_leaf(e, (unsigned)l)) {
            if (mfn)
                *mfn = ((e & ADDR_MASK) >> PAGE_SHIFT) + (gfn & ((1ULL << (9 * l)) - 1));
            if (type)
                *type = (enum p2m_type)((e & TYPE_MASK) >> TYPE_SHIFT);
            if (perms)
                *perms = hvm->p2m_perms(e);
            return true;
        }
        t = table_of(e);
    }
    return false;
}

static void unpopulate(struct p2m *p, gfn_t gfn, uint64_t count)
{
    for (gfn_t g = gfn; g < gfn + count;) {
        mfn_t mfn;
        enum p2m_type type;
        uint64_t *t = walk(p, g, 1, false);
        if (t && hvm->p2m_is_leaf(t[index_of(g, 1)], 1) && hvm->p2m_present(t[index_of(g, 1)])) {
            free_leaf(p, t[index_of(g, 1)], 1);
            t[index_of(g, 1)] = 0;
            g += 512;
            continue;
        }
        if (p2m_lookup(p, g, &mfn, &type, NULL)) {
            t = walk(p, g, 0, false);
            free_leaf(p, t[index_of(g, 0)], 0);
            t[index_of(g, 0)] = 0;
        }
        g++;
    }
}

int p2m_populate(struct p2m *p, gfn_t gfn, uint64_t count)
{
    unsigned long f = spin_lock_irqsave(&p->lock);
    gfn_t g = gfn, end = gfn + count;
    while (g < end) {
        if (IS_ALIGNED(g, 512) && end - g >= 512) {
            paddr_t big = frame_alloc(9, FRAME_ZERO);
            if (big) {
                set_leaf(p, g, big >> PAGE_SHIFT, P2M_RAM, P2M_RWX, 1);
                p->pages += 512;
                g += 512;
                continue;
            }
        }
        paddr_t pa = frame_alloc(0, FRAME_ZERO);
        if (!pa || !walk(p, g, 0, true)) {
            if (pa)
                frame_free(pa, 0);
            unpopulate(p, gfn, g - gfn);
            spin_unlock_irqrestore(&p->lock, f);
            return -ENOMEM;
        }
        set_leaf(p, g, pa >> PAGE_SHIFT, P2M_RAM, P2M_RWX, 0);
        p->pages++;
        g++;
    }
    spin_unlock_irqrestore(&p->lock, f);
    return 0;
}

static void flush(struct p2m *p)
{
    __atomic_fetch_add(&p->tlb_gen, 1, __ATOMIC_RELEASE);
    struct domain *d = p->domain;
    for (unsigned i = 0; d && i < d->max_vcpus; i++)
        if (d->vcpu[i])
            vcpu_kick(d->vcpu[i]); /* re-entry checks tlb_gen and flushes */
}

int p2m_map(struct p2m *p, gfn_t gfn, mfn_t mfn, enum p2m_type type, unsigned perms)
{
    if (gfn >> 36)
        return -EINVAL;
    unsigned long f = spin_lock_irqsave(&p->lock);
    uint64_t *t = walk(p, gfn, 0, true);
    if (!t) {
        spin_unlock_irqrestore(&p->lock, f);
        return -ENOMEM;
    }
    uint64_t old = t[index_of(gfn, 0)];
    bool had = hvm->p2m_present(old);
    if (had && ((old & TYPE_MASK) >> TYPE_SHIFT) == P2M_RAM && p->domain &&
        domain_ram_pinned(p->domain, (old & ADDR_MASK) >> PAGE_SHIFT)) {
        spin_unlock_irqrestore(&p->lock, f);
        return -EBUSY; /* the hypervisor keeps a pointer into that frame */
    }
    if (had)
        free_leaf(p, old, 0);
    set_leaf(p, gfn, mfn, type, perms, 0);
    if (type == P2M_RAM)
        p->pages++;
    spin_unlock_irqrestore(&p->lock, f);
    if (had)
        flush(p);
    return 0;
}

int p2m_unmap(struct p2m *p, gfn_t gfn)
{
    unsigned long f = spin_lock_irqsave(&p->lock);
    uint64_t *t = p2m_lookup(p, gfn, NULL, NULL, NULL) ? walk(p, gfn, 0, true) : NULL;
    if (!t || !hvm->p2m_present(t[index_of(gfn, 0)])) {
        spin_unlock_irqrestore(&p->lock, f);
        return -ENOENT;
    }
    free_leaf(p, t[index_of(gfn, 0)], 0);
    t[index_of(gfn, 0)] = 0;
    spin_unlock_irqrestore(&p->lock, f);
    flush(p);
    return 0;
}
