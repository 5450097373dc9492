/*
 * AMD-V exit table: one entry per exit code, each a handler that decodes the
 * VMCB's exit information and passes its meaning to the vendor-neutral
 * handlers (asm/hvm.h).  Every exit is counted per vCPU.
 */
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/vcpu.h>
#include <asm/features.h>
#include <asm/hvm.h>

#include "../hvm/insn.h"
#include "svm.h"
#include "vmcb.h"

typedef void (*svm_exit_fn)(struct vcpu *v, struct vmcb *vmcb);

struct svm_exit {
    svm_exit_fn fn;
    const char *name;
};

/* Advance past the intercepted instruction.  With NRIP-save the CPU tells
 * us where the next one starts; without it (QEMU TCG) Keel decodes the
 * instruction at RIP and checks it is the expected one. */
static bool skip_decode(struct vcpu *v, struct vmcb *vmcb, enum insn_kind kind)
{
    unsigned len = insn_length(v, kind);
    if (!len)
        return false; /* the domain was crashed with the reason */
    vmcb->rip += len;
    vmcb->int_state &= ~1ULL; /* an STI / MOV SS shadow covers one instruction: this one */
    return true;
}

/* Inlined in every handler: the hit paths are part of each exit's cost. */
static inline __attribute__((always_inline)) bool skip(struct vcpu *v, struct vmcb *vmcb, enum insn_kind kind)
{
    if (boot_cpu.nrips && vmcb->nrip) {
        vmcb->rip = vmcb->nrip;
        vmcb->int_state &= ~1ULL;
        return true;
    }
    /* Fast path: the instruction decoded at this RIP last time (insn.c). */
    const struct insn_cache *c = &v->hvm.insn;
    if (c->len && c->rip == vmcb->rip && c->kind == kind && c->cr3 == vmcb->cr3 &&
        c->tlb_gen == __atomic_load_n(&v->domain->p2m.tlb_gen, __ATOMIC_ACQUIRE)) {
        vmcb->rip += c->len;
        vmcb->int_state &= ~1ULL;
        return true;
    }
    return skip_decode(v, vmcb, kind);
}

static void exit_nothing(struct vcpu *v, struct vmcb *vmcb)
{
    (void)v;
    (void)vmcb;
}

static void exit_ud(struct vcpu *v, struct vmcb *vmcb)
{
    (void)vmcb;
    hvm_inject_ud(v);
}

static void exit_cpuid(struct vcpu *v, struct vmcb *vmcb)
{
    if (hvm_cpuid(v))
        skip(v, vmcb, INSN_CPUID);
}

static void exit_msr(struct vcpu *v, struct vmcb *vmcb)
{
    bool write = vmcb->exitinfo1 & 1;
    if (write ? hvm_wrmsr(v) : hvm_rdmsr(v))
        skip(v, vmcb, write ? INSN_WRMSR : INSN_RDMSR);
}

static void exit_ioio(struct vcpu *v, struct vmcb *vmcb)
{
    uint64_t info = vmcb->exitinfo1;
    unsigned bytes = (info & (1u << 4)) ? 1 : (info & (1u << 5)) ? 2 : 4;
    uint64_t next = vmcb->exitinfo2; /* the next RIP, NRIP-save or not */
    if (hvm_portio(v, (uint16_t)(info >> 16), bytes, info & 1, info & (1u << 2), info & (1u << 3))) {
        vmcb->rip = next;
        vmcb->int_state &= ~1ULL;
    }
}

static void exit_hlt(struct vcpu *v, struct vmcb *vmcb)
{
    if (skip(v, vmcb, INSN_HLT))
        hvm_hlt(v);
}

static void exit_pause(struct vcpu *v, struct vmcb *vmcb)
{
    if (skip(v, vmcb, INSN_PAUSE))
        hvm_pause_loop(v);
}

static void exit_vmmcall(struct vcpu *v, struct vmcb *vmcb)
{
    if (skip(v, vmcb, INSN_VMMCALL))
        hvm_hypercall_mode(v, vmcb->cpl, (vmcb->efer & EFER_LMA) && (vmcb->cs.attr & (1u << 9)));
}

static void exit_xsetbv(struct vcpu *v, struct vmcb *vmcb)
{
    if (hvm_xsetbv(v))
        skip(v, vmcb, INSN_XSETBV);
}

static void exit_invd(struct vcpu *v, struct vmcb *vmcb)
{
    skip(v, vmcb, INSN_INVD); /* caches are coherent for the guest: a no-op */
}

