/*
 * event_channel_op, success paths, with the 2-level bitmaps and upcalls
 * through the callback vector (needs vcpus=2):
 *  - alloc_unbound / bind_interdomain (loopback in one domain) and what
 *    EVTCHNOP_status says of each end; the new local port starts pending;
 *  - send: the pending bit, the selector bit (port / BITS_PER_LONG) and
 *    evtchn_upcall_pending are set, the upcall runs when interrupts are
 *    enabled, and reports the right port; also for a port in the second
 *    selector word;
 *  - mask: pending without selector or upcall; unmask delivers;
 *  - bind_ipi to vCPU 0 and 1; bind_vcpu moves an interdomain port to
 *    vCPU 1; bind_virq(VIRQ_TIMER) on vCPUs 0 and 1 fires on its vCPU;
 *  - HVMOP_set_evtchn_upcall_vector gives vCPU 1 its own vector;
 *  - close: the port is closed, the other end unbound again; send on an
 *    unbound port is accepted and dropped.
 */
#include "keel_test.h"

#define VECTOR 0xF0
#define VECTOR1 0xF1
#define MS 1000000ULL
#define LOOSE (3000 * MS)
#define BITS (8 * sizeof(unsigned long))

static volatile unsigned hits[4096];
static volatile unsigned last_cpu;
static volatile uint32_t last_port;
static volatile unsigned vector1_upcalls;
static volatile int quit1;

static void on_event(uint32_t port, void *arg)
{
    (void)arg;
    hits[port]++;
    last_port = port;
    last_cpu = smp_cpu_id();
}

static uint64_t now(void)
{
    return pvclock_ns();
}

/* Ports are reused after close: a fresh count with each binding. */
static void handle(uint32_t port)
{
    hits[port] = 0;
    evtchn_bind_handler(port, on_event, NULL);
}

static bool wait_hits(uint32_t port, unsigned want)
{
    uint64_t end = now() + LOOSE;
    bool on = irqs_enabled();
    sti();
    while (hits[port] < want && now() < end)
        cpu_relax();
    if (!on)
        cli();
    return hits[port] >= want;
}

static bool bit(const volatile unsigned long *map, uint32_t n)
{
    return (map[n / BITS] >> (n % BITS)) & 1;
}

static void vcpu1_vector_handler(unsigned vector)
{
    (void)vector;
    vector1_upcalls++;
    evtchn_do_upcall();
}

static void vcpu1(unsigned id)
{
    (void)id;
    /* Events for vCPU 1 arrive once its vcpu_info lets them through. */
    __atomic_store_n(&shared_info->vcpu_info[1].evtchn_upcall_mask, 0, __ATOMIC_RELEASE);
    while (!quit1)
        safe_halt();
}

static bool status_is(uint32_t port, uint32_t state, struct evtchn_status *st)
{
    long rc = evtchn_status(DOMID_SELF, port, st);
    return rc == 0 && st->status == state;
}

