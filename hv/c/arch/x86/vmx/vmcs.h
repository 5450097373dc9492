/*
 * VMCS field encodings (Intel SDM vol. 3D appendix B), VM-execution,
 * VM-exit and VM-entry control bits (vol. 3C 25.6-25.8), exit reasons
 * (vol. 3D appendix C) and the VMX instructions as inline functions.
 */
#ifndef VMX_VMCS_H
#define VMX_VMCS_H

#include <keel/types.h>

/* --- Capability MSRs (vol. 3D appendix A) -------------------------------- */
#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PINBASED_CTLS 0x481
#define MSR_VMX_PROCBASED_CTLS 0x482
#define MSR_VMX_EXIT_CTLS 0x483
#define MSR_VMX_ENTRY_CTLS 0x484
#define MSR_VMX_CR0_FIXED0 0x486
#define MSR_VMX_CR0_FIXED1 0x487
#define MSR_VMX_CR4_FIXED0 0x488
#define MSR_VMX_CR4_FIXED1 0x489
#define MSR_VMX_PROCBASED_CTLS2 0x48B
#define MSR_VMX_TRUE_PINBASED_CTLS 0x48D
#define MSR_VMX_MISC 0x485
#define MSR_VMX_TRUE_PROCBASED_CTLS 0x48E
#define MSR_VMX_TRUE_EXIT_CTLS 0x48F
#define MSR_VMX_TRUE_ENTRY_CTLS 0x490

#define FEATURE_CONTROL_LOCKED (1ULL << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ULL << 2)

/* --- 16-bit fields -------------------------------------------------------- */
#define VIRTUAL_PROCESSOR_ID 0x0000
#define GUEST_ES_SELECTOR 0x0800 /* + 2 * segment (ES CS SS DS FS GS LDTR TR) */
#define HOST_ES_SELECTOR 0x0C00
#define HOST_CS_SELECTOR 0x0C02
#define HOST_SS_SELECTOR 0x0C04
#define HOST_DS_SELECTOR 0x0C06
#define HOST_FS_SELECTOR 0x0C08
#define HOST_GS_SELECTOR 0x0C0A
#define HOST_TR_SELECTOR 0x0C0C

/* --- 64-bit fields -------------------------------------------------------- */
#define MSR_BITMAP 0x2004
#define TSC_OFFSET 0x2010
#define EPT_POINTER 0x201A
#define GUEST_PHYSICAL_ADDRESS 0x2400
#define VMCS_LINK_POINTER 0x2800
#define GUEST_IA32_DEBUGCTL 0x2802
#define GUEST_IA32_PAT 0x2804
#define GUEST_IA32_EFER 0x2806
#define GUEST_PDPTE0 0x280A /* + 2 * n */
#define HOST_IA32_PAT 0x2C00
#define HOST_IA32_EFER 0x2C02

/* --- 32-bit fields -------------------------------------------------------- */
#define PIN_BASED_VM_EXEC_CONTROL 0x4000
#define CPU_BASED_VM_EXEC_CONTROL 0x4002
#define EXCEPTION_BITMAP 0x4004
#define CR3_TARGET_COUNT 0x400A
#define VM_EXIT_CONTROLS 0x400C
#define VM_EXIT_MSR_STORE_COUNT 0x400E
#define VM_EXIT_MSR_LOAD_COUNT 0x4010
#define VM_ENTRY_CONTROLS 0x4012
#define VM_ENTRY_MSR_LOAD_COUNT 0x4014
#define VM_ENTRY_INTR_INFO 0x4016
#define VM_ENTRY_EXCEPTION_ERROR_CODE 0x4018
#define VM_ENTRY_INSTRUCTION_LEN 0x401A
#define SECONDARY_VM_EXEC_CONTROL 0x401E
#define PLE_GAP 0x4020
#define PLE_WINDOW 0x4022
#define VM_INSTRUCTION_ERROR 0x4400
#define VM_EXIT_REASON 0x4402
#define VM_EXIT_INTR_INFO 0x4404
#define VM_EXIT_INTR_ERROR_CODE 0x4406
#define IDT_VECTORING_INFO 0x4408
#define IDT_VECTORING_ERROR_CODE 0x440A
#define VM_EXIT_INSTRUCTION_LEN 0x440C
#define GUEST_ES_LIMIT 0x4800 /* + 2 * segment */
#define GUEST_GDTR_LIMIT 0x4810
#define GUEST_IDTR_LIMIT 0x4812
#define GUEST_ES_AR 0x4814 /* + 2 * segment */
#define GUEST_INTERRUPTIBILITY 0x4824
#define GUEST_ACTIVITY_STATE 0x4826
#define GUEST_SYSENTER_CS 0x482A
#define GUEST_PREEMPTION_TIMER 0x482E
#define HOST_IA32_SYSENTER_CS 0x4C00

