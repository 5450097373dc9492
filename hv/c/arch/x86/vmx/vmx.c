/*
 * VT-x backend: enabling VMX, the VMCS, guest state and the run loop
 * (Intel SDM vol. 3C chapters 24-31).
 *
 * VMCS lifecycle: vcpu_init allocates the region and VMCLEARs it.  The
 * first run() on some CPU makes it current (VMPTRLD) and writes the fields
 * that never change (`configured`); every run() refreshes the per-CPU host
 * fields after its VMPTRLD, and VMCLEARs it again before it returns, so the
 * next run may be on any CPU (vol. 3C 25.11.1: a VMCS must not be active on
 * two CPUs; VMCLEAR writes the cached state back and clears the launch
 * state).  That is vcpu_put()'s job in the interface, but the scheduler
 * calls vcpu_put() only after it has published is_running = false: from
 * then on another CPU may run the vCPU (VMPTRLD while the VMCS is still
 * active here) or free it.  Clearing at the end of run() closes that
 * window; vcpu_put() has nothing left to do.
 * set_context() may come from any CPU while the vCPU does not run: it only
 * stores the context, which run() loads after its VMPTRLD.
 */
#include <keel/domain.h>
#include <keel/guest_mem.h>
#include <keel/heap.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/printk.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/desc.h>
#include <asm/features.h>
#include <asm/hvm.h>
#include <asm/page.h>
#include <asm/percpu.h>

#include "vmcs.h"
#include "vmx.h"

_Static_assert(offsetof(struct guest_regs, rbx) == 8 && offsetof(struct guest_regs, rdi) == 40 &&
                   offsetof(struct guest_regs, r15) == 112,
               "vmx/entry.S register offsets");

struct vmx_cpu {
    paddr_t vmxon;   /* VMXON region */
    paddr_t current; /* VMCS current on this CPU, 0 if none */
};

/* Control settings computed once from the capability MSRs (on CPU 0). */
static struct {
    uint32_t pin, proc, proc2, exit, entry;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
    uint64_t cr0_mask, cr4_mask;
    uint64_t pdpte_reserved;
    paddr_t msr_bitmap;
    uint32_t preemption_ticks; /* the backstop below, in preemption-timer units */
} vmx;

/* A guest that runs without exits for this long leaves through the
 * VMX-preemption timer, and the host takes its pending interrupts.  With
 * external-interrupt exiting no timer is needed in principle, but some
 * implementations decide whether an interrupt is deliverable from the
 * interrupt mask they computed before entering non-root operation: Bochs
 * 2.7 does, and a guest entered with RFLAGS.IF=0 that spins without exits
 * would keep its CPU forever.  The value is reloaded at every entry, so
 * only a guest run this long costs an extra exit. */
#define PREEMPTION_BACKSTOP_US 2000

#define NR_VPIDS 0x10000 /* tags 1..0xFFFF; 0 is the host's */

/* CR0 bits Keel owns: PE/PG (paging-mode switches change EFER.LMA and the
 * PDPTEs), NE (must stay 1 in VMX operation, vol. 3C 24.8), CD/NW (caching
 * is never really disabled: the guest sees its own values). */
#define CR0_OWNED (X86_CR0_PE | X86_CR0_PG | X86_CR0_NE | X86_CR0_CD | X86_CR0_NW)

/* --- Setup ----------------------------------------------------------------- */

/* A control word from its capability MSR (vol. 3D A.3-A.5): bits 31:0
 * must-be-one, bits 63:32 may-be-one.  need: required; want: if allowed;
 * forbid: must be allowed to stay 0. */
static bool adjust(const char *what, uint32_t msr, uint32_t need, uint32_t want, uint32_t forbid, uint32_t *out)
{
    uint64_t cap = rdmsr(msr);
    uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);
    uint32_t c = (need | want | must) & may;
    if ((c & need) != need || (must & forbid)) {
        pr_err("VT-x: %s controls: needed %#x are not allowed (%#x), or %#x are forced on\n", what, need & ~may,
               may, must & forbid);
        return false;
    }
    *out = c;
    return true;
}

