/*
 * The event-channel ping-pong demo (examples/ping.cfg + pong.cfg) and test:
 * count= round trips (default 1000) between two domains, through upcalls.
 *
 * How the two find each other: each is told the other's domain id with
 * peer= (absolute, or relative to its own id; defaults: ping +1, pong -1,
 * the order in which the manifest or `keel run ping.cfg pong.cfg` creates
 * them).  pong allocates an unbound port for ping's id; ping scans pong's
 * ports 1..64 with bind_interdomain, which succeeds only on a port unbound
 * for ping: no port number needs to be agreed.  Both retry until
 * timeout_s=, so either may start first.
 *
 * ping then sends, blocks (SCHEDOP_block) until pong's answer arrives
 * through its upcall handler, and repeats.  One event is in flight at a
 * time, so none can merge with another.  It reports the elapsed time
 * (pvclock) and TSC cycles, and round trips per second.
 */
#include "keel_test.h"

#define VECTOR 0xF0
#define MS 1000000ULL

static uint32_t port, timer_port;
static volatile unsigned long replies;

static void on_pong(uint32_t p, void *arg)
{
    (void)p;
    (void)arg;
    replies++;
}

static void on_timer(uint32_t p, void *arg)
{
    (void)p;
    (void)arg;
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    unsigned long count = cmdline_ull("count", 1000);
    uint64_t timeout = cmdline_ull("timeout_s", 120) * 1000 * MS;
    uint16_t peer = cmdline_peer("peer", 1);
    if (peer == DOMID_INVALID)
        test_error("ping: no peer domain id");
    long rc = evtchn_init(VECTOR);
    if (!report(rc == 0, "ping: evtchn_init: %ld", rc))
        return;
    rc = evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port);
    evtchn_bind_handler(timer_port, on_timer, NULL);

    uint32_t remote = 0;
    cli(); /* the bind makes our new port pending: not an answer */
    rc = evtchn_connect(peer, &port, &remote, 30000 * MS);
    if (!report(rc == 0, "ping (domain %u): bound port %u to domain %u port %u: %ld", hypervisor.domid, port, peer,
                remote, rc))
        return;
    evtchn_clear(port);
    evtchn_bind_handler(port, on_pong, NULL);
    /* Now, while pong waits for our pings (once it is done and gone, our
     * port reverts to unbound). */
    struct evtchn_status st;
    rc = evtchn_status(DOMID_SELF, port, &st);
    report(rc == 0 && st.status == EVTCHNSTAT_interdomain && st.u.interdomain.dom == peer &&
               st.u.interdomain.port == remote,
           "ping: status of port %u: connected to domain %u port %u", port, st.u.interdomain.dom,
           st.u.interdomain.port);

    uint64_t deadline = pvclock_ns() + timeout;
    HYPERVISOR_set_timer_op(deadline); /* a safety net: blocking always ends */
    uint64_t ns0 = pvclock_ns(), tsc0 = rdtsc();
    unsigned long sent = 0;
    while (sent < count) {
        rc = evtchn_send(port);
        if (rc)
            break;
        sent++;
        while (replies < sent && pvclock_ns() < deadline) {
            HYPERVISOR_sched_op(SCHEDOP_block, NULL);
            __asm__ volatile("sti; nop; cli" ::: "memory");
        }
        if (replies < sent)
            break;
    }
    uint64_t tsc = rdtsc() - tsc0, ns = pvclock_ns() - ns0;
    sti();
    HYPERVISOR_set_timer_op(0);

    report(rc == 0 && sent == count && replies == count, "ping: %lu round trips (%lu sent, %lu answered)", count, sent,
           replies);
    unsigned long long per_sec = ns ? (unsigned long long)replies * 1000000000ULL / ns : 0;
    printf("ping: %lu round trips in %llu us: %llu round trips/s, %llu TSC cycles (%llu per round trip)\n", replies,
           (unsigned long long)(ns / 1000), per_sec, (unsigned long long)tsc,
           replies ? (unsigned long long)(tsc / replies) : 0ULL);
}
