/*
 * The CPUID policy guests see: the host's features minus what Keel does not
 * virtualize (VMX/SVM, monitor/mwait, performance counters, machine checks,
 * MTRRs, speculation-control MSRs, 5-level paging...), plus x2APIC and the
 * TSC-deadline timer (emulated by vlapic.c), the hypervisor bit, per-vCPU
 * APIC ids and the Xen-compatible hypervisor leaves.
 */
#include <abi.h>
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/features.h>
#include <asm/hvm.h>

#define BIT(n) (1u << (n))

static void hypervisor_leaf(struct vcpu *v, uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
    memset(r, 0, sizeof(*r));
    switch (leaf - XEN_CPUID_FIRST_LEAF) {
    case 0:
        r->eax = XEN_CPUID_FIRST_LEAF + 4;
        r->ebx = XEN_CPUID_SIGNATURE_EBX;
        r->ecx = XEN_CPUID_SIGNATURE_ECX;
        r->edx = XEN_CPUID_SIGNATURE_EDX;
        break;
    case 1:
        r->eax = (KEEL_XEN_MAJOR << 16) | KEEL_XEN_MINOR;
        break;
    case 2:
        r->eax = 1; /* hypercall pages */
        r->ebx = XEN_HYPERCALL_MSR;
        break;
    case 3:
        if (sub == 0) {
            r->eax = BIT(1); /* host TSC reliable */
            r->ecx = (uint32_t)tsc_khz;
        } else if (sub == 2) {
            r->eax = (uint32_t)tsc_khz;
        }
        break;
    case 4:
        r->eax = XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT | XEN_HVM_CPUID_UPCALL_VECTOR;
        r->ebx = v->id;
        r->ecx = v->domain->id;
        break;
    default:
        break;
    }
}

static unsigned bits_for(unsigned n)
{
    unsigned b = 0;
    while ((1u << b) < n)
        b++;
    return b;
}

bool hvm_cpuid(struct vcpu *v)
{
    uint32_t leaf = (uint32_t)v->regs.rax, sub = (uint32_t)v->regs.rcx;
    struct cpuid_regs r;

    if (leaf >= 0x40000000 && leaf < 0x40010000) {
        if ((leaf & 0xFF00) == 0) /* only the first base answers */
            hypervisor_leaf(v, leaf, sub, &r);
        else
            memset(&r, 0, sizeof(r));
        goto out;
    }
    static uint32_t max_basic, max_ext;
    if (!max_basic) {
        max_ext = MIN(cpuid(0x80000000).eax, 0x80000008u);
        max_basic = MIN(cpuid(0).eax, 0xDu);
    }
    if ((leaf < 0x80000000 && leaf > max_basic) || (leaf >= 0x80000000 && leaf > max_ext)) {
        memset(&r, 0, sizeof(r));
        goto out;
    }
    r = cpuid_count(leaf, sub);
    switch (leaf) {
    case 0:
        r.eax = max_basic;
        break;
    case 1:
        r.ebx = (r.ebx & 0x0000FFFF) | (v->id << 24) | (MIN(v->domain->max_vcpus, 255u) << 16);
        r.ecx &= ~(BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8) | BIT(11) | BIT(15) | BIT(18) | BIT(27));
        r.ecx |= BIT(21) | BIT(24) | BIT(31); /* x2APIC, TSC deadline, hypervisor */
        if (hvm->get_reg(v, HVM_CR4) & X86_CR4_OSXSAVE)
            r.ecx |= BIT(27);
        r.edx &= ~(BIT(7) | BIT(12) | BIT(14) | BIT(18) | BIT(21) | BIT(22) | BIT(29) | BIT(31));
        r.edx |= BIT(28); /* HTT: the logical count above is meaningful */
        break;
    case 4:
        r.eax &= 0x3FFF; /* no topology claims from the host's caches */
        break;
    case 5:
    case 6:
    case 0xA:
        memset(&r, 0, sizeof(r));
        break;
    case 7:
        if (sub == 0) {
            r.eax = 0;
            r.ebx &= ~(BIT(2) | BIT(12) | BIT(14) | BIT(15) | BIT(25)); /* SGX, RDT, MPX, Intel PT */
            r.ecx &= ~(BIT(5) | BIT(16) | BIT(30));                     /* WAITPKG, LA57, SGX_LC */
            r.edx &= BIT(2) | BIT(3) | BIT(4) | BIT(8) | BIT(10);       /* keep only AVX512 helpers */
        } else {
            memset(&r, 0, sizeof(r));
        }
        break;
    case 0xB: {
        /* One thread per core, all vCPUs in one package. */
        unsigned shift = bits_for(v->domain->max_vcpus);
        if (sub == 0) {
            r.eax = 0;
            r.ebx = 1;
            r.ecx = (1u << 8) | sub;
        } else if (sub == 1) {
            r.eax = shift;
            r.ebx = v->domain->max_vcpus;
            r.ecx = (2u << 8) | sub;
        } else {
            r.eax = r.ebx = 0;
            r.ecx = sub;
        }
        r.edx = v->id;
        break;
    }
    case 0xD:
        if (sub == 1)
            r.eax &= BIT(0) | BIT(1) | BIT(2); /* XSAVEOPT, XSAVEC, XGETBV1; no XSAVES */
        break;
    case 0x80000000:
        r.eax = max_ext;
        break;
    case 0x80000001:
        r.ecx &= ~(BIT(2) | BIT(3) | BIT(9) | BIT(10) | BIT(12) | BIT(13) | BIT(22) | BIT(23)); /* SVM, ext APIC, OSVW, IBS, SKINIT, WDT, perfctr */
        r.edx &= ~BIT(27); /* RDTSCP: TSC_AUX is not switched */
        break;
    case 0x80000007:
        r.eax = r.ebx = r.ecx = 0;
        r.edx &= BIT(8); /* invariant TSC */
        break;
    case 0x80000008:
        r.ebx = 0; /* no speculation-control claims */
        r.ecx &= 0xFF;
        break;
    default:
        break;
    }
out:
    v->regs.rax = r.eax;
    v->regs.rbx = r.ebx;
    v->regs.rcx = r.ecx;
    v->regs.rdx = r.edx;
    return true;
}
