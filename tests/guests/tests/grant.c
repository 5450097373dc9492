/*
 * A grant between two domains.  role=share (the granter) and role=map (the
 * mapper) run as two domains of one test; each is told the other's id with
 * peer= (see "Two domains finding each other" in rt/evtchn.h: the granter
 * offers an event channel, the mapper connects).  They then go in lock
 * step, one event each way per step (each side waits for the other's n-th
 * event, so no two notifications can merge):
 *
 *  1. share: grants ref 8 (page P, writable), ref 9 (page Q, read-only),
 *     ref 10 (P, but to another domain), ref 11 (granted, then revoked).
 *  2. map: maps ref 8 and checks P's pattern, writes its own into P's
 *     second half; a writable map of ref 9 is refused
 *     (GNTST_permission_denied), a read-only one works and shows Q; refs
 *     10 and 11 are refused; an unknown domain gives GNTST_bad_domain.
 *  3. share: sees the mapper's writes in P; GTF_reading|GTF_writing on
 *     ref 8, GTF_reading alone on ref 9; revoking a mapped grant fails.
 *  4. map: unmaps both.
 *  5. share: the flags are clear; revokes refs 8 and 9; grants ref 12
 *     (page H).
 *  6. map: refs 8 and 9 are refused now; maps ref 12 and fills it.
 *  7. share: tries to put shared info and a grant frame over H, whose frame
 *     the mapper still maps: refused, or if accepted the frame must stay the
 *     mapper's (checked in 8 after allocating many p2m tables).
 *  8. map: H's contents are intact; unmaps it.
 *  9. share: revokes ref 12 (possible again once unmapped).
 */
#include "keel_test.h"

#define VECTOR 0xF0
#define MS 1000000ULL
#define WAIT (20000 * MS)
#define PATTERN_P(i) ((uint8_t)((i) * 3 + 1))
#define PATTERN_Q(i) ((uint8_t)((i) * 5 + 2))
#define PATTERN_B(i) ((uint8_t)((i) ^ 0x5A))
#define PATTERN_H 0xC3

static volatile unsigned events;
static uint32_t port;
static uint16_t peer;

static void on_event(uint32_t p, void *arg)
{
    (void)p;
    (void)arg;
    events++;
}

static bool reached(void *want)
{
    return events >= (unsigned)(uintptr_t)want;
}

/* Wait for the peer's n-th event; fatal if it never comes. */
static void wait_step(unsigned n)
{
    if (!evtchn_wait(reached, (void *)(uintptr_t)n, WAIT))
        test_error("no event %u from domain %u", n, peer);
}

static void signal(void)
{
    long rc = evtchn_send(port);
    if (rc)
        test_error("send: %ld", rc);
}

static uint32_t gfn_of(const void *p)
{
    return (uint32_t)((uintptr_t)p / PAGE_SIZE);
}

/* --- The granter ---------------------------------------------------------- */

