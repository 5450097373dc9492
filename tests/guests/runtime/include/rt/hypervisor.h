/* Finding the hypervisor and calling it. */
#ifndef RT_HYPERVISOR_H
#define RT_HYPERVISOR_H

#include <stdbool.h>
#include <stdint.h>

#include "keel_guest_abi.h"
#include "layout.h"

struct hypervisor_info {
    bool present;           /* "XenVMMXenVMM" found */
    uint32_t base;          /* its first CPUID leaf (0x40000000 + n * 0x100) */
    uint32_t max_leaf;      /* EAX of the base leaf */
    uint32_t version;       /* major << 16 | minor from base + 1 */
    uint32_t hypercall_msr; /* EBX of base + 2 */
    bool intel;             /* CPUID vendor is GenuineIntel: VMCALL, else VMMCALL */
    bool domid_valid;       /* base + 4 reports the domain id */
    uint16_t domid;         /* this domain's id (ECX of base + 4) */
};

extern struct hypervisor_info hypervisor;

enum hypercall_mode {
    HYPERCALL_NONE = RT_HYPERCALL_NONE,       /* no hypervisor: keel_hypercall() returns -ENOSYS */
    HYPERCALL_PAGE = RT_HYPERCALL_PAGE,       /* call hypercall_page + 32 * nr (the default) */
    HYPERCALL_VMCALL = RT_HYPERCALL_VMCALL,   /* execute VMCALL directly */
    HYPERCALL_VMMCALL = RT_HYPERCALL_VMMCALL, /* execute VMMCALL directly */
};

/* The hypercall page the runtime installed at boot (identity-mapped). */
extern uint8_t hypercall_page[4096];

/* The mode used by every later hypercall on every vCPU.  Selecting
 * HYPERCALL_PAGE fails when the page could not be installed. */
bool hypercall_set_mode(enum hypercall_mode mode);
enum hypercall_mode hypercall_get_mode(void);
/* Direct calls with the vendor's instruction (what Linux 6.1 does). */
void hypercall_mode_direct(void);
/* Whether the MSR write at boot filled the hypercall page. */
bool hypercall_page_installed(void);

/* Ask the hypervisor to fill page (4 KiB aligned, identity-mapped) as a
 * hypercall page; false if the MSR write faulted or the page stayed empty. */
bool hypercall_page_install(void *page);

/* Provided for keel_guest_abi.h's HYPERVISOR_*() wrappers.  In page mode
 * numbers >= 128 (beyond the page's slots) return -ENOSYS without a call. */
long keel_hypercall(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
                    unsigned long a5);

/* Shortcuts for the calls every test makes. */
long hvm_get_param(uint32_t index, uint64_t *value);
long hvm_set_param(uint32_t index, uint64_t value);
long sched_shutdown(uint32_t reason);
long sched_yield(void);

#endif
