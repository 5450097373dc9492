/*
 * A control domain for the shutdown tests (tests/guests/test_abi.py): it
 * watches domains 1..domains= (KEEL_DOMCTL_getdomaininfo), destroys those
 * that stay after shutting down (suspend, watchdog and soft_reset are
 * preserved for the control domain), prints what it saw, and when all are
 * gone it powers off, which powers the machine off.  It sleeps between
 * looks, woken by VIRQ_DOM_EXC (which it checks it gets) or a timer.
 *
 *   domains=N   how many domains to wait for (ids 1..N)
 *   timeout_s=  give up after this long (default 120)
 */
#include "keel_test.h"

#define MS 1000000ULL

static volatile unsigned dom_exc, ticks;

static void on_virq(uint32_t port, void *arg)
{
    (void)arg;
    struct evtchn_status st;
    if (!evtchn_status(DOMID_SELF, port, &st) && st.u.virq == VIRQ_DOM_EXC)
        dom_exc++;
    else
        ticks++;
}

static long domaininfo(uint16_t id, struct keel_domaininfo *info)
{
    struct keel_domctl_getdomaininfo op;
    memset(&op, 0, sizeof(op));
    op.hdr.interface_version = KEEL_DOMCTL_INTERFACE_VERSION;
    op.hdr.domain = id;
    long rc = HYPERVISOR_domctl(KEEL_DOMCTL_getdomaininfo, &op);
    if (!rc)
        *info = op.info;
    return rc;
}

static long destroy(uint16_t id)
{
    struct keel_ctl_header h = { .interface_version = KEEL_DOMCTL_INTERFACE_VERSION, .domain = id };
    return HYPERVISOR_domctl(KEEL_DOMCTL_destroydomain, &h);
}

void test_main(const struct hvm_start_info *si)
{
    unsigned n = (unsigned)cmdline_ull("domains", 0);
    uint64_t end = pvclock_ns() + cmdline_ull("timeout_s", 120) * 1000 * MS;
    struct xen_feature_info fi = { .submap_idx = 0 };
    long rc = HYPERVISOR_xen_version(XENVER_get_features, &fi);
    report(si && (si->flags & SIF_INITDOMAIN) && rc == 0 && (fi.submap & (1u << XENFEAT_dom0)),
           "reaper: the control domain (domain %u): SIF_INITDOMAIN, XENFEAT_dom0", hypervisor.domid);
    /* Sleep between looks: VIRQ_DOM_EXC says a domain shut down, a 10 ms
     * periodic timer covers the rest (a domain destroyed by its action). */
    uint32_t exc_port, timer_port;
    rc = evtchn_init(0xF0);
    long rc2 = evtchn_bind_virq(VIRQ_DOM_EXC, 0, &exc_port);
    long rc3 = evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port);
    report(rc == 0 && rc2 == 0 && rc3 == 0, "reaper: VIRQ_DOM_EXC on port %u, VIRQ_TIMER on port %u: %ld %ld %ld",
           exc_port, timer_port, rc, rc2, rc3);
    evtchn_bind_handler(exc_port, on_virq, NULL);
    evtchn_bind_handler(timer_port, on_virq, NULL);
    struct vcpu_set_periodic_timer pt = { .period_ns = 10 * MS };
    HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &pt);

    /* Every domain of the manifest exists before any runs: one that is not
     * there (-ESRCH) has come and gone. */
    bool gone[64] = { false };
    unsigned left = n;
    while (left && pvclock_ns() < end) {
        for (uint16_t id = 1; id <= n && id < 64; id++) {
            if (gone[id])
                continue;
            struct keel_domaininfo info;
            rc = domaininfo(id, &info);
            if (rc == -ESRCH) {
                gone[id] = true;
                left--;
            } else if (rc == 0 && info.state == KEEL_DOMSTATE_SHUTDOWN) {
                long d = destroy(id);
                printf("reaper: domain %u (%s) stayed after shutting down (reason %u): destroy %ld\n", id,
                       (char *)info.name, info.shutdown_reason, d);
            }
        }
        if (left) {
            cli();
            HYPERVISOR_sched_op(SCHEDOP_block, NULL);
            __asm__ volatile("sti; nop" ::: "memory");
        }
    }
    HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    /* Checked by test_abi.py (test_virq_dom_exc), not here. */
    printf("reaper: %u VIRQ_DOM_EXC events, %u timer ticks\n", dom_exc, ticks);
    report(left == 0, "reaper: all %u domains came and went (%u left)", n, left);
    /* Returning powers us off: the control domain takes the machine down. */
}
