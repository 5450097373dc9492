/*
 * VT-x exit table: one entry per basic exit reason (Intel SDM vol. 3D
 * appendix C), each a handler that decodes the exit qualification and
 * passes its meaning to the vendor-neutral handlers (asm/hvm.h).  Every
 * exit is counted per vCPU.
 */
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

#include "../hvm/vlapic.h"
#include "vmcs.h"
#include "vmx.h"

#define X2APIC_TPR 0x808

typedef void (*vmx_exit_fn)(struct vcpu *v);

struct vmx_exit {
    vmx_exit_fn fn;
    const char *name;
};

/* Advance past the instruction that exited: its length is in the VMCS for
 * every instruction exit (vol. 3C 28.2.5).  The instruction completed, so
 * an STI or MOV SS interrupt shadow it sat in is over (vol. 3C 25.4.2;
 * "sti; hlt" relies on it). */
static inline __attribute__((always_inline)) void skip_mode(bool code64)
{
    uint64_t rip = vmread(GUEST_RIP) + vmread(VM_EXIT_INSTRUCTION_LEN);
    if (!code64)
        rip = (uint32_t)rip;
    vmwrite(GUEST_RIP, rip);
    uint32_t block = (uint32_t)vmread(GUEST_INTERRUPTIBILITY);
    if (block & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))
        vmwrite(GUEST_INTERRUPTIBILITY, block & ~(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS));
}

static void skip(struct vcpu *v)
{
    skip_mode(vmx_code64_inline(v));
}

/* General-purpose register n in the exit qualification's numbering (RAX
 * RCX RDX RBX RSP RBP RSI RDI R8-R15, vol. 3C table 28-3) -> struct
 * guest_regs slot; RSP lives in the VMCS. */
static const uint8_t gpr_slot[16] = { 0, 2, 3, 1, 0xFF, 6, 4, 5, 7, 8, 9, 10, 11, 12, 13, 14 };

static uint64_t get_gpr(struct vcpu *v, unsigned n)
{
    if (gpr_slot[n] == 0xFF)
        return vmread(GUEST_RSP);
    return ((uint64_t *)&v->regs)[gpr_slot[n]];
}

static void set_gpr(struct vcpu *v, unsigned n, uint64_t val)
{
    if (gpr_slot[n] == 0xFF)
        vmwrite(GUEST_RSP, val);
    else
        ((uint64_t *)&v->regs)[gpr_slot[n]] = val;
}

static void exit_nothing(struct vcpu *v)
{
    (void)v;
}

static void exit_ud(struct vcpu *v)
{
    hvm_inject_ud(v);
}

static void exit_exception_nmi(struct vcpu *v)
{
    uint32_t info = (uint32_t)vmread(VM_EXIT_INTR_INFO);
    if (((info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) == INTR_TYPE_NMI)
        return; /* a host NMI: vmx_run() handed it to the host's handler */
    /* The exception bitmap is empty: no guest exception should exit. */
    hvm_unhandled_exit(v, EXIT_EXCEPTION_NMI, info);
}

static void exit_triple_fault(struct vcpu *v)
{
    hvm_triple_fault(v);
}

static void exit_intr_window(struct vcpu *v)
{
    /* The guest can take an interrupt now; the next entry injects it. */
    vmx_proc_ctls(v, 0, PROC_INTR_WINDOW);
}

static void exit_nmi_window(struct vcpu *v)
{
    vmx_proc_ctls(v, 0, PROC_NMI_WINDOW);
}

static void exit_task_switch(struct vcpu *v)
{
    hvm_unhandled_exit(v, EXIT_TASK_SWITCH, vmread(EXIT_QUALIFICATION));
}

static void exit_cpuid(struct vcpu *v)
{
    if (hvm_cpuid(v))
        skip(v);
}

static void exit_hlt(struct vcpu *v)
{
    skip(v);
    hvm_hlt(v);
}

static void exit_invd(struct vcpu *v)
{
    skip(v); /* caches are coherent for the guest: a no-op */
}

static void exit_vmcall(struct vcpu *v)
{
    bool code64 = vmx_code64_inline(v);
    skip_mode(code64);
    hvm_hypercall_mode(v, vmx_get_cpl_inline(v), code64);
}

static void exit_pause(struct vcpu *v)
{
    skip(v);
    hvm_pause_loop(v);
}

static void exit_xsetbv(struct vcpu *v)
{
    if (hvm_xsetbv(v))
        skip(v);
}

static void exit_rdmsr(struct vcpu *v)
{
    if (hvm_rdmsr(v))
        skip(v);
}

static void exit_wrmsr(struct vcpu *v)
{
    if (hvm_wrmsr(v))
        skip(v);
}

/* Control-register accesses (vol. 3C 26.1.3, qualification in table 28-3):
 * MOV to CR0/CR4 that would change a bit Keel owns, CLTS and LMSW on owned
 * bits, and every MOV to or from CR8 (the guest's TPR is its virtual
 * APIC's). */
static void exit_cr(struct vcpu *v)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    unsigned cr = q & 15, access = (q >> 4) & 3, reg = (q >> 8) & 15;
    uint64_t cr0 = vmx_guest_cr0(v);
    bool ok = false;

    switch (access) {
    case 0: { /* MOV to CR */
        uint64_t val = get_gpr(v, reg);
        if (!vmx_code64(v))
            val = (uint32_t)val;
        if (cr == 0) {
            ok = vmx_set_cr0(v, val, true);
        } else if (cr == 4) {
            ok = vmx_set_cr4(v, val, true);
        } else if (cr == 8) {
            if (val >> 4) {
                hvm_inject_gp(v);
                return;
            }
            ok = vlapic_wrmsr(v, X2APIC_TPR, val << 4);
        } else {
            hvm_unhandled_exit(v, EXIT_CR_ACCESS, q);
            return;
        }
        break;
    }
    case 1: { /* MOV from CR: only CR8 exits (no CR3-store exiting) */
        uint64_t tpr;
        if (cr != 8 || !vlapic_rdmsr(v, X2APIC_TPR, &tpr)) {
            hvm_unhandled_exit(v, EXIT_CR_ACCESS, q);
            return;
        }
        set_gpr(v, reg, (tpr >> 4) & 15);
        ok = true;
        break;
    }
    case 2: /* CLTS */
        ok = vmx_set_cr0(v, cr0 & ~X86_CR0_TS, true);
        break;
    case 3: { /* LMSW: bits 3:0 of CR0; it can set PE but not clear it */
        uint64_t src = (q >> 16) & 0xF;
        ok = vmx_set_cr0(v, (cr0 & ~0xEULL) | src | (cr0 & X86_CR0_PE), true);
        break;
    }
    }
    if (ok)
        skip(v);
}

