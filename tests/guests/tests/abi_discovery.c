/*
 * Discovery and the hypercall page (GUEST-ABI.md "Discovery"):
 *  - CPUID 0x40000000: "XenVMMXenVMM", highest leaf base+4 or base+5, and
 *    no second signature at base + n * 0x100;
 *  - base+1: version 4.17; base+2: one hypercall page, MSR 0x40000000;
 *    base+3: the TSC frequency; base+4: vCPU id (checked on vCPUs 0 and
 *    1) and domain id with their "present" flags; the domain id matches
 *    what event_channel_op says DOMID_SELF is;
 *  - writing a page address to the MSR fills that page: 128 slots of
 *    "mov $N, %eax; VMCALL|VMMCALL; ret", the other bytes 0xCC;
 *  - a page index (low 12 bits) != 0, or a frame that is not RAM, gives
 *    #GP and writes nothing;
 *  - calls through the boot page, through a second page, and with the
 *    vendor's VMCALL/VMMCALL all work; the other vendor's instruction is
 *    not a hypercall (#UD: Keel does not emulate it, by decision).
 * Needs vcpus=2.
 */
#include "keel_test.h"

#define SLOTS 128
#define SLOT_SIZE 32
#define WAIT_NS 5000000000ULL

static uint8_t page_a[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t page_b[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static const uint8_t vmcall_insn[3] = { 0x0F, 0x01, 0xC1 };
static const uint8_t vmmcall_insn[3] = { 0x0F, 0x01, 0xD9 };

/* Every slot of a hypercall page, byte by byte; the first mismatch is
 * reported. */
static bool check_page(const uint8_t *page, const char *what)
{
    const uint8_t *insn = hypervisor.intel ? vmcall_insn : vmmcall_insn;
    for (unsigned n = 0; n < SLOTS; n++) {
        const uint8_t *s = page + n * SLOT_SIZE;
        uint8_t want[SLOT_SIZE];
        memset(want, 0xCC, sizeof(want));
        want[0] = 0xB8;
        want[1] = (uint8_t)n;
        want[2] = want[3] = want[4] = 0;
        memcpy(want + 5, insn, 3);
        want[8] = 0xC3;
        for (unsigned i = 0; i < SLOT_SIZE; i++) {
            if (s[i] != want[i]) {
                report_fail("%s: slot %u byte %u is %#x, want %#x", what, n, i, s[i], want[i]);
                return false;
            }
        }
    }
    report_pass("%s: 128 slots of mov $N,%%eax; %s; ret; int3 padding", what,
                hypervisor.intel ? "vmcall" : "vmmcall");
    return true;
}

/* xen_version(XENVER_version) through slot 17 of an arbitrary page. */
static long version_via(const uint8_t *page)
{
    const uint8_t *slot = page + __HYPERVISOR_xen_version * SLOT_SIZE;
    long ret;
#if defined(__x86_64__)
    register unsigned long a1 __asm__("rdi") = XENVER_version;
    register unsigned long a2 __asm__("rsi") = 0;
    __asm__ volatile("call *%[slot]"
                     : "=a"(ret), "+r"(a1), "+r"(a2)
                     : [slot] "r"(slot)
                     : "rcx", "rdx", "r8", "r9", "r10", "r11", "memory");
#else
    unsigned long a1 = XENVER_version, a2 = 0;
    __asm__ volatile("call *%[slot]"
                     : "=a"(ret), "+b"(a1), "+c"(a2)
                     : [slot] "r"(slot)
                     : "edx", "esi", "edi", "memory");
#endif
    return ret;
}

/* The other vendor's instruction, with EAX = xen_version. */
static void wrong_vendor_call(void *arg)
{
    (void)arg;
    unsigned long nr = __HYPERVISOR_xen_version;
    if (hypervisor.intel)
        __asm__ volatile("vmmcall" : "+a"(nr) : : "memory");
    else
        __asm__ volatile("vmcall" : "+a"(nr) : : "memory");
}

static volatile uint32_t ap_vcpu_id = 0xFFFFFFFF;
static volatile long ap_version;

static void ap_main(unsigned id)
{
    (void)id;
    ap_vcpu_id = cpuid(hypervisor.base + 4).ebx;
    ap_version = HYPERVISOR_xen_version(XENVER_version, NULL);
}

static void test_cpuid(void)
{
    struct cpuid_regs r = cpuid(XEN_CPUID_FIRST_LEAF);
    report(r.ebx == XEN_CPUID_SIGNATURE_EBX && r.ecx == XEN_CPUID_SIGNATURE_ECX && r.edx == XEN_CPUID_SIGNATURE_EDX,
           "CPUID %#x: signature %#x %#x %#x", XEN_CPUID_FIRST_LEAF, r.ebx, r.ecx, r.edx);
    report(r.eax == XEN_CPUID_FIRST_LEAF + 4 || r.eax == XEN_CPUID_FIRST_LEAF + 5, "highest leaf %#x", r.eax);
    report(hypervisor.present && hypervisor.base == XEN_CPUID_FIRST_LEAF, "the runtime's scan found base %#x",
           hypervisor.base);

    unsigned others = 0;
    for (uint32_t b = XEN_CPUID_FIRST_LEAF + 0x100; b < XEN_CPUID_FIRST_LEAF + 0x10000; b += 0x100) {
        struct cpuid_regs o = cpuid(b);
        if (o.ebx == XEN_CPUID_SIGNATURE_EBX && o.ecx == XEN_CPUID_SIGNATURE_ECX && o.edx == XEN_CPUID_SIGNATURE_EDX)
            others++;
    }
    report(others == 0, "no second signature in 0x40000100-0x4000ff00 (%u found)", others);

    r = cpuid(hypervisor.base + 1);
    report(r.eax == ((4u << 16) | 17u), "base+1: version %u.%u", r.eax >> 16, r.eax & 0xFFFF);
    report(hypervisor.version == r.eax, "runtime's version matches");

    r = cpuid(hypervisor.base + 2);
    report(r.eax == 1 && r.ebx == XEN_HYPERCALL_MSR, "base+2: %u hypercall page(s), MSR %#x", r.eax, r.ebx);

    r = cpuid_count(hypervisor.base + 3, 0);
    report(r.ecx != 0, "base+3: TSC frequency %u kHz", r.ecx);

    r = cpuid(hypervisor.base + 4);
    uint32_t want = XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT;
    report((r.eax & want) == want, "base+4: flags %#x include vCPU id and domain id", r.eax);
    report(r.ebx == 0, "base+4: vCPU id %u on the boot vCPU", r.ebx);
    report(r.ecx != 0 && r.ecx < DOMID_FIRST_RESERVED, "base+4: domain id %u (no control domain: ids from 1)", r.ecx);

    /* The same id from another interface: an unbound port for DOMID_SELF
     * records the caller's own id as its remote domain. */
    uint32_t port;
    struct evtchn_status st;
    long rc = evtchn_alloc_unbound(DOMID_SELF, &port);
    long rc2 = rc ? rc : evtchn_status(DOMID_SELF, port, &st);
    report(!rc && !rc2 && st.status == EVTCHNSTAT_unbound && st.u.unbound_dom == r.ecx,
           "EVTCHNOP_status agrees: DOMID_SELF is %u (rc %ld/%ld)", st.u.unbound_dom, rc, rc2);
    if (!rc)
        evtchn_close(port);

    if (cmdline_has("domid"))
        report(r.ecx == cmdline_ull("domid", 0), "domain id %u as the command line expects", r.ecx);

    rc = vcpu_start(1, ap_main);
    bool ok = rc == 0 && vcpu_wait(1, VCPU_DONE, ns_to_tsc(WAIT_NS));
    report(ok && ap_vcpu_id == 1 && ap_version == (long)hypervisor.version,
           "base+4 on vCPU 1: vCPU id %u; xen_version there %#lx (start %ld)", ap_vcpu_id, ap_version, rc);
}

static void test_hypercall_page(void)
{
    report(hypercall_page_installed(), "the boot-time MSR write installed the runtime's page");
    check_page(hypercall_page, "boot page");

    /* A second page: filled on the MSR write, callable. */
    memset(page_a, 0x5A, sizeof(page_a));
    bool ok = wrmsr_checked(hypervisor.hypercall_msr, (uintptr_t)page_a);
    report(ok, "wrmsr(%#x, %p) accepted", hypervisor.hypercall_msr, page_a);
    if (ok && check_page(page_a, "second page")) {
        long v = version_via(page_a);
        report(v == (long)hypervisor.version, "xen_version through the second page: %#lx", v);
    }

    /* Page index != 0: #GP, nothing written. */
    memset(page_b, 0x5A, sizeof(page_b));
    static const unsigned indexes[] = { 1, 0x800, 0xFFF };
    for (unsigned i = 0; i < ARRAY_SIZE(indexes); i++) {
        bool accepted = wrmsr_checked(hypervisor.hypercall_msr, (uintptr_t)page_b | indexes[i]);
        report(!accepted, "wrmsr with page index %#x: #GP", indexes[i]);
    }
    bool untouched = true;
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        untouched &= page_b[i] == 0x5A;
    report(untouched, "the page stays untouched after the refused writes");

    /* A frame with no RAM behind it: #GP (Xen: bad GMFN). */
    void *hole = alloc_unpopulated(PAGE_SIZE);
    report(hole && !wrmsr_checked(hypervisor.hypercall_msr, (uintptr_t)hole), "wrmsr with a frame that is not RAM (%p): #GP",
           hole);

    /* The boot page is still what calls go through. */
    check_page(hypercall_page, "boot page after the other writes");
    long v = HYPERVISOR_xen_version(XENVER_version, NULL);
    report(v == (long)hypervisor.version, "xen_version through the boot page: %#lx", v);

    /* Direct calls with the vendor's instruction. */
    enum hypercall_mode saved = hypercall_get_mode();
    hypercall_mode_direct();
    v = HYPERVISOR_xen_version(XENVER_version, NULL);
    report(v == (long)hypervisor.version, "xen_version with %s directly: %#lx", hypervisor.intel ? "VMCALL" : "VMMCALL", v);
    long e = HYPERVISOR_xen_version(XENVER_pagesize, NULL);
    report(e == PAGE_SIZE, "XENVER_pagesize directly: %ld", e);
    hypercall_set_mode(saved);

    /* The other vendor's instruction is no hypercall here. */
    struct fault_info fi;
    int vec = run_expecting_fault(wrong_vendor_call, NULL, &fi);
    report(vec == X86_EXC_UD, "%s on this vendor: %s (Keel does not emulate the other vendor's instruction)",
           hypervisor.intel ? "VMMCALL" : "VMCALL", vec == NO_FAULT ? "no fault" : exception_name((unsigned)vec));
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    if (!hypervisor.present) {
        report_fail("no Xen-compatible hypervisor found");
        return;
    }
    test_cpuid();
    test_hypercall_page();
}