static void test_loopback(void)
{
    uint16_t me = hypervisor.domid;
    struct evtchn_status st;
    uint32_t a, b;

    long rc = evtchn_alloc_unbound(DOMID_SELF, &a);
    bool ok = rc == 0 && status_is(a, EVTCHNSTAT_unbound, &st) && st.u.unbound_dom == me && st.vcpu == 0;
    report(ok, "alloc_unbound: %ld, port %u unbound for domain %u", rc, a, st.u.unbound_dom);
    handle(a);

    cli();
    rc = evtchn_bind_interdomain(DOMID_SELF, a, &b);
    handle(b);
    bool ok_b = status_is(b, EVTCHNSTAT_interdomain, &st) && st.u.interdomain.dom == me && st.u.interdomain.port == a;
    bool ok_a = status_is(a, EVTCHNSTAT_interdomain, &st) && st.u.interdomain.dom == me && st.u.interdomain.port == b;
    report(rc == 0 && ok_b && ok_a, "bind_interdomain: %ld, port %u <-> %u, status of both ends", rc, b, a);
    report(evtchn_is_pending(b), "the new local port starts pending (no event sent before the bind is lost)");
    sti();
    report(wait_hits(b, 1), "and its upcall ran");

    /* send with interrupts off: look at the bitmaps, then let it in. */
    struct vcpu_info *vi = this_vcpu_info();
    cli();
    unsigned before = hits[a];
    rc = evtchn_send(b);
    bool pend = bit(shared_info->evtchn_pending, a);
    bool sel = (vi->evtchn_pending_sel >> (a / BITS)) & 1;
    bool up = vi->evtchn_upcall_pending;
    report(rc == 0 && pend && sel && up && hits[a] == before,
           "send(%u): pending bit, selector bit %u and upcall flag set; no upcall while IF=0", b, a / (unsigned)BITS);
    sti();
    report(wait_hits(a, before + 1) && last_port == a && !evtchn_is_pending(a) && !vi->evtchn_upcall_pending,
           "the upcall handled port %u and cleared it", a);

    /* Masked: pending only. */
    cli();
    evtchn_mask(a);
    before = hits[a];
    rc = evtchn_send(b);
    pend = bit(shared_info->evtchn_pending, a);
    sel = (vi->evtchn_pending_sel >> (a / BITS)) & 1;
    up = vi->evtchn_upcall_pending;
    sti();
    uint64_t end = now() + 5 * MS;
    while (now() < end)
        cpu_relax();
    report(rc == 0 && pend && !sel && !up && hits[a] == before, "masked port: pending bit only, no upcall");
    rc = evtchn_unmask(a);
    report(rc == 0 && wait_hits(a, before + 1) && !bit(shared_info->evtchn_mask, a), "unmask: %ld, delivered", rc);

    /* A second loopback pair far enough up to use the second selector word. */
    uint32_t filler[80];
    unsigned nf = 0;
    uint32_t c = 0, d = 0;
    while (nf < ARRAY_SIZE(filler)) {
        uint32_t p;
        if (evtchn_bind_ipi(0, &p))
            break;
        filler[nf++] = p;
        if (p >= BITS + 3)
            break;
    }
    rc = evtchn_alloc_unbound(DOMID_SELF, &c);
    handle(c);
    cli();
    long rc2 = evtchn_bind_interdomain(DOMID_SELF, c, &d);
    handle(d);
    sti();
    wait_hits(d, 1);
    cli();
    before = hits[c];
    long rc3 = evtchn_send(d);
    sel = (vi->evtchn_pending_sel >> (c / BITS)) & 1;
    sti();
    report(rc == 0 && rc2 == 0 && rc3 == 0 && c >= BITS && sel && wait_hits(c, before + 1),
           "port %u: selector bit %u, delivered", c, c / (unsigned)BITS);
    for (unsigned i = 0; i < nf; i++)
        evtchn_close(filler[i]);
    evtchn_close(d);
    evtchn_close(c);

    /* bind_vcpu: a's events go to vCPU 1 now. */
    rc = evtchn_bind_vcpu(a, 1);
    before = hits[a];
    rc2 = evtchn_send(b);
    ok = rc == 0 && rc2 == 0 && status_is(a, EVTCHNSTAT_interdomain, &st) && st.vcpu == 1 &&
         wait_hits(a, before + 1) && last_cpu == 1;
    report(ok, "bind_vcpu(%u, 1): %ld, event handled on vCPU %u", a, rc, last_cpu);
    evtchn_bind_vcpu(a, 0);

    /* close: the other end becomes unbound (for us) again. */
    rc = evtchn_close(b);
    report(rc == 0 && status_is(b, EVTCHNSTAT_closed, &st), "close(%u): %ld, closed", b, rc);
    report(status_is(a, EVTCHNSTAT_unbound, &st) && st.u.unbound_dom == me, "its peer %u is unbound again", a);
    before = hits[a];
    rc = evtchn_send(a);
    end = now() + 5 * MS;
    while (now() < end)
        cpu_relax();
    report(rc == 0 && hits[a] == before, "send on an unbound port: %ld, dropped", rc);
    /* Closing a pending port clears its pending bit. */
    rc = evtchn_bind_interdomain(DOMID_SELF, a, &b);
    cli();
    evtchn_send(b);
    rc2 = evtchn_close(a);
    report(rc == 0 && rc2 == 0 && !evtchn_is_pending(a) && status_is(a, EVTCHNSTAT_closed, &st),
           "closing a pending port clears it");
    sti();
    evtchn_close(b);
}

