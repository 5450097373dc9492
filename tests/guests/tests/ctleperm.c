/*
 * The control interface from a domain that is not the control domain:
 * every domctl (36) and sysctl (35) sub-operation of the spec (taken from
 * the generated abi_all_subops[], so a new one is covered by itself), plus
 * an unknown sub-operation of each, must give -EPERM.
 *
 * Each call carries a correct interface version and a well-formed argument
 * aimed at nothing harmful: a domain id no one has (0x7000), so that a
 * hypervisor which forgot the policy answers something else (-ESRCH,
 * -EINVAL, 0) instead of -EPERM, and the test fails.  The other
 * control-only sub-operations of the spec are checked the same way.
 */
#include "keel_test.h"

#define NO_DOMAIN 0x7000

static uint8_t arg[1024] __attribute__((aligned(16)));
static uint8_t scratch[4096] __attribute__((aligned(4096)));

static void prepare(unsigned hypercall)
{
    memset(arg, 0, sizeof(arg));
    struct keel_ctl_header *h = (struct keel_ctl_header *)arg;
    h->interface_version =
        hypercall == __HYPERVISOR_domctl ? KEEL_DOMCTL_INTERFACE_VERSION : KEEL_SYSCTL_INTERFACE_VERSION;
    h->domain = hypercall == __HYPERVISOR_domctl ? NO_DOMAIN : 0;
}

static long call(unsigned hypercall, unsigned number)
{
    switch (hypercall) {
    case __HYPERVISOR_domctl:
        return HYPERVISOR_domctl(number, arg);
    case __HYPERVISOR_sysctl:
        return HYPERVISOR_sysctl(number, arg);
    case __HYPERVISOR_xen_version:
        return HYPERVISOR_xen_version(number, scratch);
    case __HYPERVISOR_console_io:
        return HYPERVISOR_console_io(number, 16, scratch);
    case __HYPERVISOR_sched_op: {
        /* SCHEDOP_remote_shutdown of a domain that does not exist. */
        struct sched_remote_shutdown rs = { .domain_id = NO_DOMAIN, .reason = SHUTDOWN_poweroff };
        return HYPERVISOR_sched_op(number, &rs);
    }
    default:
        return keel_hypercall(hypercall, number, (unsigned long)arg, 0, 0, 0);
    }
}

void test_main(const struct hvm_start_info *si)
{
    if (!hypervisor.present) {
        report_skip("needs a hypervisor");
        return;
    }
    if (si && (si->flags & SIF_INITDOMAIN)) {
        report_skip("this is the control domain");
        return;
    }
    unsigned ctl = 0, ctl_ok = 0, other = 0, other_ok = 0;
    for (unsigned i = 0; i < ABI_NR_SUBOPS; i++) {
        const struct abi_guest_subop *s = &abi_all_subops[i];
        bool control_hc = s->hypercall == __HYPERVISOR_domctl || s->hypercall == __HYPERVISOR_sysctl;
        if (!control_hc && !s->control_only)
            continue;
        prepare(s->hypercall);
        long rc = call(s->hypercall, s->number);
        if (control_hc) {
            ctl++;
            ctl_ok += rc == -EPERM;
        } else {
            other++;
            other_ok += rc == -EPERM;
        }
        if (rc != -EPERM)
            report_fail("eperm: %s (hypercall %u, sub-op %u) from a non-control domain: %ld, expected -EPERM",
                        s->name, s->hypercall, s->number, rc);
    }
    /* An operation the spec does not have yet: the policy is per hypercall. */
    prepare(__HYPERVISOR_domctl);
    long d = call(__HYPERVISOR_domctl, 0x7777);
    prepare(__HYPERVISOR_sysctl);
    long s = call(__HYPERVISOR_sysctl, 0x7777);
    report(d == -EPERM && s == -EPERM, "eperm: unknown domctl/sysctl sub-operation: %ld, %ld", d, s);
    report(ctl >= 20 && ctl_ok == ctl, "eperm: %u of %u domctl/sysctl sub-operations gave -EPERM", ctl_ok, ctl);
    report(other_ok == other, "eperm: %u of %u other control-only sub-operations gave -EPERM", other_ok, other);
    /* The hypercalls still exist for the control domain: not -ENOSYS here. */
    for (unsigned i = 0; i < ABI_NR_HYPERCALLS; i++)
        if (abi_all_hypercalls[i].control_only)
            printf("eperm: %s (%u) is control-only\n", abi_all_hypercalls[i].name, abi_all_hypercalls[i].number);
}