static uint8_t page_p[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t page_q[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t page_h[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static void share(void)
{
    long rc = gnttab_init(1);
    if (!report(rc == 0, "grant table mapped: %ld", rc))
        return;
    for (unsigned i = 0; i < PAGE_SIZE; i++) {
        page_p[i] = PATTERN_P(i);
        page_q[i] = PATTERN_Q(i);
    }
    gnttab_grant(8, peer, gfn_of(page_p), false);
    gnttab_grant(9, peer, gfn_of(page_q), true);
    gnttab_grant(10, (uint16_t)(peer + 100), gfn_of(page_p), false);
    gnttab_grant(11, peer, gfn_of(page_p), false);
    report(gnttab_revoke(11), "ref 11 granted and revoked before use");

    cli(); /* the mapper's first event must find the handler */
    rc = evtchn_offer(peer, &port, WAIT);
    if (!report(rc == 0, "offered port %u to domain %u: %ld", port, peer, rc))
        return;
    evtchn_bind_handler(port, on_event, NULL);
    sti();
    wait_step(1); /* the mapper is connected */
    signal();     /* 1: grants ready */

    wait_step(2);
    bool seen = true;
    for (unsigned i = PAGE_SIZE / 2; i < PAGE_SIZE; i++)
        seen &= page_p[i] == PATTERN_B(i);
    bool kept = true;
    for (unsigned i = 0; i < PAGE_SIZE / 2; i++)
        kept &= page_p[i] == PATTERN_P(i);
    report(seen && kept, "the mapper's writes show in our page, the rest is ours");
    uint16_t f8 = grant_table[8].flags, f9 = grant_table[9].flags;
    report((f8 & (GTF_reading | GTF_writing)) == (GTF_reading | GTF_writing), "ref 8 in use: flags %#x", f8);
    report((f9 & GTF_reading) && !(f9 & GTF_writing), "ref 9 in use read-only: flags %#x", f9);
    report(!gnttab_revoke(8) && !gnttab_revoke(9), "mapped grants cannot be revoked");
    signal(); /* 2: checked */

    wait_step(3);
    f8 = grant_table[8].flags;
    f9 = grant_table[9].flags;
    report(!(f8 & (GTF_reading | GTF_writing)) && !(f9 & GTF_reading), "after the unmaps: flags %#x %#x", f8, f9);
    report(gnttab_revoke(8) && gnttab_revoke(9), "refs 8 and 9 revoked");
    memset(page_h, 0x11, sizeof(page_h));
    gnttab_grant(12, peer, gfn_of(page_h), false);
    signal(); /* 3: revoked, ref 12 granted */

    wait_step(4);
    /* The mapper holds H's frame.  Putting something else at H would give
     * the frame back to the hypervisor while the mapper still maps it. */
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 0, .gpfn = gfn_of(page_h)
    };
    long rc_si = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    printf("share: add_to_physmap(shared_info) over the mapped page: %ld\n", rc_si);
    if (rc_si == 0) {
        /* Accepted: make the hypervisor allocate (p2m tables for far
         * frames) so that a freed frame would be reused, then move shared
         * info back. */
        for (unsigned i = 0; i < 256; i++) {
            xatp.gpfn = 0x100000 + (uint64_t)i * 0x40000; /* 1 GiB apart from 4 GiB up */
            HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
        }
        xatp.gpfn = gfn_of(shared_info);
        rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
        check(rc == 0, "shared info back in place: %ld", rc);
    }
    xatp.space = XENMAPSPACE_grant_table;
    xatp.idx = 1;
    xatp.gpfn = gfn_of(page_h);
    long rc_gt = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    printf("share: add_to_physmap(grant frame 1) over the mapped page: %ld\n", rc_gt);
    report((rc_si == -EBUSY || rc_si == 0) && (rc_gt == -EBUSY || rc_gt == 0),
           "putting shared info / a grant frame over a page another domain maps: %ld / %ld", rc_si, rc_gt);
    signal(); /* 4: remapping tried */

    wait_step(5); /* the mapper has checked H and unmapped it */
    report(gnttab_revoke(12), "ref 12 revoked");
    signal(); /* 5: done */
}

/* --- The mapper ----------------------------------------------------------- */

static void map(void)
{
    cli(); /* the bind makes our port pending: not a step */
    long rc = evtchn_connect(peer, &port, &(uint32_t){ 0 }, WAIT);
    if (!report(rc == 0, "connected to domain %u: local port %u, %ld", peer, port, rc))
        return;
    evtchn_clear(port);
    evtchn_bind_handler(port, on_event, NULL);
    sti();
    signal(); /* 1: connected */

    wait_step(1);
    volatile uint8_t *m1 = alloc_unpopulated(PAGE_SIZE);
    volatile uint8_t *m2 = alloc_unpopulated(PAGE_SIZE);
    volatile uint8_t *m3 = alloc_unpopulated(PAGE_SIZE);
    uint32_t h1, h2, h;
    int16_t s;
    rc = gnttab_map(peer, 8, (uintptr_t)m1, GNTMAP_host_map, &h1, &s);
    bool same = rc == 0 && s == GNTST_okay;
    for (unsigned i = 0; same && i < PAGE_SIZE; i++)
        same = m1[i] == PATTERN_P(i);
    report(same, "map ref 8 writable: %ld, status %d, the granter's contents", rc, s);
    if (same)
        for (unsigned i = PAGE_SIZE / 2; i < PAGE_SIZE; i++)
            m1[i] = PATTERN_B(i);

    rc = gnttab_map(peer, 9, (uintptr_t)m2, GNTMAP_host_map, &h, &s);
    report(rc == 0 && s == GNTST_permission_denied, "writable map of read-only ref 9: status %d (permission denied)",
           s);
    rc = gnttab_map(peer, 9, (uintptr_t)m2, GNTMAP_host_map | GNTMAP_readonly, &h2, &s);
    same = rc == 0 && s == GNTST_okay;
    for (unsigned i = 0; same && i < PAGE_SIZE; i++)
        same = m2[i] == PATTERN_Q(i);
    report(same, "read-only map of ref 9: %ld, status %d, the granter's contents", rc, s);
    rc = gnttab_map(peer, 10, (uintptr_t)m3, GNTMAP_host_map, &h, &s);
    report(rc == 0 && s == GNTST_permission_denied, "ref 10 (granted to another domain): status %d", s);
    rc = gnttab_map(peer, 11, (uintptr_t)m3, GNTMAP_host_map, &h, &s);
    report(rc == 0 && s == GNTST_permission_denied, "ref 11 (revoked): status %d", s);
    rc = gnttab_map(peer, 100000, (uintptr_t)m3, GNTMAP_host_map, &h, &s);
    report(rc == 0 && s == GNTST_bad_gntref, "ref 100000 (beyond the table): status %d", s);
    rc = gnttab_map((uint16_t)(peer + 200), 8, (uintptr_t)m3, GNTMAP_host_map, &h, &s);
    report(rc == 0 && s == GNTST_bad_domain, "a domain that does not exist: status %d", s);
    signal(); /* 2: mapped */

    wait_step(2);
    int16_t u1, u2;
    long r1 = gnttab_unmap(h1, (uintptr_t)m1, &u1);
    long r2 = gnttab_unmap(h2, (uintptr_t)m2, &u2);
    report(r1 == 0 && r2 == 0 && u1 == GNTST_okay && u2 == GNTST_okay, "unmapped refs 8 and 9: %d %d", u1, u2);
    signal(); /* 3: unmapped */

    wait_step(3);
    rc = gnttab_map(peer, 8, (uintptr_t)m1, GNTMAP_host_map, &h, &s);
    report(rc == 0 && s == GNTST_permission_denied, "ref 8 after its revocation: status %d (permission denied)", s);
    rc = gnttab_map(peer, 9, (uintptr_t)m2, GNTMAP_host_map | GNTMAP_readonly, &h, &s);
    report(rc == 0 && s == GNTST_permission_denied, "ref 9 after its revocation: status %d", s);
    uint32_t h3;
    rc = gnttab_map(peer, 12, (uintptr_t)m3, GNTMAP_host_map, &h3, &s);
    bool mapped = rc == 0 && s == GNTST_okay && m3[0] == 0x11;
    report(mapped, "map ref 12: %ld, status %d", rc, s);
    if (mapped)
        for (unsigned i = 0; i < PAGE_SIZE; i++)
            m3[i] = PATTERN_H;
    signal(); /* 4: ref 12 mapped and filled */

    wait_step(4);
    if (mapped) {
        unsigned bad = 0;
        for (unsigned i = 0; i < PAGE_SIZE; i++)
            bad += m3[i] != PATTERN_H;
        report(bad == 0, "ref 12's frame is still ours alone after the granter remapped its page (%u bytes changed)",
               bad);
        rc = gnttab_unmap(h3, (uintptr_t)m3, &u1);
        report(rc == 0 && u1 == GNTST_okay, "unmapped ref 12: %d", u1);
    }
    signal(); /* 5: checked */
    wait_step(5);
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    char role[16] = "";
    cmdline_str("role", role, sizeof(role));
    bool sharer = !strcmp(role, "share");
    if (!sharer && strcmp(role, "map"))
        test_error("role=share or role=map");
    peer = cmdline_peer("peer", sharer ? 1 : -1);
    if (peer == DOMID_INVALID)
        test_error("no peer domain id");
    printf("grant: %s, domain %u, peer %u\n", role, hypervisor.domid, peer);
    long rc = evtchn_init(VECTOR);
    if (!report(rc == 0, "evtchn_init: %ld", rc))
        return;
    sti();
    if (sharer)
        share();
    else
        map();
}
