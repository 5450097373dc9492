/*
 * Finding a Xen-compatible hypervisor in the CPUID leaves 0x40000000 +
 * n * 0x100 (the first leaves may belong to a Viridian/KVM personality),
 * installing the hypercall page, and choosing how hypercalls are made.
 */
#include "rt.h"

struct hypervisor_info hypervisor;
int hypercall_mode_cur = HYPERCALL_NONE;
uint8_t hypercall_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static bool page_installed;

bool hypercall_page_install(void *page)
{
    if (!hypervisor.present || ((uintptr_t)page & (PAGE_SIZE - 1)))
        return false;
    if (!wrmsr_checked(hypervisor.hypercall_msr, (uintptr_t)page))
        return false;
    /* Slot 0 begins with "mov $0, %eax" (B8 imm32) once filled. */
    return *(volatile uint8_t *)page == 0xB8;
}

void hypervisor_init(void)
{
    struct cpuid_regs v = cpuid(0);
    hypervisor.intel = v.ebx == 0x756E6547 && v.edx == 0x49656E69 && v.ecx == 0x6C65746E; /* GenuineIntel */

    for (uint32_t base = XEN_CPUID_FIRST_LEAF; base < XEN_CPUID_FIRST_LEAF + 0x10000; base += 0x100) {
        struct cpuid_regs r = cpuid(base);
        if (r.ebx == XEN_CPUID_SIGNATURE_EBX && r.ecx == XEN_CPUID_SIGNATURE_ECX &&
            r.edx == XEN_CPUID_SIGNATURE_EDX && r.eax >= base + 2) {
            hypervisor.present = true;
            hypervisor.base = base;
            hypervisor.max_leaf = r.eax;
            break;
        }
    }
    if (!hypervisor.present)
        return;
    hypervisor.version = cpuid(hypervisor.base + 1).eax;
    hypervisor.hypercall_msr = cpuid(hypervisor.base + 2).ebx;
    if (hypervisor.max_leaf >= hypervisor.base + 4) {
        struct cpuid_regs r = cpuid(hypervisor.base + 4);
        hypervisor.domid_valid = r.eax & XEN_HVM_CPUID_DOMID_PRESENT;
        hypervisor.domid = hypervisor.domid_valid ? (uint16_t)r.ecx : 0;
    }

    hypercall_mode_direct();
    page_installed = hypercall_page_install(hypercall_page);
    if (page_installed)
        hypercall_mode_cur = HYPERCALL_PAGE;
    else
        printf("warning: the hypercall page (MSR %#x) could not be installed; calling %s directly\n",
               hypervisor.hypercall_msr, hypervisor.intel ? "VMCALL" : "VMMCALL");
}

bool hypercall_page_installed(void)
{
    return page_installed;
}

bool hypercall_set_mode(enum hypercall_mode mode)
{
    if (mode != HYPERCALL_NONE && !hypervisor.present)
        return false;
    if (mode == HYPERCALL_PAGE && !page_installed)
        return false;
    __atomic_store_n(&hypercall_mode_cur, mode, __ATOMIC_RELEASE);
    return true;
}

enum hypercall_mode hypercall_get_mode(void)
{
    return (enum hypercall_mode)hypercall_mode_cur;
}

void hypercall_mode_direct(void)
{
    if (hypervisor.present)
        hypercall_set_mode(hypervisor.intel ? HYPERCALL_VMCALL : HYPERCALL_VMMCALL);
}

long hvm_get_param(uint32_t index, uint64_t *value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index };
    long rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
    *value = rc ? 0 : p.value;
    return rc;
}

long hvm_set_param(uint32_t index, uint64_t value)
{
    struct xen_hvm_param p = { .domid = DOMID_SELF, .index = index, .value = value };
    return HYPERVISOR_hvm_op(HVMOP_set_param, &p);
}

long sched_shutdown(uint32_t reason)
{
    struct sched_shutdown s = { .reason = reason };
    return HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
}

long sched_yield(void)
{
    return HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}