static bool compute_controls(void)
{
    if (!adjust("pin-based", MSR_VMX_TRUE_PINBASED_CTLS, PIN_EXT_INTR | PIN_NMI,
                PIN_VIRTUAL_NMIS | PIN_PREEMPTION_TIMER, 0, &vmx.pin))
        return false;
    if (vmx.pin & PIN_PREEMPTION_TIMER) {
        /* The timer counts down at the TSC rate divided by 2^MISC[4:0]
         * (vol. 3C 26.5.1). */
        uint64_t ticks = (tsc_khz * PREEMPTION_BACKSTOP_US / 1000) >> (rdmsr(MSR_VMX_MISC) & 0x1F);
        vmx.preemption_ticks = (uint32_t)MIN(MAX(ticks, 1u), (uint64_t)UINT32_MAX);
    }
    /* No CR3 or INVLPG exiting: EPT makes the guest's paging its own.  CR8
     * accesses exit: without a TPR shadow, MOV to CR8 would write the
     * host's own task priority. */
    if (!adjust("processor-based", MSR_VMX_TRUE_PROCBASED_CTLS,
                PROC_HLT | PROC_MWAIT | PROC_RDPMC | PROC_TSC_OFFSET | PROC_CR8_LOAD | PROC_CR8_STORE | PROC_UNCOND_IO |
                    PROC_MSR_BITMAPS | PROC_MONITOR | PROC_SECONDARY,
                0,
                PROC_INVLPG | PROC_RDTSC | PROC_CR3_LOAD | PROC_CR3_STORE | PROC_MOV_DR | PROC_IO_BITMAPS |
                    PROC_TPR_SHADOW | PROC_INTR_WINDOW | PROC_NMI_WINDOW | PROC_MTF | PROC_PAUSE,
                &vmx.proc))
        return false;
    /* INVPCID is in the guest's CPUID (leaf 7): without "enable INVPCID"
     * it would raise #UD.  RDTSCP and XSAVES stay off (#UD; hidden). */
    if (!adjust("secondary", MSR_VMX_PROCBASED_CTLS2, PROC2_EPT | PROC2_VPID | PROC2_UNRESTRICTED,
                PROC2_INVPCID | PROC2_PLE, PROC2_RDTSCP | PROC2_XSAVES, &vmx.proc2))
        return false;
    /* No "acknowledge interrupt on exit": the interrupt stays pending in
     * the local APIC and is taken when the run loop enables interrupts. */
    if (!adjust("VM-exit", MSR_VMX_TRUE_EXIT_CTLS,
                EXIT_HOST_ADDR_SPACE | EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_EFER | EXIT_LOAD_EFER, 0,
                EXIT_ACK_INTR, &vmx.exit))
        return false;
    if (!adjust("VM-entry", MSR_VMX_TRUE_ENTRY_CTLS, ENTRY_LOAD_PAT | ENTRY_LOAD_EFER, 0, ENTRY_IA32E_MODE,
                &vmx.entry))
        return false;
    if (!((rdmsr(MSR_VMX_TRUE_ENTRY_CTLS) >> 32) & ENTRY_IA32E_MODE)) {
        pr_err("VT-x: no IA-32e mode guests\n");
        return false;
    }
    vmx.cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    vmx.cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    vmx.cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    vmx.cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    vmx.cr0_mask = CR0_OWNED | vmx.cr0_fixed0;
    vmx.cr4_mask = X86_CR4_VMXE | vmx.cr4_fixed0;
    /* PAE PDPTE reserved bits (vol. 3A 4.4.1): 2:1, 8:5, 63 and above
     * MAXPHYADDR. */
    unsigned maxphys = (cpuid(0x80000000).eax >= 0x80000008) ? (cpuid(0x80000008).eax & 0xFF) : 36;
    vmx.pdpte_reserved = 0x1E6ULL | (~0ULL << maxphys);
    return true;
}

static void msr_allow(uint8_t *bm, uint32_t msr)
{
    /* Read bitmaps at 0 (low MSRs) and 1024 (0xC0000000...), write bitmaps
     * 2048 bytes after them (vol. 3C 25.6.9). */
    uint32_t base;
    if (msr < 0x2000)
        base = 0;
    else if (msr >= 0xC0000000 && msr < 0xC0002000)
        base = 1024, msr -= 0xC0000000;
    else
        return;
    bm[base + msr / 8] &= (uint8_t)~(1u << (msr % 8));
    bm[base + 2048 + msr / 8] &= (uint8_t)~(1u << (msr % 8));
}

static int build_msr_bitmap(void)
{
    vmx.msr_bitmap = frame_alloc(0, 0);
    if (!vmx.msr_bitmap)
        return -ENOMEM;
    uint8_t *bm = phys_to_virt(vmx.msr_bitmap);
    memset(bm, 0xFF, PAGE_SIZE);
    /* FS/GS base and SYSENTER are VMCS guest fields; the syscall MSRs and
     * KERNEL_GS_BASE are switched by hvm_context_switch(). */
    static const uint32_t direct[] = {
        MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
        MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
    };
    for (unsigned i = 0; i < ARRAY_SIZE(direct); i++)
        msr_allow(bm, direct[i]);
    return 0;
}

static int vmx_cpu_up(void)
{
    struct percpu *p = this_cpu();

    /* IA32_FEATURE_CONTROL (vol. 3C 24.7): lock it with VMX outside SMX
     * if the firmware left it open. */
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
    if (!(fc & FEATURE_CONTROL_LOCKED)) {
        fc |= FEATURE_CONTROL_LOCKED | FEATURE_CONTROL_VMX_OUTSIDE_SMX;
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc);
    }
    if (!(fc & FEATURE_CONTROL_VMX_OUTSIDE_SMX)) {
        pr_err("VT-x: CPU %u: disabled in IA32_FEATURE_CONTROL (%#lx)\n", p->cpu, (unsigned long)fc);
        return -ENODEV;
    }
    if (p->cpu == 0) {
        if (!compute_controls())
            return -ENODEV;
        if (!boot_cpu.ept_2m) {
            pr_err("VT-x: EPT without 2 MiB pages\n");
            return -ENODEV;
        }
        if (build_msr_bitmap())
            return -ENOMEM;
    }

    struct vmx_cpu *c = kzalloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->vmxon = frame_alloc(0, FRAME_ZERO);
    if (!c->vmxon) {
        kfree(c);
        return -ENOMEM;
    }
    *(uint32_t *)phys_to_virt(c->vmxon) = boot_cpu.vmcs_revision;

    /* CR0 and CR4 must honour the fixed bits in VMX operation (vol. 3C 24.8). */
    uint64_t cr0 = (read_cr0() | vmx.cr0_fixed0) & vmx.cr0_fixed1;
    uint64_t cr4 = (read_cr4() | X86_CR4_VMXE | vmx.cr4_fixed0) & vmx.cr4_fixed1;
    if (!(cr4 & X86_CR4_VMXE)) {
        pr_err("VT-x: CPU %u: CR4.VMXE cannot be set\n", p->cpu);
        return -ENODEV;
    }
    write_cr0(cr0);
    write_cr4(cr4);
    if (!vmxon(c->vmxon)) {
        pr_err("VT-x: CPU %u: VMXON failed\n", p->cpu);
        write_cr4(read_cr4() & ~X86_CR4_VMXE);
        frame_free(c->vmxon, 0);
        kfree(c);
        return -EIO;
    }
    p->arch_virt = c;
    return 0;
}

