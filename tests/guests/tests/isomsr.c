/*
 * MSR policy: a guest's access to an MSR Keel does not know gets #GP, as on
 * hardware that lacks it; known ones still work (so a hypervisor that
 * faulted everything would fail too).  Both flavours; rdmsr and wrmsr.
 */
#include "keel_test.h"

/* Not architectural on any CPU Keel runs on, nor emulated by Keel. */
static const uint32_t unknown[] = {
    0x4B454C00, /* "KEL" */
    0x00000FFF,
    0xC0011FFF,
    0x40000100, /* past the Xen hypercall MSR */
    0xDEADBEEF,
};

struct msr_op {
    uint32_t msr;
    bool write;
};

static void do_msr(void *arg)
{
    const struct msr_op *op = arg;
    if (op->write)
        wrmsr(op->msr, 0);
    else
        (void)rdmsr(op->msr);
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    if (!hypervisor.present) {
        report_skip("needs a hypervisor (QEMU's TCG returns 0 for unknown MSRs)");
        return;
    }
    unsigned gp = 0, total = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(unknown); i++) {
        for (unsigned w = 0; w < 2; w++) {
            struct msr_op op = { unknown[i], w == 1 };
            struct fault_info fi;
            int v = run_expecting_fault(do_msr, &op, &fi);
            total++;
            if (v == X86_EXC_GP && fi.error_code == 0)
                gp++;
            else
                report_fail("msr: %s %#x: %s (vector %d, error code %#lx), expected #GP(0)", w ? "wrmsr" : "rdmsr",
                            unknown[i], v == NO_FAULT ? "no fault" : exception_name((unsigned)v), v, fi.error_code);
        }
    }
    report(gp == total, "msr: %u of %u unknown-MSR accesses raised #GP(0)", gp, total);

    uint64_t efer = 0, apic = 0;
    bool ok = rdmsr_checked(MSR_EFER, &efer) && rdmsr_checked(MSR_IA32_APIC_BASE, &apic) &&
              wrmsr_checked(MSR_EFER, efer);
    report(ok && (apic & 0xFFFFF000ULL) == 0xFEE00000ULL, "msr: known MSRs work (EFER %#llx, APIC base %#llx)",
           (unsigned long long)efer, (unsigned long long)apic);
    printf("msr: done\n");
}
