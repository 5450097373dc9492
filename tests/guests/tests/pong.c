/*
 * The answering half of the event-channel ping-pong (ping.c has the other
 * half and the protocol).  Options: peer= (ping's domain id, absolute or
 * relative; default -1: ping is the domain just before us), count= (round
 * trips, default 1000; both sides must agree).
 *
 * pong offers ping an unbound port (alloc_unbound for ping's id) and
 * answers each event from its upcall handler with an event back, until it
 * has answered count of them.
 */
#include "keel_test.h"

#define VECTOR 0xF0
#define MS 1000000ULL

static uint32_t port, timer_port;
static volatile unsigned long answered, extra;
static unsigned long count;
static uint16_t peer;

static void on_ping(uint32_t p, void *arg)
{
    (void)p;
    (void)arg;
    if (answered >= count) {
        extra++;
        return;
    }
    if (answered == 0) {
        /* Now, while ping waits for this answer (once it is done and gone,
         * our port reverts to unbound). */
        struct evtchn_status st;
        long rc = evtchn_status(DOMID_SELF, port, &st);
        report(rc == 0 && st.status == EVTCHNSTAT_interdomain && st.u.interdomain.dom == peer,
               "pong: port %u is connected to domain %u port %u", port, st.u.interdomain.dom, st.u.interdomain.port);
    }
    answered++;
    long rc = evtchn_send(port);
    if (rc)
        test_error("pong: send: %ld", rc);
}

static void on_timer(uint32_t p, void *arg)
{
    (void)p;
    (void)arg;
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    count = cmdline_ull("count", 1000);
    uint64_t timeout = cmdline_ull("timeout_s", 120) * 1000 * MS;
    peer = cmdline_peer("peer", -1);
    if (peer == DOMID_INVALID)
        test_error("pong: no peer domain id");
    long rc = evtchn_init(VECTOR);
    if (!report(rc == 0, "pong: evtchn_init: %ld", rc))
        return;
    /* A timer event as a safety net, so that blocking always ends. */
    rc = evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port);
    evtchn_bind_handler(timer_port, on_timer, NULL);
    cli(); /* ping's first event must find the handler */
    rc = evtchn_offer(peer, &port, 30000 * MS);
    if (!report(rc == 0, "pong (domain %u): offered port %u to domain %u: %ld", hypervisor.domid, port, peer, rc))
        return;
    evtchn_bind_handler(port, on_ping, NULL);

    uint64_t deadline = pvclock_ns() + timeout;
    HYPERVISOR_set_timer_op(deadline);
    cli();
    while (answered < count && pvclock_ns() < deadline) {
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
        __asm__ volatile("sti; nop; cli" ::: "memory");
    }
    sti();
    HYPERVISOR_set_timer_op(0);

    report(answered == count && extra == 0, "pong: answered %lu of %lu pings (%lu unexpected)", answered, count, extra);
}
