/* The x86 part of struct vcpu: virtual interrupt state, the virtual local
 * APIC, FPU state and the vendor union. */
#ifndef ASM_HVM_VCPU_H
#define ASM_HVM_VCPU_H

#include <keel/timer.h>
#include <keel/types.h>

struct hvm_context;

struct vmx_vcpu {
    paddr_t vmcs;          /* VMCS region */
    bool launched;         /* VMLAUNCH done since the last VMCLEAR */
    int active_cpu;        /* CPU where the VMCS is current, -1 if clear */
    uint64_t cr0_shadow;   /* what the guest believes CR0/CR4 hold */
    uint64_t cr4_shadow;
    uint64_t efer;         /* guest EFER as the guest wrote it */
    uint32_t entry_ctls;
    uint32_t proc_ctls;
    uint32_t vpid;
    uint64_t vpid_gen;
    unsigned vpid_cpu;
    uint64_t tlb_gen;
    bool configured;       /* constant VMCS fields written (first VMPTRLD) */
    bool ctx_pending;      /* set_context() left *ctx for the next run */
    struct hvm_context *ctx;
    uint64_t cr2;          /* guest CR2: VM entry and exit do not switch it */
    uint32_t entry_intr;   /* VM-entry interruption info of the next entry */
};

struct svm_vcpu {
    paddr_t vmcb;          /* guest VMCB */
    uint64_t efer_guest;   /* EFER as the guest sees it (without SVME) */
    uint32_t asid;
    uint64_t asid_gen;
    unsigned asid_cpu;
    uint64_t tlb_gen;
};

/* The virtual local APIC, x2APIC mode (MSRs 0x800-0x8FF). */
struct vlapic {
    uint32_t id;
    uint32_t tpr;
    uint32_t svr;
    uint32_t lvt_timer;
    uint32_t lvt_lint0, lvt_lint1, lvt_error, lvt_thermal, lvt_perf;
    uint32_t timer_divide;
    uint32_t timer_initial;
    uint64_t timer_start_ns;
    uint64_t timer_period_ns;  /* of the current count, 0 if stopped */
    uint64_t tsc_deadline;
    uint32_t esr;
    uint64_t irr[4];
    uint64_t isr[4];
    uint64_t tmr[4];
    bool x2apic_enabled;
    bool apic_enabled;         /* IA32_APIC_BASE.EN */
    bool wait_for_sipi;        /* after INIT, until a STARTUP IPI */
    struct timer timer;
};

struct hvm_event {
    bool pending;
    uint8_t vector;
    uint8_t type;              /* HVM_EVENT_* */
    bool has_error;
    uint32_t error;
};

#define HVM_EVENT_EXT_INTR 0
#define HVM_EVENT_NMI 2
#define HVM_EVENT_HW_EXCEPTION 3
#define HVM_EVENT_SW_INT 4

/* The last code page an intercepted instruction was read from (AMD-V
 * without NRIP-save decodes instructions): its translation is reused while
 * CR3 and the domain's p2m stay the same. */
struct insn_cache {
    uint64_t cr3;
    uint64_t page;       /* guest virtual page */
    const uint8_t *host; /* the frame, through the direct map */
    uint64_t tlb_gen;
    bool valid;
    /* The last decoded instruction: RIP, exit kind, length (0: none). */
    uint64_t rip;
    uint8_t kind;
    uint8_t len;
};

struct hvm_vcpu {
    struct vlapic vlapic;
    struct insn_cache insn;
    struct hvm_event exception; /* exception to inject at the next entry */
    bool nmi_pending;
    uint8_t upcall_vector;      /* event-channel callback vector, 0 if none */
    bool upcall_asserted;       /* inject upcall_vector without touching the APIC */
    uint64_t xcr0;
    void *fpu;                  /* XSAVE / FXSAVE area, 64-byte aligned */
    /* MSRs neither VMX nor SVM entry switches (see fpu.c, hvm_context_switch). */
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base, tsc_aux;
    uint64_t pat;
    uint64_t misc_enable;
    uint64_t apic_base;
    union {
        struct vmx_vcpu vmx;
        struct svm_vcpu svm;
    };
};

#endif
