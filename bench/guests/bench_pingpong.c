/*
 * Event-channel round trips between two domains on one CPU: "ping"
 * (role=ping) sends, "pong" answers from its upcall handler; each side
 * blocks in SCHEDOP_block until its upcall.  Also measures SCHEDOP_yield
 * between the two domains (role=*, yields=N).
 *
 * They find each other by convention: pong's first allocated port (1) is
 * the unbound port for ping's domain id (peer=), and ping binds
 * (pong's id, port 1), retrying until pong has allocated it.
 */
#include "keel_test.h"

#define UPCALL_VECTOR 0xF1

static volatile unsigned events;
static uint32_t port;

static void on_event(uint32_t p, void *arg)
{
    (void)p;
    (void)arg;
    events++;
}

static void block_until(unsigned want)
{
    while (events < want)
        HYPERVISOR_sched_op(SCHEDOP_block, 0); /* re-enables events, returns after an upcall */
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    char role[8] = "";
    unsigned iters = (unsigned)cmdline_ull("iters", 1000);
    unsigned yields = (unsigned)cmdline_ull("yields", 1000);
    uint16_t peer = (uint16_t)cmdline_ull("peer", 0);
    cmdline_str("role", role, sizeof(role));
    hypercall_mode_direct();
    if (!report(evtchn_init(UPCALL_VECTOR) == 0, "event channels"))
        return;
    sti();

    if (!strcmp(role, "pong")) {
        long rc = evtchn_alloc_unbound(peer, &port);
        if (!report(rc == 0 && port == 1, "unbound port %u for d%u: %ld", port, peer, rc))
            return;
        evtchn_bind_handler(port, on_event, NULL);
        /* Answer every ping (binding raises ping's new port, not ours). */
        for (unsigned i = 0; i < iters; i++) {
            block_until(i + 1);
            evtchn_send(port);
        }
    } else {
        /* Retry until pong has allocated its port.  Interrupts stay off
         * until the handler is in place: the bind raises the new port once,
         * and that first event must be counted. */
        long rc;
        uint64_t t0 = rdtsc();
        cli();
        while ((rc = evtchn_bind_interdomain(peer, 1, &port)) != 0 && rdtsc() - t0 < 20000000000ULL)
            sched_yield();
        if (rc == 0)
            evtchn_bind_handler(port, on_event, NULL);
        sti();
        if (!report(rc == 0, "bound to d%u port 1 as port %u", peer, port))
            return;
        block_until(1);
        unsigned base = events;
        uint64_t start = rdtsc();
        for (unsigned i = 0; i < iters; i++) {
            evtchn_send(port);
            block_until(base + i + 1);
        }
        uint64_t t = rdtsc() - start;
        printf("BENCH evtchn_interdomain_roundtrip %llu\n", (unsigned long long)(t / iters));
    }

    /* Yield back and forth: both domains run this loop. */
    uint64_t start = rdtsc();
    for (unsigned i = 0; i < yields; i++)
        HYPERVISOR_sched_op(SCHEDOP_yield, 0);
    uint64_t t = rdtsc() - start;
    if (!strcmp(role, "ping"))
        printf("BENCH yield_domain_switch %llu\n", (unsigned long long)(t / yields / 2));
    report_pass("%s done", role);
}