/* --- vCPU setup ------------------------------------------------------------- */

static int vmx_vcpu_init(struct vcpu *v)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    memset(x, 0, sizeof(*x));
    x->active_cpu = -1;
    x->ctx = kzalloc(sizeof(*x->ctx));
    paddr_t pa = frame_alloc(0, FRAME_ZERO);
    if (!pa || !x->ctx) {
        if (pa)
            frame_free(pa, 0);
        kfree(x->ctx);
        x->ctx = NULL;
        return -ENOMEM;
    }
    /* Revision id in bits 30:0, bit 31 clear: an ordinary VMCS (24.2). */
    *(uint32_t *)phys_to_virt(pa) = boot_cpu.vmcs_revision;
    if (!vmclear(pa)) {
        frame_free(pa, 0);
        kfree(x->ctx);
        x->ctx = NULL;
        return -EIO;
    }
    x->vmcs = pa;
    return 0;
}

static void vmx_vcpu_destroy(struct vcpu *v)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    /* vcpu_put() left it clear: it is active on no CPU. */
    if (x->vmcs)
        frame_free(x->vmcs, 0);
    x->vmcs = 0;
    kfree(x->ctx);
    x->ctx = NULL;
}

/* Everything that never changes, written at the first VMPTRLD. */
static void configure(struct vcpu *v)
{
    struct vmx_vcpu *x = &v->hvm.vmx;

    vmwrite(PIN_BASED_VM_EXEC_CONTROL, vmx.pin);
    if (vmx.pin & PIN_PREEMPTION_TIMER)
        vmwrite(GUEST_PREEMPTION_TIMER, vmx.preemption_ticks);
    x->proc_ctls = vmx.proc;
    vmwrite(CPU_BASED_VM_EXEC_CONTROL, x->proc_ctls);
    vmwrite(SECONDARY_VM_EXEC_CONTROL, vmx.proc2);
    vmwrite(EXCEPTION_BITMAP, 0);
    vmwrite(VM_EXIT_CONTROLS, vmx.exit);
    x->entry_ctls = vmx.entry;
    vmwrite(VM_ENTRY_CONTROLS, x->entry_ctls);
    vmwrite(VM_ENTRY_INTR_INFO, 0);
    vmwrite(CR3_TARGET_COUNT, 0);
    vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);
    vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(MSR_BITMAP, vmx.msr_bitmap);
    vmwrite(TSC_OFFSET, v->domain->tsc_offset);
    vmwrite(EPT_POINTER, v->domain->p2m.root | EPTP_WALK_4 | EPTP_WB);
    if (vmx.proc2 & PROC2_PLE) {
        vmwrite(PLE_GAP, 128);
        vmwrite(PLE_WINDOW, 4096);
    }
    vmwrite(CR0_GUEST_HOST_MASK, vmx.cr0_mask);
    vmwrite(CR4_GUEST_HOST_MASK, vmx.cr4_mask);

    /* Host state that is the same on every CPU (vol. 3C 25.5, 28.5). */
    vmwrite(HOST_CS_SELECTOR, SEL_CODE64);
    vmwrite(HOST_SS_SELECTOR, SEL_DATA);
    vmwrite(HOST_DS_SELECTOR, SEL_DATA);
    vmwrite(HOST_ES_SELECTOR, SEL_DATA);
    vmwrite(HOST_FS_SELECTOR, 0);
    vmwrite(HOST_GS_SELECTOR, 0);
    vmwrite(HOST_TR_SELECTOR, SEL_TSS); /* must not be 0 (26.2.3) */
    vmwrite(HOST_FS_BASE, 0);
    vmwrite(HOST_IA32_SYSENTER_CS, 0);
    vmwrite(HOST_IA32_SYSENTER_ESP, 0);
    vmwrite(HOST_IA32_SYSENTER_EIP, 0);
    vmwrite(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
    vmwrite(HOST_RIP, (uint64_t)vmx_exit_stub);

    /* Guest state no context sets. */
    vmwrite(VMCS_LINK_POINTER, ~0ULL); /* no shadow VMCS (26.3.1.5) */
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_IA32_DEBUGCTL, 0);
    vmwrite(GUEST_SYSENTER_CS, 0);
    vmwrite(GUEST_SYSENTER_ESP, 0);
    vmwrite(GUEST_SYSENTER_EIP, 0);
    vmwrite(GUEST_IA32_PAT, v->hvm.pat);
    vmwrite(GUEST_ACTIVITY_STATE, 0);
    vmwrite(GUEST_INTERRUPTIBILITY, 0);
    vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    x->configured = true;
}

/* --- Segments and control registers ----------------------------------------- */

/* SVM-style 12-bit attributes <-> VMX access rights (vol. 3C 25.4.1):
 * type/S/DPL/P stay in bits 7:0, AVL/L/D/G move from 11:8 to 15:12, and a
 * segment without P (null selector, zero attributes) is "unusable". */
static uint32_t attr_to_ar(unsigned s, uint16_t attr)
{
    uint32_t ar = (attr & 0xFFu) | ((uint32_t)(attr & 0xF00u) << 4);
    if (!(attr & 0x80)) {
        if (s == SEG_TR)
            return 0x8B; /* TR must be usable: a busy 32/64-bit TSS (26.3.1.2) */
        return AR_UNUSABLE | (ar & (3u << 5)); /* SS keeps its DPL: the CPL */
    }
    if (ar & 0x10)
        ar |= 1; /* code and data must be accessed (26.3.1.2); the CPU sets it anyway */
    return ar;
}

