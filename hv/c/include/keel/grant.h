/* Grant tables (v1): a domain grants another access to one of its pages by
 * filling an entry in its table; the other maps it with GNTTABOP_map. */
#ifndef KEEL_GRANT_H
#define KEEL_GRANT_H

#include <abi.h>
#include <keel/spinlock.h>
#include <keel/types.h>

struct domain;

#define GRANT_ENTRIES_PER_FRAME (4096 / sizeof(struct grant_entry_v1))
#define MAPTRACK_MAX 1024

struct maptrack {
    bool used;
    bool readonly;
    uint16_t dom;  /* granter */
    uint32_t ref;
    gfn_t gfn;     /* where the mapper has it */
};

struct grant_table {
    spinlock_t lock;
    unsigned nr_frames;
    paddr_t frame[GNTTAB_MAX_FRAMES];
    gfn_t frame_gfn[GNTTAB_MAX_FRAMES];      /* ~0 if not mapped in the guest */
    uint16_t *active[GNTTAB_MAX_FRAMES];     /* mappings per entry, for GTF_reading/writing */
    struct maptrack *maptrack;               /* this domain's own mappings of others' grants */
};

int gnttab_init(struct domain *d);
void gnttab_teardown(struct domain *d);
/* XENMEM_add_to_physmap(XENMAPSPACE_grant_table). */
int gnttab_map_frame(struct domain *d, unsigned long idx, gfn_t gfn);

#endif
