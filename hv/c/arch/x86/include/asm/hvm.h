/*
 * The one vCPU interface with two backends (VT-x in arch/x86/vmx, AMD-V in
 * arch/x86/svm).  Core code calls hvm_* and the ops table; only a backend
 * touches a VMCS or a VMCB.  Backends decode their exits through their own
 * exit tables and hand the meaning to the vendor-neutral handlers below.
 */
#ifndef ASM_HVM_H
#define ASM_HVM_H

#include <keel/types.h>
#include <asm/cpu.h>

struct vcpu;
struct domain;

struct segment {
    uint16_t sel;
    uint16_t attr;   /* SVM-style 12-bit packing: type S DPL P in 0-7, AVL L D G in 8-11 */
    uint32_t limit;
    uint64_t base;
};

enum hvm_seg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_GDTR, SEG_IDTR, SEG_COUNT };

/* A complete initial register state (PVH entry, VCPUOP_initialise, INIT). */
struct hvm_context {
    uint64_t rip, rsp, rflags;
    uint64_t cr0, cr3, cr4, efer;
    struct segment seg[SEG_COUNT];
};

enum hvm_reg { HVM_RIP, HVM_RSP, HVM_RFLAGS, HVM_CR0, HVM_CR2, HVM_CR3, HVM_CR4, HVM_EFER, HVM_PAT };

struct hvm_ops {
    const char *name;            /* "VT-x" or "AMD-V" */
    const char *p2m_name;        /* "EPT" or "NPT" */
    /* Enable virtualization on the calling CPU. */
    int (*cpu_up)(void);
    int (*vcpu_init)(struct vcpu *v);
    void (*vcpu_destroy)(struct vcpu *v);
    void (*set_context)(struct vcpu *v, const struct hvm_context *c);
    /* Run v on this CPU until the scheduler wants the CPU back. */
    void (*run)(struct vcpu *v);
    /* v leaves this CPU (it may run elsewhere next). */
    void (*vcpu_put)(struct vcpu *v);
    uint64_t (*get_reg)(struct vcpu *v, enum hvm_reg r);
    void (*set_reg)(struct vcpu *v, enum hvm_reg r, uint64_t val);
    void (*get_segment)(struct vcpu *v, enum hvm_seg s, struct segment *out);
    unsigned (*get_cpl)(struct vcpu *v);
    /* Is the vCPU executing 64-bit code (EFER.LMA and CS.L)? */
    bool (*long_mode)(struct vcpu *v);
    /* Second-level page-table entries. */
    uint64_t (*p2m_leaf)(mfn_t mfn, unsigned perms, unsigned level);
    uint64_t (*p2m_table)(paddr_t table);
    bool (*p2m_present)(uint64_t pte);
    bool (*p2m_is_leaf)(uint64_t pte, unsigned level);
    unsigned (*p2m_perms)(uint64_t pte);
    const char *(*exit_name)(unsigned reason);
    unsigned nr_exit_reasons;
    /* The hypercall instruction written into hypercall pages. */
    uint8_t hypercall_insn[3];
    /* VM entry does not switch STAR/LSTAR/CSTAR/SFMASK/KERNEL_GS_BASE
     * (VT-x): hvm_context_switch() does.  AMD-V's VMLOAD/VMSAVE do. */
    bool switch_syscall_msrs;
};

extern const struct hvm_ops *hvm;
extern const struct hvm_ops vmx_ops;
extern const struct hvm_ops svm_ops;

/* Boot: pick the backend for this CPU and enable it on every CPU. */
void hvm_init(void);
bool hvm_available(void);
void hvm_cpu_up(void);