static uint16_t ar_to_attr(uint32_t ar)
{
    if (ar & AR_UNUSABLE)
        return (uint16_t)(ar & (3u << 5));
    return (uint16_t)((ar & 0xFF) | ((ar >> 4) & 0xF00));
}

uint64_t vmx_guest_cr0(struct vcpu *v)
{
    return (vmread(GUEST_CR0) & ~vmx.cr0_mask) | (v->hvm.vmx.cr0_shadow & vmx.cr0_mask);
}

static uint64_t guest_cr4(struct vcpu *v)
{
    return (vmread(GUEST_CR4) & ~vmx.cr4_mask) | (v->hvm.vmx.cr4_shadow & vmx.cr4_mask);
}

/* The CR0 the CPU runs with for the guest's cr0: NE and the other fixed
 * bits on, caching on; PE and PG are the guest's with unrestricted guest
 * (26.3.1.1). */
static uint64_t real_cr0(uint64_t cr0)
{
    uint64_t fixed = vmx.cr0_fixed0 & ~(X86_CR0_PE | X86_CR0_PG);
    return ((cr0 & ~(X86_CR0_CD | X86_CR0_NW)) | X86_CR0_NE | fixed) & vmx.cr0_fixed1;
}

static uint64_t real_cr4(uint64_t cr4)
{
    return (cr4 | X86_CR4_VMXE | vmx.cr4_fixed0) & vmx.cr4_fixed1;
}

void vmx_proc_ctls(struct vcpu *v, uint32_t set, uint32_t clear)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    uint32_t n = (x->proc_ctls | set) & ~clear;
    if (n != x->proc_ctls) {
        x->proc_ctls = n;
        vmwrite(CPU_BASED_VM_EXEC_CONTROL, n);
    }
}

static void set_lma(struct vcpu *v, uint64_t efer)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    vmwrite(GUEST_IA32_EFER, efer);
    /* With "load IA32_EFER", EFER.LMA must equal "IA-32e mode guest"
     * (26.3.1.1); VM entry takes the mode from the control (26.3.2.1). */
    uint32_t e = (efer & EFER_LMA) ? x->entry_ctls | ENTRY_IA32E_MODE : x->entry_ctls & ~ENTRY_IA32E_MODE;
    if (e != x->entry_ctls) {
        x->entry_ctls = e;
        vmwrite(VM_ENTRY_CONTROLS, e);
    }
    if (efer & EFER_LMA) {
        /* An IA-32e mode guest needs a busy 64-bit TSS in TR (26.3.1.2). */
        uint32_t tr = (uint32_t)vmread(GUEST_ES_AR + 2 * SEG_TR);
        if ((tr & 0xF) != 11)
            vmwrite(GUEST_ES_AR + 2 * SEG_TR, (tr & ~0xFu) | 11);
    }
}

/* Invalidate the guest's linear and combined translations, as a MOV to CR0
 * or CR4 that changes the paging mode does (vol. 3A 4.10.4.1): VM entries
 * with VPIDs do not (vol. 3C 29.4.3.3). */
static void flush_guest_tlb(struct vcpu *v)
{
    uint16_t vpid = (uint16_t)v->hvm.vmx.vpid;
    if (vpid && boot_cpu.invvpid_single)
        invvpid(1, vpid);
    else if (boot_cpu.invvpid_all)
        invvpid(2, 0);
    else if (boot_cpu.invept_single)
        invept(1, vmread(EPT_POINTER));
    else
        invept(2, 0);
}

/* With EPT, PAE paging takes its PDPTEs from the VMCS at VM entry
 * (26.3.2.4) and the CPU saves them at VM exit (28.3.4); an emulated
 * paging-mode change must load them from guest memory as the CPU would
 * (vol. 3A 4.4.1).  False: unreadable or reserved bits set (#GP). */
static bool read_pdptes(struct vcpu *v, uint64_t cr3, uint64_t pdpte[4])
{
    if (copy_from_gpa(v->domain, pdpte, cr3 & 0xFFFFFFE0ULL, 4 * sizeof(uint64_t)))
        return false;
    for (unsigned i = 0; i < 4; i++)
        if ((pdpte[i] & 1) && (pdpte[i] & vmx.pdpte_reserved))
            return false;
    return true;
}

static void write_pdptes(const uint64_t pdpte[4])
{
    for (unsigned i = 0; i < 4; i++)
        vmwrite(GUEST_PDPTE0 + 2 * i, pdpte[i]);
}

static bool pae_paging(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    return (cr0 & X86_CR0_PG) && (cr4 & X86_CR4_PAE) && !(efer & EFER_LMA);
}

bool vmx_code64(struct vcpu *v)
{
    return vmx_code64_inline(v);
}

/* MOV to CR0 (vol. 3A 2.5, 9.8.5; vol. 3C 26.3.1.1): a change of PG with
 * EFER.LME set enters or leaves IA-32e mode, which VMX expresses through
 * EFER.LMA in the guest EFER field and the "IA-32e mode guest" entry
 * control. */
