/* AMD-V backend: enabling SVM, the VMCB, the run loop (AMD APM vol. 2 ch. 15). */
#include <keel/domain.h>
#include <keel/heap.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/panic.h>
#include <keel/printk.h>
#include <keel/vcpu.h>
#include <asm/features.h>
#include <asm/hvm.h>
#include <asm/page.h>
#include <asm/percpu.h>

#include "svm.h"
#include "vmcb.h"

#define MSR_VM_HSAVE_PA 0xC0010117

_Static_assert(offsetof(struct guest_regs, rbx) == 8 && offsetof(struct guest_regs, rdi) == 40 &&
                   offsetof(struct guest_regs, r15) == 112,
               "svm/entry.S register offsets");

struct svm_cpu {
    paddr_t hsave;     /* VM_HSAVE_PA: the CPU's own host save area */
    paddr_t host_vmcb; /* host FS/GS/TR/syscall state for VMSAVE/VMLOAD */
};

static paddr_t iopm_pa, msrpm_pa;
static uint32_t nr_asids;

static inline struct vmcb *vmcb_of(struct vcpu *v)
{
    return phys_to_virt(v->hvm.svm.vmcb);
}

static inline void clgi(void) { __asm__ __volatile__("clgi" ::: "memory"); }
static inline void stgi(void) { __asm__ __volatile__("stgi" ::: "memory"); }

/* --- Permission maps ------------------------------------------------------ */

/* Let the guest touch an MSR directly: state VMRUN/VMLOAD/VMSAVE switch. */
static void msrpm_allow(uint8_t *pm, uint32_t msr)
{
    uint32_t base;
    if (msr < 0x2000)
        base = 0;
    else if (msr >= 0xC0000000 && msr < 0xC0002000)
        base = 0x800, msr -= 0xC0000000;
    else if (msr >= 0xC0010000 && msr < 0xC0012000)
        base = 0x1000, msr -= 0xC0010000;
    else
        return;
    uint32_t bit = msr * 2; /* read bit, then write bit */
    pm[base + bit / 8] &= (uint8_t)~(3u << (bit % 8));
}

static int build_maps(void)
{
    iopm_pa = frame_alloc(2, 0); /* 12 KiB used of 16 */
    msrpm_pa = frame_alloc(1, 0);
    if (!iopm_pa || !msrpm_pa)
        return -ENOMEM;
    memset(phys_to_virt(iopm_pa), 0xFF, 4 * PAGE_SIZE);
    uint8_t *pm = phys_to_virt(msrpm_pa);
    memset(pm, 0xFF, 2 * PAGE_SIZE);
    static const uint32_t direct[] = {
        MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK,
        MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
    };
    for (unsigned i = 0; i < ARRAY_SIZE(direct); i++)
        msrpm_allow(pm, direct[i]);
    return 0;
}

/* --- CPU bring-up ------------------------------------------------------- */

static int svm_cpu_up(void)
{
    struct percpu *p = this_cpu();
    struct svm_cpu *c = kzalloc(sizeof(*c));
    if (!c)
        return -ENOMEM;
    c->hsave = frame_alloc(0, FRAME_ZERO);
    c->host_vmcb = frame_alloc(0, FRAME_ZERO);
    if (!c->hsave || !c->host_vmcb)
        return -ENOMEM;
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, c->hsave);
    /* Host FS/GS/TR/LDTR and syscall MSRs, restored after every exit. */
    __asm__ __volatile__("vmsave %%rax" ::"a"(c->host_vmcb) : "memory");
    p->arch_virt = c;
    if (p->cpu == 0) {
        nr_asids = boot_cpu.svm_asids;
        if (build_maps())
            return -ENOMEM;
    }
    return 0;
}

/* --- vCPU setup ---------------------------------------------------------- */

