/*
 * Secondary vCPUs: start vCPUs 1 .. vcpus-1 (option vcpus=, default 2) one
 * after the other with vcpu_start(); each checks its id, takes an expected
 * fault and makes a hypercall.  SKIP while the hypervisor lacks vcpu_op.
 */
#include "keel_test.h"

#define WAIT_TSC 20000000000ULL /* generous: seconds under emulation */

static volatile unsigned ran[RT_MAX_VCPUS];

static void do_ud2(void *arg)
{
    (void)arg;
    __asm__ volatile("ud2");
}

static void secondary(unsigned id)
{
    struct fault_info fi;
    printf("vCPU %u: running\n", id);
    check(smp_cpu_id() == id, "vCPU %u: smp_cpu_id() is %u", id, smp_cpu_id());
    check(run_expecting_fault(do_ud2, NULL, &fi) == X86_EXC_UD, "vCPU %u: ud2 gave %d", id, fi.vector);
    check(HYPERVISOR_xen_version(XENVER_version, NULL) == (long)hypervisor.version, "vCPU %u: xen_version", id);
    ran[id]++;
}

void test_main(const struct hvm_start_info *si)
{
    unsigned n = (unsigned)cmdline_ull("vcpus", 2);
    (void)si;

    if (!hypervisor.present) {
        report_skip("needs a hypervisor");
        return;
    }
    for (unsigned id = 1; id < n && id < RT_MAX_VCPUS; id++) {
        int rc = vcpu_start(id, secondary);
        if (rc == -ENOSYS) {
            report_skip("vcpu_op is not implemented");
            return;
        }
        if (!report(rc == 0, "vcpu_start(%u): %d", id, rc))
            return;
        report(vcpu_wait(id, VCPU_DONE, WAIT_TSC) && ran[id] == 1, "vCPU %u ran once and finished", id);
    }
}
