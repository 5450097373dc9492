/* CPU identification and virtualization capability discovery
 * (Intel SDM vol. 3D appendix A; AMD APM vol. 2 15.4, CPUID 0x8000000A). */
#include <keel/lib.h>
#include <asm/cpu.h>
#include <asm/features.h>

#define MSR_VMX_BASIC 0x480
#define MSR_VMX_PROCBASED_CTLS 0x482
#define MSR_VMX_PINBASED_CTLS 0x481
#define MSR_VMX_PROCBASED_CTLS2 0x48B
#define MSR_VMX_EPT_VPID_CAP 0x48C
#define MSR_VM_CR 0xC0010114

struct cpu_caps boot_cpu;

static void put_reg(char *dst, uint32_t v)
{
    memcpy(dst, &v, 4);
}

static void detect_vmx(struct cpu_caps *c)
{
    uint64_t fc = 0, basic, proc, proc2 = 0, eptcap = 0, pin;

    if (!rdmsr_safe(MSR_IA32_FEATURE_CONTROL, &fc))
        return;
    /* Locked with VMX-outside-SMX clear means the firmware disabled VT-x. */
    c->vmx_usable = !(fc & 1) || (fc & (1 << 2));
    if (!rdmsr_safe(MSR_VMX_BASIC, &basic) || !rdmsr_safe(MSR_VMX_PROCBASED_CTLS, &proc))
        return;
    c->vmcs_revision = (uint32_t)basic & 0x7FFFFFFF;
    c->vmx_true_ctls = basic & (1ULL << 55);
    if (rdmsr_safe(MSR_VMX_PINBASED_CTLS, &pin))
        c->vmx_preemption_timer = (pin >> 32) & (1u << 6);
    if ((proc >> 32) & (1u << 31)) {
        rdmsr_safe(MSR_VMX_PROCBASED_CTLS2, &proc2);
        proc2 >>= 32; /* allowed-1 settings */
    }
    c->ept = proc2 & (1u << 1);
    c->vpid = proc2 & (1u << 5);
    c->unrestricted = proc2 & (1u << 7);
    if (c->ept || c->vpid) {
        rdmsr_safe(MSR_VMX_EPT_VPID_CAP, &eptcap);
        c->ept_4level = eptcap & (1ULL << 6);
        c->ept_wb = eptcap & (1ULL << 14);
        c->ept_2m = eptcap & (1ULL << 16);
        c->ept_1g = eptcap & (1ULL << 17);
        c->ept_ad = eptcap & (1ULL << 21);
        c->invept_single = eptcap & (1ULL << 25);
        c->invept_all = eptcap & (1ULL << 26);
        c->invvpid_single = eptcap & (1ULL << 41);
        c->invvpid_all = eptcap & (1ULL << 42);
    }
}

static void detect_svm(struct cpu_caps *c)
{
    uint64_t vmcr = 0;
    c->svm_usable = !rdmsr_safe(MSR_VM_CR, &vmcr) || !(vmcr & (1u << 4));
    struct cpuid_regs r = cpuid(0x80000000);
    if (r.eax < 0x8000000A)
        return;
    r = cpuid(0x8000000A);
    c->svm_revision = r.eax & 0xFF;
    c->svm_asids = r.ebx;
    c->npt = r.edx & (1u << 0);
    c->nrips = r.edx & (1u << 3);
    c->vmcb_clean = r.edx & (1u << 5);
    c->flush_by_asid = r.edx & (1u << 6);
    c->decode_assists = r.edx & (1u << 7);
    c->pause_filter = r.edx & (1u << 10);
}

void cpu_detect(struct cpu_caps *c)
{
    memset(c, 0, sizeof(*c));
    struct cpuid_regs r = cpuid(0);
    uint32_t max = r.eax;
    put_reg(c->vendor_id, r.ebx);
    put_reg(c->vendor_id + 4, r.edx);
    put_reg(c->vendor_id + 8, r.ecx);
    if (!strcmp(c->vendor_id, "GenuineIntel"))
        c->vendor = VENDOR_INTEL;
    else if (!strcmp(c->vendor_id, "AuthenticAMD") || !strcmp(c->vendor_id, "HygonGenuine"))
        c->vendor = VENDOR_AMD;

    r = cpuid(1);
    c->family = (r.eax >> 8) & 0xF;
    c->model = (r.eax >> 4) & 0xF;
    c->stepping = r.eax & 0xF;
    if (c->family == 0xF)
        c->family += (r.eax >> 20) & 0xFF;
    if (c->family >= 6)
        c->model |= ((r.eax >> 16) & 0xF) << 4;
    c->x2apic = r.ecx & (1u << 21);
    c->xsave = r.ecx & (1u << 26);
    c->pcid = r.ecx & (1u << 17);
    c->vmx = r.ecx & (1u << 5);
    if (max >= 7) {
        r = cpuid_count(7, 0);
        c->invpcid = r.ebx & (1u << 10);
        c->fsgsbase = r.ebx & (1u << 0);
    }
    r = cpuid(0x80000000);
    uint32_t xmax = r.eax;
    if (xmax >= 0x80000001)
        c->svm = cpuid(0x80000001).ecx & (1u << 2);
    if (xmax >= 0x80000004) {
        for (uint32_t i = 0; i < 3; i++) {
            r = cpuid(0x80000002 + i);
            put_reg(c->model_name + 16 * i, r.eax);
            put_reg(c->model_name + 16 * i + 4, r.ebx);
            put_reg(c->model_name + 16 * i + 8, r.ecx);
            put_reg(c->model_name + 16 * i + 12, r.edx);
        }
        /* Trim the leading blanks some CPUs pad the name with. */
        char *s = c->model_name;
        while (*s == ' ')
            s++;
        memmove(c->model_name, s, strlen(s) + 1);
    }
    if (c->vmx)
        detect_vmx(c);
    if (c->svm)
        detect_svm(c);
}

void cpu_describe_virt(const struct cpu_caps *c, char *buf, size_t len)
{
    if (c->vmx) {
        snprintf(buf, len, "VT-x%s (EPT %s%s, VPID %s, unrestricted guest %s)", c->vmx_usable ? "" : " disabled by firmware",
                 c->ept ? "yes" : "no", c->ept && !(c->ept_4level && c->ept_wb) ? " but unusable" : "",
                 c->vpid ? "yes" : "no", c->unrestricted ? "yes" : "no");
    } else if (c->svm) {
        snprintf(buf, len, "AMD-V%s (NPT %s, %u ASIDs, NRIP-save %s)", c->svm_usable ? "" : " disabled by firmware",
                 c->npt ? "yes" : "no", c->svm_asids, c->nrips ? "yes" : "no");
    } else {
        snprintf(buf, len, "none");
    }
}