/* --- Natural-width fields ------------------------------------------------- */
#define CR0_GUEST_HOST_MASK 0x6000
#define CR4_GUEST_HOST_MASK 0x6002
#define CR0_READ_SHADOW 0x6004
#define CR4_READ_SHADOW 0x6006
#define EXIT_QUALIFICATION 0x6400
#define GUEST_CR0 0x6800
#define GUEST_CR3 0x6802
#define GUEST_CR4 0x6804
#define GUEST_ES_BASE 0x6806 /* + 2 * segment */
#define GUEST_GDTR_BASE 0x6816
#define GUEST_IDTR_BASE 0x6818
#define GUEST_DR7 0x681A
#define GUEST_RSP 0x681C
#define GUEST_RIP 0x681E
#define GUEST_RFLAGS 0x6820
#define GUEST_PENDING_DBG_EXCEPTIONS 0x6822
#define GUEST_SYSENTER_ESP 0x6824
#define GUEST_SYSENTER_EIP 0x6826
#define HOST_CR0 0x6C00
#define HOST_CR3 0x6C02
#define HOST_CR4 0x6C04
#define HOST_FS_BASE 0x6C06
#define HOST_GS_BASE 0x6C08
#define HOST_TR_BASE 0x6C0A
#define HOST_GDTR_BASE 0x6C0C
#define HOST_IDTR_BASE 0x6C0E
#define HOST_IA32_SYSENTER_ESP 0x6C10
#define HOST_IA32_SYSENTER_EIP 0x6C12
#define HOST_RSP 0x6C14
#define HOST_RIP 0x6C16

/* --- Controls ------------------------------------------------------------- */
/* Pin-based (25.6.1) */
#define PIN_EXT_INTR (1u << 0)
#define PIN_NMI (1u << 3)
#define PIN_VIRTUAL_NMIS (1u << 5)
#define PIN_PREEMPTION_TIMER (1u << 6)
/* Primary processor-based (25.6.2) */
#define PROC_INTR_WINDOW (1u << 2)
#define PROC_TSC_OFFSET (1u << 3)
#define PROC_HLT (1u << 7)
#define PROC_INVLPG (1u << 9)
#define PROC_MWAIT (1u << 10)
#define PROC_RDPMC (1u << 11)
#define PROC_RDTSC (1u << 12)
#define PROC_CR3_LOAD (1u << 15)
#define PROC_CR3_STORE (1u << 16)
#define PROC_CR8_LOAD (1u << 19)
#define PROC_CR8_STORE (1u << 20)
#define PROC_TPR_SHADOW (1u << 21)
#define PROC_NMI_WINDOW (1u << 22)
#define PROC_MOV_DR (1u << 23)
#define PROC_UNCOND_IO (1u << 24)
#define PROC_IO_BITMAPS (1u << 25)
#define PROC_MTF (1u << 27)
#define PROC_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR (1u << 29)
#define PROC_PAUSE (1u << 30)
#define PROC_SECONDARY (1u << 31)
/* Secondary processor-based */
#define PROC2_EPT (1u << 1)
#define PROC2_RDTSCP (1u << 3)
#define PROC2_VPID (1u << 5)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_PLE (1u << 10)
#define PROC2_INVPCID (1u << 12)
#define PROC2_XSAVES (1u << 20)
/* VM-exit (25.7.1) */
#define EXIT_HOST_ADDR_SPACE (1u << 9)
#define EXIT_ACK_INTR (1u << 15)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
/* VM-entry (25.8.1) */
#define ENTRY_IA32E_MODE (1u << 9)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

/* Interruption information, for VM entry (25.8.3), VM exit (25.9.2) and
 * IDT vectoring (25.9.3): vector 7:0, type 10:8, error code 11, valid 31. */
#define INTR_INFO_VECTOR 0xFFu
#define INTR_INFO_TYPE_SHIFT 8
#define INTR_INFO_TYPE_MASK (7u << 8)
#define INTR_INFO_ERROR_CODE (1u << 11)
#define INTR_INFO_NMI_UNBLOCK (1u << 12)
#define INTR_INFO_VALID (1u << 31)
#define INTR_TYPE_EXT_INTR 0u
#define INTR_TYPE_NMI 2u
#define INTR_TYPE_HW_EXCEPTION 3u
#define INTR_TYPE_SW_INT 4u
#define INTR_TYPE_PRIV_SW_EXCEPTION 5u
#define INTR_TYPE_SW_EXCEPTION 6u

/* Guest interruptibility state (25.4.2, table 25-3). */
#define INTR_BLOCK_STI (1u << 0)
#define INTR_BLOCK_MOV_SS (1u << 1)
#define INTR_BLOCK_NMI (1u << 3)

/* Segment access rights (25.4.1): SVM-style attributes spread out, plus
 * the "unusable" bit. */
#define AR_UNUSABLE (1u << 16)

