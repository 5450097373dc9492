/*
 * The fuzz domain's neighbour (fuzz.c): it keeps doing a small unit of
 * work and counts how many it completes, while the domain peer= (default
 * -1) lives and for after_units= (default 300) units after it is gone:
 *  - a hypercall with a known answer (xen_version);
 *  - an event to itself through an IPI port, taken by its upcall within
 *    2 s;
 *  - pvclock time that never goes backwards;
 *  - a page of its own granted to itself, mapped, compared and unmapped.
 * It notices the peer is gone when alloc_unbound for it fails with -ESRCH.
 * It reports progress every second, and fails if a unit fails, if it never
 * saw the peer alive, or if the peer is not gone after timeout_s=.
 */
#include "keel_test.h"

#define VECTOR 0xF0
#define MS 1000000ULL

static volatile unsigned long ipi_hits;
static uint32_t ipi_port;
static uint8_t page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile uint8_t *map_at;

static void on_ipi(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    ipi_hits++;
}

static bool ipi_arrived(void *want)
{
    return ipi_hits >= (unsigned long)(uintptr_t)want;
}

/* One unit of work; false (and a FAIL line) if anything is wrong. */
static bool unit(unsigned long n)
{
    static uint64_t last_ns;
    long v = HYPERVISOR_xen_version(XENVER_version, NULL);
    if (!check(v == (long)hypervisor.version, "unit %lu: xen_version %ld", n, v))
        return false;
    unsigned long want = ipi_hits + 1;
    long rc = evtchn_send(ipi_port);
    if (!check(rc == 0 && evtchn_wait(ipi_arrived, (void *)(uintptr_t)want, 2000 * MS),
               "unit %lu: IPI send %ld, not taken within 2 s", n, rc))
        return false;
    uint64_t now = pvclock_ns();
    if (!check(now >= last_ns, "unit %lu: pvclock went back from %llu to %llu", n, (unsigned long long)last_ns,
               (unsigned long long)now))
        return false;
    last_ns = now;
    if (n % 16 == 0) {
        page[n % PAGE_SIZE] = (uint8_t)n;
        uint32_t h;
        int16_t st, ust;
        rc = gnttab_map(hypervisor.domid, 1, (uintptr_t)map_at, GNTMAP_host_map, &h, &st);
        bool same = rc == 0 && st == GNTST_okay && map_at[n % PAGE_SIZE] == (uint8_t)n;
        long rc2 = same ? gnttab_unmap(h, (uintptr_t)map_at, &ust) : -1;
        if (!check(same && rc2 == 0 && ust == GNTST_okay, "unit %lu: grant map %ld/%d, unmap %ld", n, rc, st, rc2))
            return false;
    }
    return true;
}

/* 1 alive, 0 gone, -1 unknown answer. */
static int peer_alive(uint16_t peer)
{
    uint32_t p;
    long rc = evtchn_alloc_unbound(peer, &p);
    if (rc == 0) {
        evtchn_close(p);
        return 1;
    }
    return rc == -ESRCH ? 0 : -1;
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    uint16_t peer = cmdline_peer("peer", -1);
    unsigned long after = cmdline_ull("after_units", 300);
    uint64_t end = pvclock_ns() + cmdline_ull("timeout_s", 600) * 1000 * MS;
    long rc = evtchn_init(VECTOR);
    long rc2 = evtchn_bind_ipi(0, &ipi_port);
    long rc3 = gnttab_init(1);
    map_at = alloc_unpopulated(PAGE_SIZE);
    if (!report(!rc && !rc2 && !rc3 && map_at, "neighbour (domain %u) of domain %u: set up %ld %ld %ld",
                hypervisor.domid, peer, rc, rc2, rc3))
        return;
    evtchn_bind_handler(ipi_port, on_ipi, NULL);
    gnttab_grant(1, hypervisor.domid, (uint32_t)((uintptr_t)page / PAGE_SIZE), false);
    sti();

    unsigned long n = 0, during = 0, gone_at = 0;
    bool seen = false, gone = false;
    uint64_t next_report = pvclock_ns();
    while (!gone || n < gone_at + after) {
        if (!unit(n))
            return;
        n++;
        if (!gone && n % 8 == 0) {
            int a = peer_alive(peer);
            if (!check(a >= 0, "alloc_unbound for domain %u: unexpected answer", peer))
                return;
            if (a == 1 && !seen) {
                seen = true;
                printf("neighbour: %lu units before domain %u was first seen alive\n", n, peer);
            }
            if (a == 0) {
                gone = true;
                gone_at = n;
                printf("neighbour: domain %u is gone after %lu units (%lu while it lived)\n", peer, n, during);
            }
            during = seen && !gone ? n : during;
        }
        uint64_t now = pvclock_ns();
        if (now >= next_report) {
            printf("neighbour: %lu units, domain %u %s\n", n, peer, gone ? "gone" : seen ? "alive" : "not seen yet");
            next_report = now + 1000 * MS;
        }
        if (now > end) {
            report_fail("domain %u still there after the timeout", peer);
            return;
        }
    }
    report(seen && during > 0, "neighbour: %lu units while domain %u lived", during, peer);
    report(n - gone_at >= after, "neighbour: %lu units after it was gone, all correct", n - gone_at);
}