bool vmx_set_cr0(struct vcpu *v, uint64_t val, bool checked)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    uint64_t old = vmx_guest_cr0(v);
    uint64_t cr4 = guest_cr4(v);
    uint64_t efer = vmread(GUEST_IA32_EFER);
    uint64_t pdpte[4];

    if (checked) {
        if ((val >> 32) || ((val & X86_CR0_PG) && !(val & X86_CR0_PE)) ||
            ((val & X86_CR0_NW) && !(val & X86_CR0_CD)))
            goto gp;
        if ((val & X86_CR0_PG) && !(old & X86_CR0_PG) && (efer & EFER_LME) && !(cr4 & X86_CR4_PAE))
            goto gp;
        if (!(val & X86_CR0_PG) && (old & X86_CR0_PG) && vmx_code64(v))
            goto gp; /* leaving long mode from 64-bit code */
    }
    uint64_t new_efer = efer;
    if ((old ^ val) & X86_CR0_PG) {
        if ((val & X86_CR0_PG) && (efer & EFER_LME))
            new_efer |= EFER_LMA;
        else
            new_efer &= ~EFER_LMA;
    }
    bool load = pae_paging(val, cr4, new_efer) && ((old ^ val) & (X86_CR0_PG | X86_CR0_CD | X86_CR0_NW));
    if (load && !read_pdptes(v, vmread(GUEST_CR3), pdpte)) {
        if (checked)
            goto gp;
        load = false;
    }
    if (new_efer != efer)
        set_lma(v, new_efer);
    if (load)
        write_pdptes(pdpte);
    x->cr0_shadow = val;
    vmwrite(CR0_READ_SHADOW, val);
    vmwrite(GUEST_CR0, real_cr0(val));
    if ((old ^ val) & (X86_CR0_PG | X86_CR0_PE | X86_CR0_WP))
        flush_guest_tlb(v);
    return true;
gp:
    hvm_inject_gp(v);
    return false;
}

#define CR4_PAGING_BITS (X86_CR4_PAE | X86_CR4_PGE | X86_CR4_PSE | X86_CR4_PCIDE | X86_CR4_SMEP | X86_CR4_SMAP)

bool vmx_set_cr4(struct vcpu *v, uint64_t val, bool checked)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    uint64_t old = guest_cr4(v);
    uint64_t cr0 = vmx_guest_cr0(v);
    uint64_t efer = vmread(GUEST_IA32_EFER);
    uint64_t pdpte[4];

    /* VMX is not offered to guests (CPUID hides it): CR4.VMXE is reserved
     * for them, as are bits the CPU does not allow in VMX operation. */
    if (checked && ((val & ~vmx.cr4_fixed1) || (val & X86_CR4_VMXE) ||
                    ((efer & EFER_LMA) && !(val & X86_CR4_PAE))))
        goto gp;
    bool load = pae_paging(cr0, val, efer) && ((old ^ val) & CR4_PAGING_BITS);
    if (load && !read_pdptes(v, vmread(GUEST_CR3), pdpte)) {
        if (checked)
            goto gp;
        load = false;
    }
    if (load)
        write_pdptes(pdpte);
    x->cr4_shadow = val;
    vmwrite(CR4_READ_SHADOW, val);
    vmwrite(GUEST_CR4, real_cr4(val));
    if ((old ^ val) & CR4_PAGING_BITS)
        flush_guest_tlb(v);
    return true;
gp:
    hvm_inject_gp(v);
    return false;
}

/* --- Contexts and registers --------------------------------------------------- */

static void vmx_set_context(struct vcpu *v, const struct hvm_context *c)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    /* v does not run (or is the caller itself, between exits): its VMCS may
     * be current on no CPU or another one.  run() loads it. */
    *x->ctx = *c;
    __atomic_store_n(&x->ctx_pending, true, __ATOMIC_RELEASE);
}

static void load_context(struct vcpu *v, const struct hvm_context *c)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    for (unsigned s = SEG_ES; s <= SEG_TR; s++) {
        vmwrite(GUEST_ES_SELECTOR + 2 * s, c->seg[s].sel);
        vmwrite(GUEST_ES_LIMIT + 2 * s, c->seg[s].limit);
        vmwrite(GUEST_ES_AR + 2 * s, attr_to_ar(s, c->seg[s].attr));
        vmwrite(GUEST_ES_BASE + 2 * s, c->seg[s].base);
    }
    vmwrite(GUEST_GDTR_BASE, c->seg[SEG_GDTR].base);
    vmwrite(GUEST_GDTR_LIMIT, c->seg[SEG_GDTR].limit);
    vmwrite(GUEST_IDTR_BASE, c->seg[SEG_IDTR].base);
    vmwrite(GUEST_IDTR_LIMIT, c->seg[SEG_IDTR].limit);
    vmwrite(GUEST_RIP, c->rip);
    vmwrite(GUEST_RSP, c->rsp);
    vmwrite(GUEST_RFLAGS, c->rflags | X86_EFLAGS_FIXED);
    vmwrite(GUEST_CR3, c->cr3);
    x->cr2 = 0;

    uint64_t efer = c->efer & ~EFER_LMA;
    if ((efer & EFER_LME) && (c->cr0 & X86_CR0_PG))
        efer |= EFER_LMA;
    set_lma(v, efer);
    x->cr0_shadow = c->cr0;
    vmwrite(CR0_READ_SHADOW, c->cr0);
    vmwrite(GUEST_CR0, real_cr0(c->cr0));
    x->cr4_shadow = c->cr4;
    vmwrite(CR4_READ_SHADOW, c->cr4);
    vmwrite(GUEST_CR4, real_cr4(c->cr4));
    if (pae_paging(c->cr0, c->cr4, efer)) {
        uint64_t pdpte[4];
        if (read_pdptes(v, c->cr3, pdpte))
            write_pdptes(pdpte);
    }

    /* A fresh start: no event in flight, no blocking, no windows. */
    x->entry_intr = 0;
    vmwrite(VM_ENTRY_INTR_INFO, 0);
    vmwrite(GUEST_INTERRUPTIBILITY, 0);
    vmwrite(GUEST_ACTIVITY_STATE, 0);
    vmwrite(GUEST_PENDING_DBG_EXCEPTIONS, 0);
    vmx_proc_ctls(v, 0, PROC_INTR_WINDOW | PROC_NMI_WINDOW);
}

