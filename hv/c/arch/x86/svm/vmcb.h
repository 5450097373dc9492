/* The VMCB (AMD APM vol. 2, appendix B): control area at 0, state save area
 * at 0x400.  Offsets are asserted below. */
#ifndef SVM_VMCB_H
#define SVM_VMCB_H

#include <keel/types.h>

struct vmcb_seg {
    uint16_t sel;
    uint16_t attr;
    uint32_t limit;
    uint64_t base;
} __packed;

struct vmcb {
    /* Control area */
    uint32_t intercept_cr;      /* 0x000: reads 0-15, writes 16-31 */
    uint32_t intercept_dr;      /* 0x004 */
    uint32_t intercept_exc;     /* 0x008 */
    uint32_t intercept_misc1;   /* 0x00C */
    uint32_t intercept_misc2;   /* 0x010 */
    uint32_t intercept_misc3;   /* 0x014 */
    uint8_t res0[0x03C - 0x018];
    uint16_t pause_filter_thresh; /* 0x03C */
    uint16_t pause_filter_count;  /* 0x03E */
    uint64_t iopm_base;         /* 0x040 */
    uint64_t msrpm_base;        /* 0x048 */
    uint64_t tsc_offset;        /* 0x050 */
    uint32_t asid;              /* 0x058 */
    uint8_t tlb_control;        /* 0x05C */
    uint8_t res1[3];
    uint64_t vintr;             /* 0x060 */
    uint64_t int_state;         /* 0x068: bit 0 interrupt shadow */
    uint64_t exitcode;          /* 0x070 */
    uint64_t exitinfo1;         /* 0x078 */
    uint64_t exitinfo2;         /* 0x080 */
    uint64_t exitintinfo;       /* 0x088 */
    uint64_t np_enable;         /* 0x090 */
    uint64_t avic_apic_bar;     /* 0x098 */
    uint64_t ghcb;              /* 0x0A0 */
    uint64_t eventinj;          /* 0x0A8 */
    uint64_t ncr3;              /* 0x0B0 */
    uint64_t virt_ext;          /* 0x0B8 */
    uint32_t clean;             /* 0x0C0 */
    uint32_t res2;
    uint64_t nrip;              /* 0x0C8 */
    uint8_t insn_len;           /* 0x0D0 */
    uint8_t insn_bytes[15];
    uint8_t res3[0x400 - 0x0E0];
    /* State save area */
    struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x400 */
    uint8_t res4[0x4CB - 0x4A0];
    uint8_t cpl;                /* 0x4CB */
    uint32_t res5;
    uint64_t efer;              /* 0x4D0 */
    uint8_t res6[0x548 - 0x4D8];
    uint64_t cr4;               /* 0x548 */
    uint64_t cr3;
    uint64_t cr0;
    uint64_t dr7;
    uint64_t dr6;
    uint64_t rflags;            /* 0x570 */
    uint64_t rip;               /* 0x578 */
    uint8_t res7[0x5D8 - 0x580];
    uint64_t rsp;               /* 0x5D8 */
    uint8_t res8[0x5F8 - 0x5E0];
    uint64_t rax;               /* 0x5F8 */
    uint64_t star;              /* 0x600 */
    uint64_t lstar;
    uint64_t cstar;
    uint64_t sfmask;
    uint64_t kernel_gs_base;
    uint64_t sysenter_cs;
    uint64_t sysenter_esp;
    uint64_t sysenter_eip;
    uint64_t cr2;               /* 0x640 */
    uint8_t res9[0x668 - 0x648];
    uint64_t g_pat;             /* 0x668 */
    uint64_t dbgctl;
    uint8_t res10[0x1000 - 0x678];
} __packed;

_Static_assert(sizeof(struct vmcb) == 4096, "VMCB is one page");
_Static_assert(offsetof(struct vmcb, iopm_base) == 0x40, "iopm");
_Static_assert(offsetof(struct vmcb, exitcode) == 0x70, "exitcode");
_Static_assert(offsetof(struct vmcb, eventinj) == 0xA8, "eventinj");
_Static_assert(offsetof(struct vmcb, nrip) == 0xC8, "nrip");
_Static_assert(offsetof(struct vmcb, es) == 0x400, "es");
_Static_assert(offsetof(struct vmcb, cpl) == 0x4CB, "cpl");
_Static_assert(offsetof(struct vmcb, efer) == 0x4D0, "efer");
_Static_assert(offsetof(struct vmcb, cr4) == 0x548, "cr4");
_Static_assert(offsetof(struct vmcb, rip) == 0x578, "rip");
_Static_assert(offsetof(struct vmcb, rsp) == 0x5D8, "rsp");
_Static_assert(offsetof(struct vmcb, rax) == 0x5F8, "rax");
_Static_assert(offsetof(struct vmcb, cr2) == 0x640, "cr2");
_Static_assert(offsetof(struct vmcb, g_pat) == 0x668, "g_pat");

