/*
 * Guest FPU/SSE/AVX state and the MSRs VM entry does not switch.  Keel
 * itself never touches FPU or SSE registers (it is built with
 * -mgeneral-regs-only), so a guest's state stays in the registers while the
 * CPU is in the hypervisor and is saved only when another vCPU takes the
 * CPU.  XCR0 is the running vCPU's value (neither VT-x nor AMD-V switches
 * it); without XSAVE, FXSAVE covers x87 and SSE.
 */
#include <keel/domain.h>
#include <keel/heap.h>
#include <keel/lib.h>
#include <keel/vcpu.h>
#include <asm/features.h>
#include <asm/hvm.h>

#define XSTATE_X87 (1ULL << 0)
#define XSTATE_SSE (1ULL << 1)
#define XSTATE_AVX (1ULL << 2)

static size_t area_size;
static uint64_t xcr0_supported;

static void fpu_setup(void)
{
    if (area_size)
        return;
    if (boot_cpu.xsave) {
        struct cpuid_regs r = cpuid_count(0xD, 0);
        xcr0_supported = ((uint64_t)r.edx << 32 | r.eax) & 0x2E7; /* x87 SSE AVX MPX? no; AVX-512 (5-7), PKRU (9) */
        xcr0_supported &= ~(3ULL << 3);                            /* no MPX */
        area_size = r.ecx;
    } else {
        area_size = 512;
    }
}

int hvm_fpu_init(struct vcpu *v)
{
    fpu_setup();
    /* 64-byte alignment for XSAVE: over-allocate and keep the raw pointer. */
    uint8_t *raw = kzalloc(area_size + 64 + sizeof(void *));
    if (!raw)
        return -ENOMEM;
    uint8_t *a = (uint8_t *)ALIGN_UP((uintptr_t)raw + sizeof(void *), 64);
    ((void **)a)[-1] = raw;
    /* Initial x87 control word and MXCSR (SDM vol. 1 table 10-2). */
    *(uint16_t *)(a + 0) = 0x37F;
    *(uint32_t *)(a + 24) = 0x1F80;
    v->hvm.fpu = a;
    v->hvm.xcr0 = XSTATE_X87 | XSTATE_SSE;
    return 0;
}

void hvm_fpu_destroy(struct vcpu *v)
{
    if (v->hvm.fpu)
        kfree(((void **)v->hvm.fpu)[-1]);
    v->hvm.fpu = NULL;
}

static void fpu_save(struct vcpu *v)
{
    if (boot_cpu.xsave)
        __asm__ __volatile__("xsave64 (%0)" ::"r"(v->hvm.fpu), "a"((uint32_t)v->hvm.xcr0),
                             "d"((uint32_t)(v->hvm.xcr0 >> 32))
                             : "memory");
    else
        __asm__ __volatile__("fxsave64 (%0)" ::"r"(v->hvm.fpu) : "memory");
}

static void fpu_restore(struct vcpu *v)
{
    if (boot_cpu.xsave) {
        xsetbv(0, v->hvm.xcr0);
        __asm__ __volatile__("xrstor64 (%0)" ::"r"(v->hvm.fpu), "a"((uint32_t)v->hvm.xcr0),
                             "d"((uint32_t)(v->hvm.xcr0 >> 32))
                             : "memory");
    } else {
        __asm__ __volatile__("fxrstor64 (%0)" ::"r"(v->hvm.fpu) : "memory");
    }
}

static void msrs_save(struct vcpu *v)
{
    v->hvm.star = rdmsr(MSR_STAR);
    v->hvm.lstar = rdmsr(MSR_LSTAR);
    v->hvm.cstar = rdmsr(MSR_CSTAR);
    v->hvm.sfmask = rdmsr(MSR_SFMASK);
    v->hvm.kernel_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
}

static void msrs_restore(struct vcpu *v)
{
    wrmsr(MSR_STAR, v->hvm.star);
    wrmsr(MSR_LSTAR, v->hvm.lstar);
    wrmsr(MSR_CSTAR, v->hvm.cstar);
    wrmsr(MSR_SFMASK, v->hvm.sfmask);
    wrmsr(MSR_KERNEL_GS_BASE, v->hvm.kernel_gs_base);
}

/* prev stops running on this CPU, next starts (either may be NULL). */
void hvm_context_switch(struct vcpu *prev, struct vcpu *next)
{
    if (prev == next)
        return;
    if (prev) {
        fpu_save(prev);
        if (hvm->switch_syscall_msrs)
            msrs_save(prev);
    }
    if (next) {
        fpu_restore(next);
        if (hvm->switch_syscall_msrs)
            msrs_restore(next);
    }
}

bool hvm_xsetbv(struct vcpu *v)
{
    uint32_t idx = (uint32_t)v->regs.rcx;
    uint64_t val = ((v->regs.rdx & 0xFFFFFFFF) << 32) | (v->regs.rax & 0xFFFFFFFF);
    /* XCR0: x87 always, AVX needs SSE, nothing the host lacks. */
    if (!boot_cpu.xsave || idx != 0 || !(val & XSTATE_X87) || (val & ~xcr0_supported) ||
        ((val & XSTATE_AVX) && !(val & XSTATE_SSE)) || !(hvm->get_reg(v, HVM_CR4) & X86_CR4_OSXSAVE)) {
        hvm_inject_gp(v);
        return false;
    }
    v->hvm.xcr0 = val;
    xsetbv(0, val);
    return true;
}
