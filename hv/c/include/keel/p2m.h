/*
 * A domain's guest-physical memory map (p2m): guest frame -> host frame,
 * kept in the second-level page tables the CPU walks (EPT or NPT).  The
 * entry format is the backend's (asm/p2m_format.h); the structure, the
 * allocation of guest memory and the accounting are common.
 */
#ifndef KEEL_P2M_H
#define KEEL_P2M_H

#include <keel/spinlock.h>
#include <keel/types.h>

struct domain;

enum p2m_type {
    P2M_RAM = 0,      /* owned by the domain, freed with it */
    P2M_FOREIGN = 1,  /* another domain's frame (grant mapping), not freed */
    P2M_XEN = 2,      /* a hypervisor page shared with the guest (shared info) */
};

#define P2M_R (1u << 0)
#define P2M_W (1u << 1)
#define P2M_X (1u << 2)
#define P2M_RWX (P2M_R | P2M_W | P2M_X)

struct p2m {
    struct domain *domain;
    spinlock_t lock;
    paddr_t root;            /* top-level table (EPT PML4 / NPT PML4) */
    uint64_t pages;          /* guest RAM pages owned (P2M_RAM) */
    uint64_t table_pages;    /* page-table pages */
    uint64_t max_gfn;        /* highest mapped guest frame + 1 */
    volatile uint64_t tlb_gen;  /* bumped when a mapping is removed or downgraded */
};

int p2m_init(struct p2m *p, struct domain *d);
/* Free every table and every P2M_RAM frame. */
void p2m_teardown(struct p2m *p);

/* Back [gfn, gfn + count) with newly allocated zeroed frames, using 2 MiB
 * mappings where the range and the allocator allow.  On failure nothing of
 * this call stays allocated. */
int p2m_populate(struct p2m *p, gfn_t gfn, uint64_t count);
/* Map one host frame at gfn (replacing what is there; a replaced P2M_RAM
 * frame is freed). */
int p2m_map(struct p2m *p, gfn_t gfn, mfn_t mfn, enum p2m_type type, unsigned perms);
int p2m_unmap(struct p2m *p, gfn_t gfn);
/* Translate; false if gfn is not mapped.  type/perms optional. */
bool p2m_lookup(struct p2m *p, gfn_t gfn, mfn_t *mfn, enum p2m_type *type, unsigned *perms);

#endif