/* intercept_misc1 */
#define SVM_INTR (1u << 0)
#define SVM_NMI (1u << 1)
#define SVM_SMI (1u << 2)
#define SVM_INIT (1u << 3)
#define SVM_VINTR (1u << 4)
#define SVM_RDPMC (1u << 15)
#define SVM_CPUID (1u << 18)
#define SVM_INVD (1u << 22)
#define SVM_PAUSE (1u << 23)
#define SVM_HLT (1u << 24)
#define SVM_INVLPGA (1u << 26)
#define SVM_IOIO (1u << 27)
#define SVM_MSR (1u << 28)
#define SVM_TASK_SWITCH (1u << 29)
#define SVM_FERR_FREEZE (1u << 30)
#define SVM_SHUTDOWN (1u << 31)
/* intercept_misc2 */
#define SVM_VMRUN (1u << 0)
#define SVM_VMMCALL (1u << 1)
#define SVM_VMLOAD (1u << 2)
#define SVM_VMSAVE (1u << 3)
#define SVM_STGI (1u << 4)
#define SVM_CLGI (1u << 5)
#define SVM_SKINIT (1u << 6)
#define SVM_ICEBP (1u << 8)
#define SVM_MONITOR (1u << 10)
#define SVM_MWAIT (1u << 11)
#define SVM_MWAIT_COND (1u << 12)
#define SVM_XSETBV (1u << 13)
#define SVM_RDPRU (1u << 14)

/* vintr */
#define VINTR_TPR_MASK 0xFFULL
#define VINTR_IRQ (1ULL << 8)
#define VINTR_PRIO_SHIFT 16
#define VINTR_IGN_TPR (1ULL << 20)
#define VINTR_MASKING (1ULL << 24)

/* eventinj / exitintinfo */
#define EVENTINJ_VALID (1ULL << 31)
#define EVENTINJ_EV (1ULL << 11)
#define EVENTINJ_TYPE_SHIFT 8

/* Exit codes (APM vol. 2, appendix C). */
#define SVM_EXIT_EXCP_BASE 0x40
#define SVM_EXIT_INTR 0x60
#define SVM_EXIT_NMI 0x61
#define SVM_EXIT_SMI 0x62
#define SVM_EXIT_INIT 0x63
#define SVM_EXIT_VINTR 0x64
#define SVM_EXIT_RDPMC 0x6F
#define SVM_EXIT_CPUID 0x72
#define SVM_EXIT_INVD 0x76
#define SVM_EXIT_PAUSE 0x77
#define SVM_EXIT_HLT 0x78
#define SVM_EXIT_INVLPGA 0x7A
#define SVM_EXIT_IOIO 0x7B
#define SVM_EXIT_MSR 0x7C
#define SVM_EXIT_TASK_SWITCH 0x7D
#define SVM_EXIT_FERR_FREEZE 0x7E
#define SVM_EXIT_SHUTDOWN 0x7F
#define SVM_EXIT_VMRUN 0x80
#define SVM_EXIT_VMMCALL 0x81
#define SVM_EXIT_VMLOAD 0x82
#define SVM_EXIT_VMSAVE 0x83
#define SVM_EXIT_STGI 0x84
#define SVM_EXIT_CLGI 0x85
#define SVM_EXIT_SKINIT 0x86
#define SVM_EXIT_ICEBP 0x88
#define SVM_EXIT_MONITOR 0x8A
#define SVM_EXIT_MWAIT 0x8B
#define SVM_EXIT_MWAIT_COND 0x8C
#define SVM_EXIT_XSETBV 0x8D
#define SVM_EXIT_RDPRU 0x8E
#define SVM_EXIT_NPF 0x400
#define SVM_EXIT_INVALID 0xFFFFFFFFu

/* Compact exit slots for the table and the counters: codes 0..0x9F keep
 * their number, NPF and INVALID get the next two. */
#define SVM_SLOT_NPF 0xA0
#define SVM_SLOT_INVALID 0xA1
#define SVM_NR_SLOTS 0xA2

#endif
