/*
 * Guest MSR accesses that reach Keel (everything not passed through in the
 * backend's bitmap).  Known MSRs are emulated; an unknown read or write gets
 * #GP, as on hardware that lacks the MSR, and a rate-limited log line.
 */
#include <abi.h>
#include <keel/domain.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

#include "vlapic.h"

#define MSR_IA32_PLATFORM_ID 0x17
#define MSR_IA32_BIOS_SIGN_ID 0x8B
#define MSR_AMD_HWCR 0xC0010015
#define MSR_AMD_SYSCFG 0xC0010010
#define APIC_BASE_BSP (1ULL << 8)
#define APIC_BASE_EXTD (1ULL << 10)
#define APIC_BASE_EN (1ULL << 11)
#define EFER_ALLOWED (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)

/* Fill the guest's hypercall page: 128 slots of 32 bytes, slot N being
 * "mov $N, %eax; <vmcall|vmmcall>; ret" (Xen's layout), the rest int3. */
static bool hypercall_page(struct vcpu *v, uint64_t val)
{
    struct domain *d = v->domain;
    if (val & 0xFFF)
        return false; /* only page index 0 exists */
    uint8_t *page = gfn_to_virt(d, val >> PAGE_SHIFT, true);
    if (!page)
        return false;
    memset(page, 0xCC, PAGE_SIZE);
    for (unsigned n = 0; n < 128; n++) {
        uint8_t *s = page + n * 32;
        s[0] = 0xB8;
        memcpy(s + 1, &n, 4);
        memcpy(s + 5, hvm->hypercall_insn, 3);
        s[8] = 0xC3;
    }
    d->hypercall_page_gfn = val >> PAGE_SHIFT;
    return true;
}

static bool read_msr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    if ((msr >= 0x800 && msr <= 0x8FF) || msr == MSR_IA32_TSC_DEADLINE)
        return vlapic_rdmsr(v, msr, val);
    switch (msr) {
    case MSR_EFER:
        *val = hvm->get_reg(v, HVM_EFER);
        return true;
    case MSR_IA32_PAT:
        *val = hvm->get_reg(v, HVM_PAT);
        return true;
    case MSR_IA32_APIC_BASE:
        *val = v->hvm.apic_base;
        return true;
    case MSR_IA32_TSC:
        *val = rdtsc() + v->domain->tsc_offset;
        return true;
    case MSR_IA32_MISC_ENABLE:
        *val = v->hvm.misc_enable;
        return true;
    case MSR_IA32_FEATURE_CONTROL:
        *val = 1; /* locked, VMX off */
        return true;
    case MSR_IA32_PLATFORM_ID:
    case MSR_IA32_BIOS_SIGN_ID:
    case MSR_AMD_HWCR:
    case MSR_AMD_SYSCFG:
        *val = 0;
        return true;
    case XEN_HYPERCALL_MSR:
        *val = v->domain->hypercall_page_gfn << PAGE_SHIFT;
        return true;
    default:
        return false;
    }
}

static bool write_msr(struct vcpu *v, uint32_t msr, uint64_t val)
{
    if ((msr >= 0x800 && msr <= 0x8FF) || msr == MSR_IA32_TSC_DEADLINE)
        return vlapic_wrmsr(v, msr, val);
    switch (msr) {
    case MSR_EFER:
        if (val & ~EFER_ALLOWED)
            return false;
        hvm->set_reg(v, HVM_EFER, val);
        return true;
    case MSR_IA32_PAT:
        /* Each byte must be a valid memory type (0, 1, 4, 5, 6, 7). */
        for (unsigned i = 0; i < 8; i++) {
            uint8_t t = (uint8_t)(val >> (8 * i));
            if (t > 7 || t == 2 || t == 3)
                return false;
        }
        hvm->set_reg(v, HVM_PAT, val);
        return true;
    case MSR_IA32_APIC_BASE:
        /* Only the enable bits may change; the base stays 0xFEE00000. */
        if ((val ^ v->hvm.apic_base) & ~(APIC_BASE_EN | APIC_BASE_EXTD))
            return false;
        v->hvm.apic_base = val;
        v->hvm.vlapic.apic_enabled = val & APIC_BASE_EN;
        v->hvm.vlapic.x2apic_enabled = (val & APIC_BASE_EN) && (val & APIC_BASE_EXTD);
        return true;
    case MSR_IA32_MISC_ENABLE:
        v->hvm.misc_enable = val;
        return true;
    case MSR_IA32_BIOS_SIGN_ID:
    case MSR_IA32_TSC:
        return true; /* ignored: the TSC offset is the domain's */
    case XEN_HYPERCALL_MSR:
        return hypercall_page(v, val);
    default:
        return false;
    }
}

bool hvm_rdmsr(struct vcpu *v)
{
    uint32_t msr = (uint32_t)v->regs.rcx;
    uint64_t val;
    if (!read_msr(v, msr, &val)) {
        gprintk(v->domain, LOG_INFO, "vCPU %u: rdmsr %#x: unknown MSR, #GP\n", v->id, msr);
        hvm_inject_gp(v);
        return false;
    }
    v->regs.rax = (uint32_t)val;
    v->regs.rdx = val >> 32;
    return true;
}

bool hvm_wrmsr(struct vcpu *v)
{
    uint32_t msr = (uint32_t)v->regs.rcx;
    uint64_t val = ((v->regs.rdx & 0xFFFFFFFF) << 32) | (v->regs.rax & 0xFFFFFFFF);
    if (!write_msr(v, msr, val)) {
        gprintk(v->domain, LOG_INFO, "vCPU %u: wrmsr %#x <- %#lx refused, #GP\n", v->id, msr, (unsigned long)val);
        hvm_inject_gp(v);
        return false;
    }
    return true;
}

void hvm_msr_vcpu_init(struct vcpu *v)
{
    v->hvm.apic_base = 0xFEE00000ULL | APIC_BASE_EN | APIC_BASE_EXTD | (v->id == 0 ? APIC_BASE_BSP : 0);
    v->hvm.misc_enable = 1; /* fast strings */
}