/* --- Exit reasons (vol. 3D appendix C) ------------------------------------ */
#define EXIT_EXCEPTION_NMI 0
#define EXIT_EXT_INTR 1
#define EXIT_TRIPLE_FAULT 2
#define EXIT_INIT 3
#define EXIT_SIPI 4
#define EXIT_IO_SMI 5
#define EXIT_OTHER_SMI 6
#define EXIT_INTR_WINDOW 7
#define EXIT_NMI_WINDOW 8
#define EXIT_TASK_SWITCH 9
#define EXIT_CPUID 10
#define EXIT_GETSEC 11
#define EXIT_HLT 12
#define EXIT_INVD 13
#define EXIT_INVLPG 14
#define EXIT_RDPMC 15
#define EXIT_RDTSC 16
#define EXIT_RSM 17
#define EXIT_VMCALL 18
#define EXIT_VMCLEAR 19
#define EXIT_VMLAUNCH 20
#define EXIT_VMPTRLD 21
#define EXIT_VMPTRST 22
#define EXIT_VMREAD 23
#define EXIT_VMRESUME 24
#define EXIT_VMWRITE 25
#define EXIT_VMXOFF 26
#define EXIT_VMXON 27
#define EXIT_CR_ACCESS 28
#define EXIT_DR_ACCESS 29
#define EXIT_IO 30
#define EXIT_RDMSR 31
#define EXIT_WRMSR 32
#define EXIT_INVALID_STATE 33
#define EXIT_MSR_LOADING 34
#define EXIT_MWAIT 36
#define EXIT_MTF 37
#define EXIT_MONITOR 39
#define EXIT_PAUSE 40
#define EXIT_MCE_DURING_ENTRY 41
#define EXIT_TPR_BELOW_THRESHOLD 43
#define EXIT_APIC_ACCESS 44
#define EXIT_EOI_INDUCED 45
#define EXIT_GDTR_IDTR 46
#define EXIT_LDTR_TR 47
#define EXIT_EPT_VIOLATION 48
#define EXIT_EPT_MISCONFIG 49
#define EXIT_INVEPT 50
#define EXIT_RDTSCP 51
#define EXIT_PREEMPTION_TIMER 52
#define EXIT_INVVPID 53
#define EXIT_WBINVD 54
#define EXIT_XSETBV 55
#define EXIT_APIC_WRITE 56
#define EXIT_RDRAND 57
#define EXIT_INVPCID 58
#define EXIT_VMFUNC 59
#define EXIT_ENCLS 60
#define EXIT_RDSEED 61
#define EXIT_PML_FULL 62
#define EXIT_XSAVES 63
#define EXIT_XRSTORS 64
#define EXIT_PCONFIG 65
#define EXIT_SPP 66
#define EXIT_UMWAIT 67
#define EXIT_TPAUSE 68
#define EXIT_LOADIWKEY 69
#define VMX_NR_EXITS 76
#define EXIT_REASON_ENTRY_FAILURE (1u << 31)

/* --- EPT (vol. 3C 29.3) ---------------------------------------------------- */
#define EPT_R (1ULL << 0)
#define EPT_W (1ULL << 1)
#define EPT_X (1ULL << 2)
#define EPT_MT_WB (6ULL << 3)
#define EPT_PS (1ULL << 7)
#define EPTP_WB 6ULL
#define EPTP_WALK_4 (3ULL << 3)

/* --- Instructions --------------------------------------------------------- */
/* VMfailInvalid sets CF, VMfailValid sets ZF (vol. 3C 31.2): "setna" is
 * true for either. */
static inline bool vmxon(paddr_t pa)
{
    bool fail;
    __asm__ __volatile__("vmxon %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static inline bool vmptrld(paddr_t pa)
{
    bool fail;
    __asm__ __volatile__("vmptrld %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static inline bool vmclear(paddr_t pa)
{
    bool fail;
    __asm__ __volatile__("vmclear %1; setna %0" : "=qm"(fail) : "m"(pa) : "cc", "memory");
    return !fail;
}

static inline uint64_t vmread(uint64_t field)
{
    uint64_t val;
    __asm__ __volatile__("vmread %1, %0" : "=rm"(val) : "r"(field) : "cc");
    return val;
}

static inline void vmwrite(uint64_t field, uint64_t val)
{
    __asm__ __volatile__("vmwrite %1, %0" ::"r"(field), "rm"(val) : "cc", "memory");
}

/* INVEPT types (31.3): 1 single context (one EPTP), 2 global. */
static inline void invept(uint64_t type, uint64_t eptp)
{
    struct {
        uint64_t eptp, reserved;
    } desc = { eptp, 0 };
    __asm__ __volatile__("invept %0, %1" ::"m"(desc), "r"(type) : "cc", "memory");
}

/* INVVPID types: 1 single context (one VPID), 2 all contexts. */
static inline void invvpid(uint64_t type, uint16_t vpid)
{
    struct {
        uint64_t vpid, addr;
    } desc = { vpid, 0 };
    __asm__ __volatile__("invvpid %0, %1" ::"m"(desc), "r"(type) : "cc", "memory");
}

#endif