static uint64_t vmx_get_reg(struct vcpu *v, enum hvm_reg r)
{
    switch (r) {
    case HVM_RIP: return vmread(GUEST_RIP);
    case HVM_RSP: return vmread(GUEST_RSP);
    case HVM_RFLAGS: return vmread(GUEST_RFLAGS);
    case HVM_CR0: return vmx_guest_cr0(v);
    case HVM_CR2: return v->hvm.vmx.cr2;
    case HVM_CR3: return vmread(GUEST_CR3);
    case HVM_CR4: return guest_cr4(v);
    case HVM_EFER: return vmread(GUEST_IA32_EFER);
    case HVM_PAT: return vmread(GUEST_IA32_PAT);
    }
    return 0;
}

static void vmx_set_reg(struct vcpu *v, enum hvm_reg r, uint64_t val)
{
    switch (r) {
    case HVM_RIP: vmwrite(GUEST_RIP, val); break;
    case HVM_RSP: vmwrite(GUEST_RSP, val); break;
    case HVM_RFLAGS:
        vmwrite(GUEST_RFLAGS, val | X86_EFLAGS_FIXED);
        /* STI blocking needs RFLAGS.IF (26.3.1.5). */
        if (!(val & X86_EFLAGS_IF))
            vmwrite(GUEST_INTERRUPTIBILITY, vmread(GUEST_INTERRUPTIBILITY) & ~INTR_BLOCK_STI);
        break;
    case HVM_CR0: vmx_set_cr0(v, val, false); break;
    case HVM_CR2: v->hvm.vmx.cr2 = val; break;
    case HVM_CR3: {
        vmwrite(GUEST_CR3, val);
        uint64_t pdpte[4];
        if (pae_paging(vmx_guest_cr0(v), guest_cr4(v), vmread(GUEST_IA32_EFER)) && read_pdptes(v, val, pdpte))
            write_pdptes(pdpte);
        flush_guest_tlb(v);
        break;
    }
    case HVM_CR4: vmx_set_cr4(v, val, false); break;
    case HVM_EFER: {
        /* As svm.c: the guest's EFER; LMA follows LME once paging is on
         * (the CPU keeps it while the guest runs). */
        uint64_t old = vmread(GUEST_IA32_EFER);
        uint64_t efer = val & ~EFER_LMA;
        if ((val & EFER_LME) && (old & EFER_LMA))
            efer |= EFER_LMA;
        set_lma(v, efer);
        break;
    }
    case HVM_PAT: vmwrite(GUEST_IA32_PAT, val); break;
    }
}

static void vmx_get_segment(struct vcpu *v, enum hvm_seg s, struct segment *out)
{
    (void)v;
    if (s == SEG_GDTR || s == SEG_IDTR) {
        out->sel = 0;
        out->attr = 0;
        out->limit = (uint32_t)vmread(s == SEG_GDTR ? GUEST_GDTR_LIMIT : GUEST_IDTR_LIMIT);
        out->base = vmread(s == SEG_GDTR ? GUEST_GDTR_BASE : GUEST_IDTR_BASE);
        return;
    }
    out->sel = (uint16_t)vmread(GUEST_ES_SELECTOR + 2 * s);
    out->attr = ar_to_attr((uint32_t)vmread(GUEST_ES_AR + 2 * s));
    out->limit = (uint32_t)vmread(GUEST_ES_LIMIT + 2 * s);
    out->base = vmread(GUEST_ES_BASE + 2 * s);
}

unsigned vmx_get_cpl(struct vcpu *v)
{
    return vmx_get_cpl_inline(v);
}

/* --- Entering the guest -------------------------------------------------------- */

/* Make v's VMCS current on this CPU and refresh the host state that
 * differs between CPUs.  False: VMPTRLD failed (the domain is crashed). */
static bool vmx_load(struct vcpu *v)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    struct percpu *p = this_cpu();
    struct vmx_cpu *c = p->arch_virt;
    if (c->current == x->vmcs)
        return true;
    if (!vmptrld(x->vmcs)) {
        hvm_invalid_state(v, "VMPTRLD failed");
        return false;
    }
    c->current = x->vmcs;
    x->active_cpu = (int)p->cpu;
    if (!x->configured)
        configure(v);
    struct desc_ptr idt;
    sidt(&idt);
    vmwrite(HOST_CR0, read_cr0());
    vmwrite(HOST_CR3, read_cr3());
    vmwrite(HOST_CR4, read_cr4());
    vmwrite(HOST_IA32_EFER, rdmsr(MSR_EFER));
    vmwrite(HOST_GS_BASE, (uint64_t)p);
    vmwrite(HOST_TR_BASE, (uint64_t)&p->tss);
    vmwrite(HOST_GDTR_BASE, (uint64_t)p->gdt);
    vmwrite(HOST_IDTR_BASE, idt.base);
    return true;
}

/* VPID and EPT invalidation before an entry (vol. 3C 29.4.3).  A new VPID
 * (first run, another CPU, or a recycled tag) may carry a previous owner's
 * translations: INVVPID.  INVEPT when the domain's p2m lost mappings since
 * this vCPU last flushed, and also with a new tag: guest-physical mappings
 * of this EPTP from an earlier run on this CPU are tagged by the EPTP only
 * and may predate an unmap another vCPU flushed elsewhere. */
static void vmx_tlb(struct vcpu *v)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    bool fresh = false;
    uint64_t gen = __atomic_load_n(&v->domain->p2m.tlb_gen, __ATOMIC_ACQUIRE);
    /* Same CPU, same tag generation, same p2m: nothing to do (the common
     * case on every exit). */
    if (likely(x->vpid && x->vpid_cpu == this_cpu()->cpu && x->tlb_gen == gen && hvm_tlb_tag_current(x->vpid_gen)))
        return;
    hvm_tlb_tag(&x->vpid, &x->vpid_gen, &x->vpid_cpu, NR_VPIDS, &fresh);
    bool ept = fresh || x->tlb_gen != gen;
    x->tlb_gen = gen;
    if (fresh) {
        vmwrite(VIRTUAL_PROCESSOR_ID, x->vpid);
        if (boot_cpu.invvpid_single)
            invvpid(1, (uint16_t)x->vpid);
        else if (boot_cpu.invvpid_all)
            invvpid(2, 0);
    }
    if (ept) {
        if (boot_cpu.invept_single)
            invept(1, v->domain->p2m.root | EPTP_WALK_4 | EPTP_WB);
        else
            invept(2, 0);
    }
}