static int svm_vcpu_init(struct vcpu *v)
{
    paddr_t pa = frame_alloc(0, FRAME_ZERO);
    if (!pa)
        return -ENOMEM;
    v->hvm.svm.vmcb = pa;
    struct vmcb *vmcb = phys_to_virt(pa);

    vmcb->intercept_misc1 = SVM_INTR | SVM_NMI | SVM_SMI | SVM_INIT | SVM_CPUID | SVM_HLT | SVM_IOIO | SVM_MSR |
                            SVM_SHUTDOWN | SVM_TASK_SWITCH | SVM_FERR_FREEZE | SVM_INVLPGA | SVM_RDPMC | SVM_INVD;
    vmcb->intercept_misc2 = SVM_VMRUN | SVM_VMMCALL | SVM_VMLOAD | SVM_VMSAVE | SVM_STGI | SVM_CLGI | SVM_SKINIT |
                            SVM_MONITOR | SVM_MWAIT | SVM_MWAIT_COND | SVM_XSETBV | SVM_RDPRU | SVM_ICEBP;
    if (boot_cpu.pause_filter) {
        vmcb->intercept_misc1 |= SVM_PAUSE;
        vmcb->pause_filter_count = 3000;
    }
    vmcb->iopm_base = iopm_pa;
    vmcb->msrpm_base = msrpm_pa;
    vmcb->tsc_offset = v->domain->tsc_offset;
    vmcb->vintr = VINTR_MASKING;
    vmcb->np_enable = 1;
    vmcb->ncr3 = v->domain->p2m.root;
    vmcb->g_pat = 0x0007040600070406ULL;
    vmcb->dr6 = 0xFFFF0FF0;
    vmcb->dr7 = 0x400;
    v->hvm.svm.asid = 0;
    return 0;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
    if (v->hvm.svm.vmcb)
        frame_free(v->hvm.svm.vmcb, 0);
    v->hvm.svm.vmcb = 0;
}

static void seg_to_vmcb(struct vmcb_seg *d, const struct segment *s)
{
    d->sel = s->sel;
    d->attr = s->attr;
    d->limit = s->limit;
    d->base = s->base;
}

static void seg_from_vmcb(struct segment *d, const struct vmcb_seg *s)
{
    d->sel = s->sel;
    d->attr = s->attr;
    d->limit = s->limit;
    d->base = s->base;
}

static struct vmcb_seg *vmcb_seg(struct vmcb *vmcb, enum hvm_seg s)
{
    switch (s) {
    case SEG_ES: return &vmcb->es;
    case SEG_CS: return &vmcb->cs;
    case SEG_SS: return &vmcb->ss;
    case SEG_DS: return &vmcb->ds;
    case SEG_FS: return &vmcb->fs;
    case SEG_GS: return &vmcb->gs;
    case SEG_LDTR: return &vmcb->ldtr;
    case SEG_TR: return &vmcb->tr;
    case SEG_GDTR: return &vmcb->gdtr;
    case SEG_IDTR: return &vmcb->idtr;
    default: return &vmcb->es;
    }
}

static void svm_set_context(struct vcpu *v, const struct hvm_context *c)
{
    struct vmcb *vmcb = vmcb_of(v);
    for (unsigned s = 0; s < SEG_COUNT; s++)
        seg_to_vmcb(vmcb_seg(vmcb, (enum hvm_seg)s), &c->seg[s]);
    vmcb->cpl = (uint8_t)((c->seg[SEG_SS].attr >> 5) & 3); /* CPL is SS.DPL */
    vmcb->rip = c->rip;
    vmcb->rsp = c->rsp;
    vmcb->rflags = c->rflags | X86_EFLAGS_FIXED;
    vmcb->cr0 = c->cr0;
    vmcb->cr3 = c->cr3;
    vmcb->cr4 = c->cr4;
    vmcb->cr2 = 0;
    v->hvm.svm.efer_guest = c->efer;
    /* SVME must be set in the guest's EFER copy (else VMEXIT_INVALID); the
     * guest sees its own value through the MSR intercept. */
    vmcb->efer = c->efer | EFER_SVME;
    vmcb->eventinj = 0;
    vmcb->int_state = 0;
    vmcb->vintr = VINTR_MASKING;
    vmcb->intercept_misc1 &= ~SVM_VINTR;
}