static void test_ipi_virq(void)
{
    struct evtchn_status st;
    uint32_t p0, p1;
    long rc = evtchn_bind_ipi(0, &p0);
    long rc2 = evtchn_bind_ipi(1, &p1);
    handle(p0);
    handle(p1);
    report(rc == 0 && rc2 == 0 && status_is(p0, EVTCHNSTAT_ipi, &st) && st.vcpu == 0 &&
               status_is(p1, EVTCHNSTAT_ipi, &st) && st.vcpu == 1,
           "bind_ipi to vCPU 0 (port %u) and 1 (port %u), status ipi", p0, p1);
    rc = evtchn_send(p0);
    bool ok = rc == 0 && wait_hits(p0, 1) && last_cpu == 0;
    report(ok, "IPI to vCPU 0 handled on vCPU %u", last_cpu);
    rc = evtchn_send(p1);
    ok = rc == 0 && wait_hits(p1, 1) && last_cpu == 1;
    report(ok, "IPI to vCPU 1 handled on vCPU %u", last_cpu);

    uint32_t t0, t1;
    rc = evtchn_bind_virq(VIRQ_TIMER, 0, &t0);
    rc2 = evtchn_bind_virq(VIRQ_TIMER, 1, &t1);
    handle(t0);
    handle(t1);
    report(rc == 0 && rc2 == 0 && status_is(t0, EVTCHNSTAT_virq, &st) && st.u.virq == VIRQ_TIMER && st.vcpu == 0 &&
               status_is(t1, EVTCHNSTAT_virq, &st) && st.vcpu == 1,
           "bind_virq(VIRQ_TIMER) on vCPU 0 (port %u) and 1 (port %u), status virq", t0, t1);
    uint64_t deadline = now() + 2 * MS;
    rc = HYPERVISOR_set_timer_op(deadline);
    report(rc == 0 && wait_hits(t0, 1) && now() >= deadline && last_cpu == 0 && hits[t1] == 0,
           "VIRQ_TIMER of vCPU 0 fires on vCPU 0 only");

    /* vCPU 1 with a vector of its own. */
    irq_set_handler(VECTOR1, vcpu1_vector_handler);
    struct xen_hvm_evtchn_upcall_vector u = { .vcpu = 1, .vector = VECTOR1 };
    rc = HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &u);
    unsigned before = vector1_upcalls;
    rc2 = evtchn_send(p1);
    report(rc == 0 && rc2 == 0 && wait_hits(p1, 2) && vector1_upcalls > before && last_cpu == 1,
           "set_evtchn_upcall_vector(vCPU 1, %#x): %ld, its upcalls come on that vector", VECTOR1, rc);
    before = hits[p0];
    rc = evtchn_send(p0);
    report(rc == 0 && wait_hits(p0, before + 1) && last_cpu == 0, "vCPU 0 keeps the callback vector");

    report(evtchn_close(p0) == 0 && evtchn_close(p1) == 0 && evtchn_close(t0) == 0 && evtchn_close(t1) == 0 &&
               status_is(t0, EVTCHNSTAT_closed, &st),
           "close IPI and VIRQ ports");
    /* A VIRQ can be bound again once closed. */
    rc = evtchn_bind_virq(VIRQ_TIMER, 0, &t0);
    report(rc == 0 && evtchn_close(t0) == 0, "VIRQ_TIMER bound again after close: %ld", rc);
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    long rc = evtchn_init(VECTOR);
    if (!report(rc == 0, "evtchn_init (shared info, CALLBACK_IRQ vector %#x): %ld", VECTOR, rc))
        return;
    rc = vcpu_start(1, vcpu1);
    if (!report(rc == 0, "vCPU 1 started: %ld", rc))
        return;
    sti();
    test_loopback();
    test_ipi_virq();
    quit1 = 1;
}
