/*
 * grant_table_op, success paths within one domain (a domain may grant a
 * page to itself; tests/grant.c does it between two domains):
 *  - add_to_physmap of grant frames, setup_table (reports where they are
 *    mapped), query_size;
 *  - map_grant_ref of a page we granted to ourselves at a frame with no RAM
 *    behind it: both addresses show the same memory, both ways; the
 *    entry says GTF_reading|GTF_writing while mapped; unmap clears them;
 *  - a read-only grant maps read-only; a batch of two maps reports each
 *    status; the handle is gone after unmap.
 */
#include "keel_test.h"

static uint8_t page_rw[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t page_ro[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static uint32_t gfn_of(const void *p)
{
    return (uint32_t)((uintptr_t)p / PAGE_SIZE);
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    uint16_t me = hypervisor.domid;
    long rc = gnttab_init(2);
    if (!report(rc == 0, "grant frames 0 and 1 mapped (add_to_physmap): %ld", rc))
        return;

    unsigned long frames[4] = { 0, 0, 0, 0 };
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 2 };
    st.frame_list = frames;
    rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
    report(rc == 0 && st.status == GNTST_okay && frames[0] == gfn_of(grant_table) &&
               frames[1] == gfn_of((uint8_t *)grant_table + PAGE_SIZE) && frames[2] == 0,
           "setup_table(2): %ld, status %d, frames at gfn %#lx %#lx", rc, st.status, frames[0], frames[1]);

    struct gnttab_query_size q = { .dom = DOMID_SELF };
    rc = HYPERVISOR_grant_table_op(GNTTABOP_query_size, &q, 1);
    report(rc == 0 && q.status == GNTST_okay && q.nr_frames == 2 && q.max_nr_frames == GNTTAB_MAX_FRAMES,
           "query_size: %ld, %u of %u frames", rc, q.nr_frames, q.max_nr_frames);

    /* Grant two pages to ourselves. */
    for (unsigned i = 0; i < PAGE_SIZE; i++) {
        page_rw[i] = (uint8_t)(i * 7);
        page_ro[i] = (uint8_t)(i * 13);
    }
    gnttab_grant(10, me, gfn_of(page_rw), false);
    gnttab_grant(700, me, gfn_of(page_ro), true); /* in the second frame */

    volatile uint8_t *m1 = alloc_unpopulated(PAGE_SIZE);
    volatile uint8_t *m2 = alloc_unpopulated(PAGE_SIZE);
    uint32_t h1, h2;
    int16_t s1, s2;
    rc = gnttab_map(me, 10, (uintptr_t)m1, GNTMAP_host_map, &h1, &s1);
    bool same = rc == 0 && s1 == GNTST_okay;
    for (unsigned i = 0; same && i < PAGE_SIZE; i++)
        same = m1[i] == (uint8_t)(i * 7);
    report(same, "map_grant_ref(ref 10) at %p: %ld, status %d, same contents", (void *)m1, rc, s1);
    if (same) {
        m1[100] = 0xEE;
        page_rw[200] = 0xDD;
        report(page_rw[100] == 0xEE && m1[200] == 0xDD, "writes show through both ways");
        uint16_t f = grant_table[10].flags;
        report((f & (GTF_reading | GTF_writing)) == (GTF_reading | GTF_writing) && (f & GTF_permit_access),
               "entry flags while mapped: %#x (reading, writing)", f);
        report(!gnttab_revoke(10), "a mapped grant cannot be revoked");
    }

    rc = gnttab_map(me, 700, (uintptr_t)m2, GNTMAP_host_map | GNTMAP_readonly, &h2, &s2);
    bool ro = rc == 0 && s2 == GNTST_okay && m2[5] == (uint8_t)(5 * 13);
    uint16_t f = grant_table[700].flags;
    report(ro && (f & GTF_reading) && !(f & GTF_writing), "read-only map of ref 700: %ld, status %d, flags %#x", rc, s2,
           f);

    int16_t u1, u2;
    rc = gnttab_unmap(h1, (uintptr_t)m1, &u1);
    long rc2 = gnttab_unmap(h2, 0, &u2); /* host_addr 0: by handle only */
    report(rc == 0 && rc2 == 0 && u1 == GNTST_okay && u2 == GNTST_okay, "unmap both: %d %d", u1, u2);
    report(!(grant_table[10].flags & (GTF_reading | GTF_writing)) && !(grant_table[700].flags & GTF_reading),
           "entry flags cleared after unmap: %#x %#x", grant_table[10].flags, grant_table[700].flags);
    rc = gnttab_unmap(h1, 0, &u1);
    report(rc == 0 && u1 == GNTST_bad_handle, "unmapping the same handle again: status %d (bad handle)", u1);

    /* A batch: the second op names an entry nobody granted. */
    struct gnttab_map_grant_ref ops[2] = {
        { .host_addr = (uintptr_t)m1, .flags = GNTMAP_host_map, .ref = 10, .dom = me },
        { .host_addr = (uintptr_t)m2, .flags = GNTMAP_host_map, .ref = 11, .dom = me },
    };
    rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, ops, 2);
    report(rc == 0 && ops[0].status == GNTST_okay && ops[1].status == GNTST_permission_denied,
           "batch of two maps: %ld, statuses %d %d", rc, ops[0].status, ops[1].status);
    struct gnttab_unmap_grant_ref un = { .host_addr = (uintptr_t)m1, .handle = ops[0].handle };
    rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &un, 1);
    report(rc == 0 && un.status == GNTST_okay, "unmap: %ld, status %d", rc, un.status);

    report(gnttab_revoke(10) && gnttab_revoke(700) && grant_table[10].flags == 0, "both grants revoked");
}