static uint64_t svm_get_reg(struct vcpu *v, enum hvm_reg r)
{
    struct vmcb *vmcb = vmcb_of(v);
    switch (r) {
    case HVM_RIP: return vmcb->rip;
    case HVM_RSP: return vmcb->rsp;
    case HVM_RFLAGS: return vmcb->rflags;
    case HVM_CR0: return vmcb->cr0;
    case HVM_CR2: return vmcb->cr2;
    case HVM_CR3: return vmcb->cr3;
    case HVM_CR4: return vmcb->cr4;
    case HVM_EFER: return v->hvm.svm.efer_guest | (vmcb->efer & EFER_LMA);
    case HVM_PAT: return vmcb->g_pat;
    }
    return 0;
}

static void svm_set_reg(struct vcpu *v, enum hvm_reg r, uint64_t val)
{
    struct vmcb *vmcb = vmcb_of(v);
    switch (r) {
    case HVM_RIP: vmcb->rip = val; break;
    case HVM_RSP: vmcb->rsp = val; break;
    case HVM_RFLAGS: vmcb->rflags = val | X86_EFLAGS_FIXED; break;
    case HVM_CR0: vmcb->cr0 = val; break;
    case HVM_CR2: vmcb->cr2 = val; break;
    case HVM_CR3: vmcb->cr3 = val; break;
    case HVM_CR4: vmcb->cr4 = val; break;
    case HVM_EFER:
        v->hvm.svm.efer_guest = val & ~EFER_LMA;
        /* LMA follows LME once paging is on (the CPU updates it itself
         * while the guest runs; keep it consistent for a write). */
        vmcb->efer = (val & ~EFER_LMA) | EFER_SVME | (vmcb->efer & EFER_LMA);
        if (!(val & EFER_LME))
            vmcb->efer &= ~EFER_LMA;
        break;
    case HVM_PAT: vmcb->g_pat = val; break;
    }
}

static void svm_get_segment(struct vcpu *v, enum hvm_seg s, struct segment *out)
{
    seg_from_vmcb(out, vmcb_seg(vmcb_of(v), s));
}

static unsigned svm_get_cpl(struct vcpu *v)
{
    return vmcb_of(v)->cpl;
}

static bool svm_long_mode(struct vcpu *v)
{
    const struct vmcb *vmcb = vmcb_of(v);
    return (vmcb->efer & EFER_LMA) && (vmcb->cs.attr & (1u << 9)); /* CS.L */
}

/* --- Entering the guest -------------------------------------------------- */

static void svm_tlb(struct vcpu *v, struct vmcb *vmcb)
{
    struct svm_vcpu *s = &v->hvm.svm;
    bool flush = false;
    uint64_t gen = __atomic_load_n(&v->domain->p2m.tlb_gen, __ATOMIC_ACQUIRE);
    /* Same CPU, same tag generation, same p2m: nothing to do (the common
     * case on every exit). */
    if (likely(s->asid && s->asid_cpu == this_cpu()->cpu && s->tlb_gen == gen && hvm_tlb_tag_current(s->asid_gen))) {
        vmcb->tlb_control = 0;
        return;
    }
    hvm_tlb_tag(&s->asid, &s->asid_gen, &s->asid_cpu, nr_asids, &flush);
    if (s->tlb_gen != gen) {
        s->tlb_gen = gen;
        flush = true;
    }
    vmcb->asid = s->asid;
    /* Flush-by-ASID (3) where the CPU has it, else the whole TLB (1). */
    vmcb->tlb_control = flush ? (boot_cpu.flush_by_asid ? 3 : 1) : 0;
}

