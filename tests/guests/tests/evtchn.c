/*
 * Event channels within one domain: upcalls through a vector, an IPI
 * channel to ourselves, an interdomain loopback pair, masking and
 * unmasking.  SKIP while the hypervisor lacks shared info or the callback.
 */
#include "keel_test.h"

#define UPCALL_VECTOR 0xF0
#define WAIT_TSC 5000000000ULL

static volatile unsigned hits;
static volatile uint32_t last_port;

static void on_event(uint32_t port, void *arg)
{
    (void)arg;
    last_port = port;
    hits++;
}

/* Wait for hits to reach want, or the timeout; true if it did. */
static bool wait_hits(unsigned want)
{
    uint64_t t0 = rdtsc();
    while (hits < want && rdtsc() - t0 < WAIT_TSC)
        cpu_relax();
    return hits >= want;
}

void test_main(const struct hvm_start_info *si)
{
    uint32_t ipi, a, b;
    (void)si;

    if (!hypervisor.present) {
        report_skip("needs a hypervisor");
        return;
    }
    long rc = evtchn_init(UPCALL_VECTOR);
    if (rc == -ENOSYS) {
        report_skip("shared info or HVM_PARAM_CALLBACK_IRQ not implemented");
        return;
    }
    if (!report(rc == 0, "evtchn_init: %ld", rc))
        return;
    sti();

    rc = evtchn_bind_ipi(0, &ipi);
    if (!report(rc == 0, "bind_ipi: %ld (port %u)", rc, ipi))
        return;
    evtchn_bind_handler(ipi, on_event, NULL);
    rc = evtchn_send(ipi);
    report(rc == 0 && wait_hits(1) && last_port == ipi, "IPI to self: send %ld, %u upcall(s)", rc, hits);

    rc = evtchn_alloc_unbound(DOMID_SELF, &a);
    if (!report(rc == 0, "alloc_unbound: %ld (port %u)", rc, a))
        return;
    /* Binding raises the new local port at once (as Xen does, so that no
     * event sent before the bind is lost): it has no handler yet. */
    rc = evtchn_bind_interdomain(DOMID_SELF, a, &b);
    if (!report(rc == 0, "bind_interdomain: %ld (port %u)", rc, b))
        return;
    evtchn_bind_handler(a, on_event, NULL);
    evtchn_bind_handler(b, on_event, NULL);
    rc = evtchn_send(b);
    report(rc == 0 && wait_hits(2) && last_port == a, "loopback %u -> %u: send %ld", b, a, rc);

    evtchn_mask(a);
    rc = evtchn_send(b);
    tsc_spin(WAIT_TSC / 50);
    report(rc == 0 && hits == 2 && evtchn_is_pending(a), "masked port: pending, no upcall");
    rc = evtchn_unmask(a);
    report(rc == 0 && wait_hits(3) && last_port == a, "unmask delivers the pending event: %ld", rc);

    cli();
    report(evtchn_close(b) == 0 && evtchn_close(a) == 0 && evtchn_close(ipi) == 0, "close");
}