/* I/O instructions (qualification in vol. 3C table 28-5): size - 1 in
 * bits 2:0, IN in bit 3, string bit 4, REP bit 5, the port in 31:16. */
static void exit_io(struct vcpu *v)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    unsigned bytes = (unsigned)(q & 7) + 1;
    if (hvm_portio(v, (uint16_t)(q >> 16), bytes, q & (1u << 3), q & (1u << 4), q & (1u << 5)))
        skip(v);
}

/* VM-entry failures that are reported as exits (reason bit 31, 27.8). */
static void exit_invalid_state(struct vcpu *v)
{
    char why[96];
    snprintf(why, sizeof(why), "VM entry failed: invalid guest state (exit qualification %lu)",
             (unsigned long)vmread(EXIT_QUALIFICATION));
    hvm_invalid_state(v, why);
}

static void exit_msr_loading(struct vcpu *v)
{
    char why[96];
    snprintf(why, sizeof(why), "VM entry failed: MSR loading (entry %lu)", (unsigned long)vmread(EXIT_QUALIFICATION));
    hvm_invalid_state(v, why);
}

static void exit_mce_entry(struct vcpu *v)
{
    hvm_invalid_state(v, "VM entry failed: machine check");
}

/* EPT violation (qualification in vol. 3C table 28-7): bits 0-2 the access
 * (read, write, fetch), bits 3-5 what the entry allowed; none allowed means
 * the page was not mapped. */
static void exit_ept_violation(struct vcpu *v)
{
    uint64_t q = vmread(EXIT_QUALIFICATION);
    hvm_npf(v, vmread(GUEST_PHYSICAL_ADDRESS), q & (1u << 1), q & (1u << 2), q & (7u << 3));
}

static void exit_ept_misconfig(struct vcpu *v)
{
    char why[96];
    snprintf(why, sizeof(why), "EPT misconfiguration at guest physical %#lx",
             (unsigned long)vmread(GUEST_PHYSICAL_ADDRESS));
    hvm_invalid_state(v, why);
}

static void exit_wbinvd(struct vcpu *v)
{
    skip(v);
}