/* Vectors that push an error code (vol. 3A 6.13); VM entry delivers one
 * only for those, and never in real mode (26.2.1.3). */
static bool has_error_code(unsigned vector)
{
    return vector == 8 || (vector >= 10 && vector <= 14) || vector == 17 || vector == 21;
}

static void vmx_inject(struct vcpu *v)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    struct hvm_event *e = &v->hvm.exception;
    if (likely(!hvm_event_maybe_pending(v))) {
        if (unlikely(x->proc_ctls & (PROC_INTR_WINDOW | PROC_NMI_WINDOW)))
            vmx_proc_ctls(v, 0, PROC_INTR_WINDOW | PROC_NMI_WINDOW);
        return;
    }
    bool nmi = READ_ONCE(v->hvm.nmi_pending);
    int vec = hvm_pending_interrupt(v);

    if (!(x->entry_intr & INTR_INFO_VALID)) {
        if (e->pending) {
            uint32_t info = e->vector | ((uint32_t)e->type << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;
            if (e->has_error && has_error_code(e->vector) && (x->cr0_shadow & X86_CR0_PE)) {
                info |= INTR_INFO_ERROR_CODE;
                vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, e->error);
            }
            x->entry_intr = info;
            vmwrite(VM_ENTRY_INTR_INFO, info);
            e->pending = false;
        } else if (nmi || vec >= 0) {
            uint32_t block = (uint32_t)vmread(GUEST_INTERRUPTIBILITY);
            if (nmi && !(block & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS | INTR_BLOCK_NMI))) {
                /* With virtual NMIs the CPU blocks further NMIs until the
                 * guest's IRET (25.3, 26.7.1). */
                __atomic_store_n(&v->hvm.nmi_pending, false, __ATOMIC_RELAXED);
                nmi = false;
                x->entry_intr = 2 | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;
                vmwrite(VM_ENTRY_INTR_INFO, x->entry_intr);
            } else if (vec >= 0 && (vmread(GUEST_RFLAGS) & X86_EFLAGS_IF) &&
                       !(block & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))) {
                x->entry_intr = (uint32_t)vec | (INTR_TYPE_EXT_INTR << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;
                vmwrite(VM_ENTRY_INTR_INFO, x->entry_intr);
                hvm_interrupt_injected(v, vec);
                vec = -1;
            }
        }
    }
    /* Whatever could not go in now: exit as soon as the guest can take it
     * (after the event being injected, 26.7.5-26.7.6). */
    uint32_t set = 0, clear = 0;
    if (vec >= 0)
        set |= PROC_INTR_WINDOW;
    else
        clear |= PROC_INTR_WINDOW;
    if (nmi && (vmx.pin & PIN_VIRTUAL_NMIS))
        set |= PROC_NMI_WINDOW;
    else
        clear |= PROC_NMI_WINDOW;
    vmx_proc_ctls(v, set, clear);
}

/* An event whose delivery the exit interrupted is delivered again at the
 * next entry (vol. 3C 28.2.4, 27.2.4 for the instruction length). */
static void vmx_reinject(struct vcpu *v)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    uint32_t info = (uint32_t)vmread(IDT_VECTORING_INFO);
    x->entry_intr = 0;
    if (!(info & INTR_INFO_VALID))
        return;
    info &= ~INTR_INFO_NMI_UNBLOCK; /* bit 12 is undefined here */
    uint32_t type = (info & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT;
    if (info & INTR_INFO_ERROR_CODE)
        vmwrite(VM_ENTRY_EXCEPTION_ERROR_CODE, vmread(IDT_VECTORING_ERROR_CODE));
    if (type == INTR_TYPE_SW_INT || type == INTR_TYPE_PRIV_SW_EXCEPTION || type == INTR_TYPE_SW_EXCEPTION)
        vmwrite(VM_ENTRY_INSTRUCTION_LEN, vmread(VM_EXIT_INSTRUCTION_LEN));
    if (type == INTR_TYPE_NMI)
        /* Injecting an NMI needs virtual-NMI blocking clear (26.3.1.5). */
        vmwrite(GUEST_INTERRUPTIBILITY, vmread(GUEST_INTERRUPTIBILITY) & ~INTR_BLOCK_NMI);
    x->entry_intr = info;
    vmwrite(VM_ENTRY_INTR_INFO, info);
}

static const char *const vm_insn_errors[] = {
    [1] = "VMCALL in VMX root",         [2] = "VMCLEAR with invalid address",
    [3] = "VMCLEAR with VMXON pointer", [4] = "VMLAUNCH with non-clear VMCS",
    [5] = "VMRESUME with non-launched VMCS", [6] = "VMRESUME after VMXOFF",
    [7] = "invalid control fields",    [8] = "invalid host-state fields",
    [9] = "VMPTRLD with invalid address", [10] = "VMPTRLD with VMXON pointer",
    [11] = "VMPTRLD with wrong revision", [12] = "unsupported VMCS component",
    [13] = "VMWRITE to read-only field", [15] = "VMXON in VMX root",
    [16] = "invalid executive-VMCS pointer", [26] = "blocked by MOV SS",
    [28] = "invalid INVEPT/INVVPID operand",
};