/* --- Vendor-neutral exit handlers, called by the backends ------------- */
/* Each returns true if the instruction completed (the backend advances RIP). */
bool hvm_cpuid(struct vcpu *v);
bool hvm_rdmsr(struct vcpu *v);   /* ECX in, EDX:EAX out; false: #GP was queued */
bool hvm_wrmsr(struct vcpu *v);
bool hvm_portio(struct vcpu *v, uint16_t port, unsigned bytes, bool in, bool string, bool rep);
bool hvm_xsetbv(struct vcpu *v);
void hvm_hypercall(struct vcpu *v);   /* RIP advanced by the backend first */
/* The same when the backend already knows the CPL and the mode. */
void hvm_hypercall_mode(struct vcpu *v, unsigned cpl, bool long_mode);
void hvm_hlt(struct vcpu *v);
void hvm_pause_loop(struct vcpu *v);
void hvm_npf(struct vcpu *v, gpa_t gpa, bool write, bool fetch, bool present);
void hvm_triple_fault(struct vcpu *v);
void hvm_invalid_state(struct vcpu *v, const char *why);
void hvm_unhandled_exit(struct vcpu *v, unsigned reason, uint64_t info);

/* --- Events ------------------------------------------------------------ */
void hvm_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error);
static inline void hvm_inject_gp(struct vcpu *v) { hvm_inject_exception(v, 13, true, 0); }
static inline void hvm_inject_ud(struct vcpu *v) { hvm_inject_exception(v, 6, false, 0); }
/* Highest pending external interrupt vector, or -1. */
int hvm_pending_interrupt(struct vcpu *v);
/* The backend injected vector: acknowledge it (IRR -> ISR or upcall done). */
void hvm_interrupt_injected(struct vcpu *v, int vector);
/* Raise the event-channel upcall for v (callback vector). */
void hvm_assert_upcall(struct vcpu *v);

/* Guest mode for the calling convention. */
bool hvm_long_mode(struct vcpu *v);   /* 64-bit code segment */
unsigned hvm_cpl(struct vcpu *v);

/* Common per-vCPU setup around the backend's vcpu_init/vcpu_destroy. */
int hvm_vcpu_init(struct vcpu *v);
void hvm_vcpu_destroy(struct vcpu *v);
void hvm_msr_vcpu_init(struct vcpu *v);

/* Lazy FPU and MSR switching between vCPUs on one CPU. */
int hvm_fpu_init(struct vcpu *v);
void hvm_fpu_destroy(struct vcpu *v);
void hvm_context_switch(struct vcpu *prev, struct vcpu *next);

/* Cheap test before the full event logic on every entry: an exception, an
 * NMI, the upcall or any vector in the virtual APIC's IRR. */
static inline bool hvm_event_maybe_pending(struct vcpu *v);

/* Per-CPU TLB tags (VPID / ASID) with generations: a new tag on another
 * CPU means no stale translations follow a migrating vCPU. */
uint32_t hvm_tlb_tag(uint32_t *tag, uint64_t *gen, unsigned *cpu, uint32_t max, bool *flush);

/* The PVH entry state of docs/pvh-layout.md. */
void hvm_context_pvh(struct hvm_context *c, uint32_t entry);
void hvm_context_64(struct hvm_context *c, uint64_t rip, uint64_t cr3);

#include <keel/vcpu.h>
#include <asm/percpu.h>

extern volatile unsigned nr_work;

/* sched_should_stop(), inlined for the run loops: checked before every
 * entry with interrupts off. */
static inline bool hvm_should_stop(void)
{
    struct percpu *p = this_cpu();
    struct vcpu *v = p->current;
    return p->need_resched || !v || v->pause_flags || !v->initialised || nr_work;
}

static inline bool hvm_tlb_tag_current(uint64_t gen)
{
    return this_cpu()->tlb_tag_gen == gen;
}

static inline bool hvm_event_maybe_pending(struct vcpu *v)
{
    const struct hvm_vcpu *h = &v->hvm;
    return h->exception.pending || h->nmi_pending || h->upcall_asserted ||
           (h->vlapic.irr[0] | h->vlapic.irr[1] | h->vlapic.irr[2] | h->vlapic.irr[3]);
}

#endif