static const struct vmx_exit exit_table[VMX_NR_EXITS] = {
    [EXIT_EXCEPTION_NMI] = { exit_exception_nmi, "EXCEPTION_NMI" },
    [EXIT_EXT_INTR] = { exit_nothing, "EXTERNAL_INTERRUPT" },
    [EXIT_TRIPLE_FAULT] = { exit_triple_fault, "TRIPLE_FAULT" },
    [EXIT_INIT] = { exit_nothing, "INIT" },
    [EXIT_SIPI] = { exit_nothing, "SIPI" },
    [EXIT_IO_SMI] = { exit_nothing, "IO_SMI" },
    [EXIT_OTHER_SMI] = { exit_nothing, "OTHER_SMI" },
    [EXIT_INTR_WINDOW] = { exit_intr_window, "INTERRUPT_WINDOW" },
    [EXIT_NMI_WINDOW] = { exit_nmi_window, "NMI_WINDOW" },
    [EXIT_TASK_SWITCH] = { exit_task_switch, "TASK_SWITCH" },
    [EXIT_CPUID] = { exit_cpuid, "CPUID" },
    [EXIT_GETSEC] = { exit_ud, "GETSEC" },
    [EXIT_HLT] = { exit_hlt, "HLT" },
    [EXIT_INVD] = { exit_invd, "INVD" },
    [EXIT_INVLPG] = { NULL, "INVLPG" },
    [EXIT_RDPMC] = { exit_ud, "RDPMC" },
    [EXIT_RDTSC] = { NULL, "RDTSC" },
    [EXIT_RSM] = { NULL, "RSM" },
    [EXIT_VMCALL] = { exit_vmcall, "VMCALL" },
    [EXIT_VMCLEAR] = { exit_ud, "VMCLEAR" },
    [EXIT_VMLAUNCH] = { exit_ud, "VMLAUNCH" },
    [EXIT_VMPTRLD] = { exit_ud, "VMPTRLD" },
    [EXIT_VMPTRST] = { exit_ud, "VMPTRST" },
    [EXIT_VMREAD] = { exit_ud, "VMREAD" },
    [EXIT_VMRESUME] = { exit_ud, "VMRESUME" },
    [EXIT_VMWRITE] = { exit_ud, "VMWRITE" },
    [EXIT_VMXOFF] = { exit_ud, "VMXOFF" },
    [EXIT_VMXON] = { exit_ud, "VMXON" },
    [EXIT_CR_ACCESS] = { exit_cr, "CR_ACCESS" },
    [EXIT_DR_ACCESS] = { NULL, "DR_ACCESS" },
    [EXIT_IO] = { exit_io, "IO_INSTRUCTION" },
    [EXIT_RDMSR] = { exit_rdmsr, "RDMSR" },
    [EXIT_WRMSR] = { exit_wrmsr, "WRMSR" },
    [EXIT_INVALID_STATE] = { exit_invalid_state, "INVALID_GUEST_STATE" },
    [EXIT_MSR_LOADING] = { exit_msr_loading, "MSR_LOADING" },
    [EXIT_MWAIT] = { exit_ud, "MWAIT" },
    [EXIT_MTF] = { NULL, "MONITOR_TRAP_FLAG" },
    [EXIT_MONITOR] = { exit_ud, "MONITOR" },
    [EXIT_PAUSE] = { exit_pause, "PAUSE" },
    [EXIT_MCE_DURING_ENTRY] = { exit_mce_entry, "MCE_DURING_VMENTRY" },
    [EXIT_TPR_BELOW_THRESHOLD] = { NULL, "TPR_BELOW_THRESHOLD" },
    [EXIT_APIC_ACCESS] = { NULL, "APIC_ACCESS" },
    [EXIT_EOI_INDUCED] = { NULL, "EOI_INDUCED" },
    [EXIT_GDTR_IDTR] = { NULL, "GDTR_IDTR" },
    [EXIT_LDTR_TR] = { NULL, "LDTR_TR" },
    [EXIT_EPT_VIOLATION] = { exit_ept_violation, "EPT_VIOLATION" },
    [EXIT_EPT_MISCONFIG] = { exit_ept_misconfig, "EPT_MISCONFIG" },
    [EXIT_INVEPT] = { exit_ud, "INVEPT" },
    [EXIT_RDTSCP] = { NULL, "RDTSCP" },
    [EXIT_PREEMPTION_TIMER] = { exit_nothing, "PREEMPTION_TIMER" },
    [EXIT_INVVPID] = { exit_ud, "INVVPID" },
    [EXIT_WBINVD] = { exit_wbinvd, "WBINVD" },
    [EXIT_XSETBV] = { exit_xsetbv, "XSETBV" },
    [EXIT_APIC_WRITE] = { NULL, "APIC_WRITE" },
    [EXIT_RDRAND] = { NULL, "RDRAND" },
    [EXIT_INVPCID] = { NULL, "INVPCID" },
    [EXIT_VMFUNC] = { exit_ud, "VMFUNC" },
    [EXIT_ENCLS] = { exit_ud, "ENCLS" },
    [EXIT_RDSEED] = { NULL, "RDSEED" },
    [EXIT_PML_FULL] = { NULL, "PML_FULL" },
    [EXIT_XSAVES] = { exit_ud, "XSAVES" },
    [EXIT_XRSTORS] = { exit_ud, "XRSTORS" },
    [EXIT_PCONFIG] = { NULL, "PCONFIG" },
    [EXIT_SPP] = { NULL, "SPP" },
    [EXIT_UMWAIT] = { exit_ud, "UMWAIT" },
    [EXIT_TPAUSE] = { exit_ud, "TPAUSE" },
    [EXIT_LOADIWKEY] = { exit_ud, "LOADIWKEY" },
};

const char *vmx_exit_name(unsigned reason)
{
    if (reason < VMX_NR_EXITS && exit_table[reason].name)
        return exit_table[reason].name;
    return NULL;
}

void vmx_handle_exit(struct vcpu *v, uint32_t reason)
{
    unsigned basic = reason & 0xFFFF;
    if (basic >= VMX_NR_EXITS) {
        hvm_unhandled_exit(v, basic, vmread(EXIT_QUALIFICATION));
        return;
    }
    v->exit_counts[basic]++;
    const struct vmx_exit *e = &exit_table[basic];
    if (e->fn)
        e->fn(v);
    else
        hvm_unhandled_exit(v, basic, vmread(EXIT_QUALIFICATION));
}