static void entry_failed(struct vcpu *v, int rc)
{
    char why[96];
    if (rc == 1) {
        /* VMfailValid: the reason is in the VMCS (vol. 3C 31.4). */
        unsigned err = (unsigned)vmread(VM_INSTRUCTION_ERROR);
        const char *name = err < ARRAY_SIZE(vm_insn_errors) && vm_insn_errors[err] ? vm_insn_errors[err] : "?";
        snprintf(why, sizeof(why), "%s failed: VM-instruction error %u (%s)",
                 v->hvm.vmx.launched ? "VMRESUME" : "VMLAUNCH", err, name);
    } else {
        snprintf(why, sizeof(why), "%s failed: VMfailInvalid (no current VMCS)",
                 v->hvm.vmx.launched ? "VMRESUME" : "VMLAUNCH");
    }
    hvm_invalid_state(v, why);
}

/* v leaves this CPU: VMCLEAR so that any CPU may load it next time. */
static void vmx_release(struct vcpu *v)
{
    struct vmx_vcpu *x = &v->hvm.vmx;
    struct vmx_cpu *c = this_cpu()->arch_virt;
    if (x->active_cpu == (int)smp_processor_id()) {
        vmclear(x->vmcs);
        if (c->current == x->vmcs)
            c->current = 0;
    }
    x->active_cpu = -1;
    x->launched = false;
}

static void vmx_run(struct vcpu *v)
{
    struct vmx_vcpu *x = &v->hvm.vmx;

    for (;;) {
        irq_disable();
        if (hvm_should_stop()) {
            vmx_release(v);
            irq_enable();
            return;
        }
        if (!vmx_load(v)) {
            irq_enable();
            continue; /* crashed: sched_should_stop() ends the loop */
        }
        if (__atomic_exchange_n(&x->ctx_pending, false, __ATOMIC_ACQUIRE))
            load_context(v, x->ctx);
        vmx_tlb(v);
        vmx_inject(v);
        /* CR2 is not part of the VMCS: the guest's value must be in the
         * register across the entry, and is read back before interrupts
         * (whose handlers might fault) are enabled. */
        if (read_cr2() != x->cr2)
            write_cr2(x->cr2);
        int rc = vmx_enter(&v->regs, x->launched);
        if (rc) {
            irq_enable();
            entry_failed(v, rc);
            continue;
        }
        x->cr2 = read_cr2();
        uint32_t reason = (uint32_t)vmread(VM_EXIT_REASON);
        /* A failed entry reported as an exit (27.8) launched nothing. */
        if (!(reason & EXIT_REASON_ENTRY_FAILURE))
            x->launched = true;
        if ((uint16_t)reason == EXIT_EXCEPTION_NMI &&
            ((vmread(VM_EXIT_INTR_INFO) & INTR_INFO_TYPE_MASK) >> INTR_INFO_TYPE_SHIFT) == INTR_TYPE_NMI) {
            /* With NMI exiting the NMI is consumed by the exit (27.1): hand
             * it to the host's handler the way hardware would have, with
             * interrupts still off.  INT 2 goes through the NMI gate (IST
             * stack); it does not block NMIs, which is harmless here. */
            __asm__ __volatile__("int $2" ::: "memory");
        }
        /* Host interrupts that caused or arrived during the exit run here. */
        irq_enable();
        vmx_reinject(v);
        vmx_handle_exit(v, reason);
    }
}

static void vmx_vcpu_put(struct vcpu *v)
{
    /* run() already VMCLEARed the VMCS (see the top of this file); v may
     * even be freed by now, so it is not touched. */
    (void)v;
}

/* --- EPT entries (vol. 3C 29.3.2, tables 29-1 to 29-6) --------------------------- */

static uint64_t ept_leaf(mfn_t mfn, unsigned perms, unsigned level)
{
    uint64_t e = (mfn << PAGE_SHIFT) | EPT_R | EPT_MT_WB;
    if (perms & P2M_W)
        e |= EPT_W;
    if (perms & P2M_X)
        e |= EPT_X;
    if (level)
        e |= EPT_PS;
    return e;
}

static uint64_t ept_table(paddr_t t)
{
    return t | EPT_R | EPT_W | EPT_X;
}

static bool ept_present(uint64_t e)
{
    return e & (EPT_R | EPT_W | EPT_X);
}

static bool ept_is_leaf(uint64_t e, unsigned level)
{
    return level == 0 || (e & EPT_PS);
}

static unsigned ept_perms(uint64_t e)
{
    return (e & EPT_R ? P2M_R : 0) | (e & EPT_W ? P2M_W : 0) | (e & EPT_X ? P2M_X : 0);
}

const struct hvm_ops vmx_ops = {
    .name = "VT-x",
    .p2m_name = "EPT",
    .cpu_up = vmx_cpu_up,
    .vcpu_init = vmx_vcpu_init,
    .vcpu_destroy = vmx_vcpu_destroy,
    .set_context = vmx_set_context,
    .run = vmx_run,
    .vcpu_put = vmx_vcpu_put,
    .get_reg = vmx_get_reg,
    .set_reg = vmx_set_reg,
    .get_segment = vmx_get_segment,
    .get_cpl = vmx_get_cpl,
    .long_mode = vmx_code64,
    .p2m_leaf = ept_leaf,
    .p2m_table = ept_table,
    .p2m_present = ept_present,
    .p2m_is_leaf = ept_is_leaf,
    .p2m_perms = ept_perms,
    .exit_name = vmx_exit_name,
    .nr_exit_reasons = VMX_NR_EXITS,
    .hypercall_insn = { 0x0F, 0x01, 0xC1 }, /* VMCALL */
    .switch_syscall_msrs = true,
};
