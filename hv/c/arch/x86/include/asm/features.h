/* What the boot CPU offers: identity and virtualization extensions. */
#ifndef ASM_FEATURES_H
#define ASM_FEATURES_H

#include <keel/types.h>

enum cpu_vendor { VENDOR_UNKNOWN, VENDOR_INTEL, VENDOR_AMD };

struct cpu_caps {
    enum cpu_vendor vendor;
    char vendor_id[13];
    char model_name[49];
    uint32_t family, model, stepping;
    bool x2apic, xsave, pcid, invpcid, fsgsbase;
    /* Intel VT-x */
    bool vmx;              /* CPUID says VMX */
    bool vmx_usable;       /* ... and IA32_FEATURE_CONTROL allows it */
    bool vmx_true_ctls;
    bool ept, ept_4level, ept_wb, ept_2m, ept_1g, ept_ad;
    bool vpid, unrestricted;
    bool invept_single, invept_all, invvpid_single, invvpid_all;
    bool vmx_preemption_timer;
    uint32_t vmcs_revision;
    /* AMD-V */
    bool svm;
    bool svm_usable;       /* not disabled in VM_CR */
    bool npt, nrips, vmcb_clean, flush_by_asid, decode_assists, pause_filter;
    uint32_t svm_asids;
    uint32_t svm_revision;
};

extern struct cpu_caps boot_cpu;

void cpu_detect(struct cpu_caps *c);
/* One-line description of the virtualization extensions found. */
void cpu_describe_virt(const struct cpu_caps *c, char *buf, size_t len);

#endif