static void svm_inject(struct vcpu *v, struct vmcb *vmcb)
{
    if (vmcb->eventinj & EVENTINJ_VALID)
        return; /* an event interrupted by the last exit is re-delivered first */
    if (likely(!hvm_event_maybe_pending(v)))
        return;
    struct hvm_event *e = &v->hvm.exception;
    if (e->pending) {
        vmcb->eventinj = e->vector | ((uint64_t)e->type << EVENTINJ_TYPE_SHIFT) | EVENTINJ_VALID |
                         (e->has_error ? EVENTINJ_EV | ((uint64_t)e->error << 32) : 0);
        e->pending = false;
        return;
    }
    int vec = hvm_pending_interrupt(v);
    if (vec < 0)
        return;
    if ((vmcb->rflags & X86_EFLAGS_IF) && !(vmcb->int_state & 1)) {
        vmcb->eventinj = (uint64_t)vec | EVENTINJ_VALID;
        hvm_interrupt_injected(v, vec);
        vmcb->vintr &= ~VINTR_IRQ;
        vmcb->intercept_misc1 &= ~SVM_VINTR;
    } else {
        /* Not interruptible now: a virtual interrupt request makes the CPU
         * exit (VINTR) as soon as the guest can take it. */
        vmcb->vintr |= VINTR_IRQ | VINTR_IGN_TPR | (0xFULL << VINTR_PRIO_SHIFT);
        vmcb->intercept_misc1 |= SVM_VINTR;
    }
}

static void svm_run(struct vcpu *v)
{
    struct vmcb *vmcb = vmcb_of(v);
    struct svm_cpu *c = this_cpu()->arch_virt;

    for (;;) {
        irq_disable();
        if (hvm_should_stop()) {
            irq_enable();
            return;
        }
        svm_tlb(v, vmcb);
        svm_inject(v, vmcb);
        vmcb->rax = v->regs.rax;
        clgi();
        irq_enable();
        svm_vmrun(&v->regs, v->hvm.svm.vmcb, c->host_vmcb);
        v->regs.rax = vmcb->rax;
        /* Host interrupts that caused or arrived during the exit run here. */
        stgi();
        if (vmcb->exitintinfo & EVENTINJ_VALID) {
            vmcb->eventinj = vmcb->exitintinfo;
            vmcb->exitintinfo = 0;
        } else {
            vmcb->eventinj = 0;
        }
        svm_handle_exit(v, vmcb);
    }
}

static void svm_vcpu_put(struct vcpu *v)
{
    (void)v; /* nothing is cached per CPU: a VMCB can run anywhere */
}

/* --- Second-level tables (NPT uses the host's format) ------------------- */

#define NPT_P (1ULL << 0)
#define NPT_W (1ULL << 1)
#define NPT_U (1ULL << 2)
#define NPT_PS (1ULL << 7)
#define NPT_NX (1ULL << 63)
#define NPT_ADDR 0x000FFFFFFFFFF000ULL

static uint64_t npt_leaf(mfn_t mfn, unsigned perms, unsigned level)
{
    uint64_t e = (mfn << PAGE_SHIFT) | NPT_P | NPT_U;
    if (perms & P2M_W)
        e |= NPT_W;
    if (!(perms & P2M_X))
        e |= NPT_NX;
    if (level)
        e |= NPT_PS;
    return e;
}

static uint64_t npt_table(paddr_t t)
{
    return t | NPT_P | NPT_W | NPT_U; /* the User bit is needed at every level */
}

static bool npt_present(uint64_t e)
{
    return e & NPT_P;
}

static bool npt_is_leaf(uint64_t e, unsigned level)
{
    return level == 0 || (e & NPT_PS);
}

static unsigned npt_perms(uint64_t e)
{
    return P2M_R | ((e & NPT_W) ? P2M_W : 0) | ((e & NPT_NX) ? 0 : P2M_X);
}

const struct hvm_ops svm_ops = {
    .name = "AMD-V",
    .p2m_name = "NPT",
    .cpu_up = svm_cpu_up,
    .vcpu_init = svm_vcpu_init,
    .vcpu_destroy = svm_vcpu_destroy,
    .set_context = svm_set_context,
    .run = svm_run,
    .vcpu_put = svm_vcpu_put,
    .get_reg = svm_get_reg,
    .set_reg = svm_set_reg,
    .get_segment = svm_get_segment,
    .get_cpl = svm_get_cpl,
    .long_mode = svm_long_mode,
    .p2m_leaf = npt_leaf,
    .p2m_table = npt_table,
    .p2m_present = npt_present,
    .p2m_is_leaf = npt_is_leaf,
    .p2m_perms = npt_perms,
    .exit_name = svm_exit_name,
    .nr_exit_reasons = SVM_NR_SLOTS,
    .hypercall_insn = { 0x0F, 0x01, 0xD9 }, /* VMMCALL */
};