static void exit_vintr(struct vcpu *v, struct vmcb *vmcb)
{
    (void)v;
    /* The guest can take interrupts again; the next entry injects. */
    vmcb->vintr &= ~VINTR_IRQ;
    vmcb->intercept_misc1 &= ~SVM_VINTR;
}

static void exit_shutdown(struct vcpu *v, struct vmcb *vmcb)
{
    (void)vmcb;
    hvm_triple_fault(v);
}

static void exit_npf(struct vcpu *v, struct vmcb *vmcb)
{
    uint64_t err = vmcb->exitinfo1;
    hvm_npf(v, vmcb->exitinfo2, err & 2, err & 0x10, err & 1);
}

static void exit_task_switch(struct vcpu *v, struct vmcb *vmcb)
{
    hvm_unhandled_exit(v, SVM_EXIT_TASK_SWITCH, vmcb->exitinfo1);
}

static void exit_invalid(struct vcpu *v, struct vmcb *vmcb)
{
    (void)vmcb;
    hvm_invalid_state(v, "VMRUN consistency check failed (VMEXIT_INVALID)");
}

static const struct svm_exit exit_table[SVM_NR_SLOTS] = {
    [SVM_EXIT_INTR] = { exit_nothing, "INTR" },
    [SVM_EXIT_NMI] = { exit_nothing, "NMI" },
    [SVM_EXIT_SMI] = { exit_nothing, "SMI" },
    [SVM_EXIT_INIT] = { exit_nothing, "INIT" },
    [SVM_EXIT_VINTR] = { exit_vintr, "VINTR" },
    [SVM_EXIT_RDPMC] = { exit_ud, "RDPMC" },
    [SVM_EXIT_CPUID] = { exit_cpuid, "CPUID" },
    [SVM_EXIT_INVD] = { exit_invd, "INVD" },
    [SVM_EXIT_PAUSE] = { exit_pause, "PAUSE" },
    [SVM_EXIT_HLT] = { exit_hlt, "HLT" },
    [SVM_EXIT_INVLPGA] = { exit_ud, "INVLPGA" },
    [SVM_EXIT_IOIO] = { exit_ioio, "IOIO" },
    [SVM_EXIT_MSR] = { exit_msr, "MSR" },
    [SVM_EXIT_TASK_SWITCH] = { exit_task_switch, "TASK_SWITCH" },
    [SVM_EXIT_FERR_FREEZE] = { exit_nothing, "FERR_FREEZE" },
    [SVM_EXIT_SHUTDOWN] = { exit_shutdown, "SHUTDOWN" },
    [SVM_EXIT_VMRUN] = { exit_ud, "VMRUN" },
    [SVM_EXIT_VMMCALL] = { exit_vmmcall, "VMMCALL" },
    [SVM_EXIT_VMLOAD] = { exit_ud, "VMLOAD" },
    [SVM_EXIT_VMSAVE] = { exit_ud, "VMSAVE" },
    [SVM_EXIT_STGI] = { exit_ud, "STGI" },
    [SVM_EXIT_CLGI] = { exit_ud, "CLGI" },
    [SVM_EXIT_SKINIT] = { exit_ud, "SKINIT" },
    [SVM_EXIT_ICEBP] = { exit_ud, "ICEBP" },
    [SVM_EXIT_MONITOR] = { exit_ud, "MONITOR" },
    [SVM_EXIT_MWAIT] = { exit_ud, "MWAIT" },
    [SVM_EXIT_MWAIT_COND] = { exit_ud, "MWAIT_COND" },
    [SVM_EXIT_XSETBV] = { exit_xsetbv, "XSETBV" },
    [SVM_EXIT_RDPRU] = { exit_ud, "RDPRU" },
    [SVM_SLOT_NPF] = { exit_npf, "NPF" },
    [SVM_SLOT_INVALID] = { exit_invalid, "INVALID" },
};

const char *svm_exit_name(unsigned slot)
{
    if (slot < SVM_NR_SLOTS && exit_table[slot].name)
        return exit_table[slot].name;
    return NULL;
}

void svm_handle_exit(struct vcpu *v, struct vmcb *vmcb)
{
    /* The invalid exit code reads back as 0xFFFFFFFF in a 64-bit field
     * under some implementations: compare the low 32 bits. */
    uint32_t code = (uint32_t)vmcb->exitcode;
    unsigned slot = code < SVM_SLOT_NPF ? code : code == SVM_EXIT_NPF ? SVM_SLOT_NPF : SVM_SLOT_INVALID;
    v->exit_counts[slot]++;
    const struct svm_exit *e = &exit_table[slot];
    if (e->fn)
        e->fn(v, vmcb);
    else
        hvm_unhandled_exit(v, code, vmcb->exitinfo1);
}
