/*
 * The success path of console_io, xen_version, hvm_op, memory_op and the
 * time information in shared info:
 *  - console_io write of 0, 1, 256, 300 bytes and across a page boundary;
 *  - xen_version: version, get_features (callback vector, safe pvclock,
 *    auto-translated; no dom0 bit), extraversion, capabilities,
 *    changeset, compile_info, platform_parameters, guest_handle, pagesize,
 *    each writing exactly its size (guard bytes behind it stay);
 *  - hvm_op: STORE_PFN/STORE_EVTCHN read 0, CONSOLE params readable,
 *    CALLBACK_IRQ (vector type) and TIMER_MODE set and read back;
 *  - memory_op: add_to_physmap of shared info (and moving it elsewhere and
 *    back) and of grant frames, memory_map (agrees with the start info),
 *    current/maximum reservation, maximum_ram_page;
 *  - pvclock in vcpu_info: version even, mul non-zero, TSC_STABLE, time
 *    advancing consistently with RDTSC (1%); the wallclock consistent.
 */
#include "keel_test.h"

#define GUARD 0xA5

static uint8_t cross_buf[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

static bool guard_ok(const uint8_t *p, size_t from, size_t to)
{
    for (size_t i = from; i < to; i++)
        if (p[i] != GUARD)
            return false;
    return true;
}

static bool nul_within(const char *s, size_t n)
{
    return strnlen(s, n) < n;
}

static void test_console(void)
{
    static const char line[] = "console_io: one line through CONSOLEIO_write\n";
    long rc = HYPERVISOR_console_io(CONSOLEIO_write, sizeof(line) - 1, line);
    report(rc == 0, "console_io write of %u bytes: %ld", (unsigned)sizeof(line) - 1, rc);
    rc = HYPERVISOR_console_io(CONSOLEIO_write, 0, NULL);
    report(rc == 0, "console_io write of 0 bytes (NULL buffer): %ld", rc);
    rc = HYPERVISOR_console_io(CONSOLEIO_write, 1, "\n");
    report(rc == 0, "console_io write of 1 byte: %ld", rc);

    char big[301];
    for (unsigned i = 0; i < 300; i++)
        big[i] = (char)('a' + i % 26);
    big[299] = '\n';
    rc = HYPERVISOR_console_io(CONSOLEIO_write, 256, big);
    long rc2 = HYPERVISOR_console_io(CONSOLEIO_write, 1, "\n");
    report(rc == 0 && rc2 == 0, "console_io write of 256 bytes: %ld", rc);
    rc = HYPERVISOR_console_io(CONSOLEIO_write, 300, big);
    report(rc == 0, "console_io write of 300 bytes (two chunks): %ld", rc);

    /* A buffer that straddles two pages. */
    static const char msg[] = "console_io: this line crosses a page boundary\n";
    char *p = (char *)cross_buf + PAGE_SIZE - 10;
    memcpy(p, msg, sizeof(msg) - 1);
    rc = HYPERVISOR_console_io(CONSOLEIO_write, sizeof(msg) - 1, p);
    report(rc == 0, "console_io write across a page boundary: %ld", rc);
}

static void test_xen_version(void)
{
    long v = HYPERVISOR_xen_version(XENVER_version, NULL);
    report(v == ((4 << 16) | 17), "XENVER_version: %ld.%ld", v >> 16, v & 0xFFFF);

    struct xen_feature_info fi = { .submap_idx = 0, .submap = 0 };
    long rc = HYPERVISOR_xen_version(XENVER_get_features, &fi);
    uint32_t need = (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock) |
                    (1u << XENFEAT_auto_translated_physmap);
    report(rc == 0 && (fi.submap & need) == need, "XENVER_get_features: %ld, submap %#x has callback vector, safe pvclock, "
                                                  "auto-translated", rc, fi.submap);
    report(rc == 0 && !(fi.submap & (1u << XENFEAT_dom0)), "XENVER_get_features: no dom0 bit in a domU");

    uint8_t buf[1100];
    memset(buf, GUARD, sizeof(buf));
    rc = HYPERVISOR_xen_version(XENVER_extraversion, buf);
    report(rc == 0 && nul_within((char *)buf, XENVER_EXTRAVERSION_LEN) && guard_ok(buf, XENVER_EXTRAVERSION_LEN, 64),
           "XENVER_extraversion: %ld \"%s\", 16 bytes written", rc, (char *)buf);

    memset(buf, GUARD, sizeof(buf));
    rc = HYPERVISOR_xen_version(XENVER_capabilities, buf);
    bool caps = rc == 0 && nul_within((char *)buf, XENVER_CAPABILITIES_LEN) &&
                guard_ok(buf, XENVER_CAPABILITIES_LEN, sizeof(buf));
    bool has64 = false, has32 = false;
    for (const char *s = (char *)buf; caps && *s; s++) {
        has64 |= !strncmp(s, "hvm-3.0-x86_64", 14);
        has32 |= !strncmp(s, "hvm-3.0-x86_32p", 15);
    }
    report(caps && has64 && has32, "XENVER_capabilities: \"%s\"", caps ? (char *)buf : "?");

    memset(buf, GUARD, sizeof(buf));
    rc = HYPERVISOR_xen_version(XENVER_changeset, buf);
    report(rc == 0 && nul_within((char *)buf, XENVER_CHANGESET_LEN) && guard_ok(buf, XENVER_CHANGESET_LEN, 128),
           "XENVER_changeset: \"%s\"", (char *)buf);

    struct {
        struct xen_compile_info ci;
        uint8_t guard[16];
    } c;
    memset(&c, GUARD, sizeof(c));
    rc = HYPERVISOR_xen_version(XENVER_compile_info, &c.ci);
    report(rc == 0 && nul_within((char *)c.ci.compiler, 64) && nul_within((char *)c.ci.compile_by, 16) &&
               nul_within((char *)c.ci.compile_domain, 32) && nul_within((char *)c.ci.compile_date, 32) &&
               guard_ok(c.guard, 0, sizeof(c.guard)),
           "XENVER_compile_info: %ld (compiler \"%s\")", rc, (char *)c.ci.compiler);

    /* The guest's word size: 8 bytes in 64-bit mode, 4 in 32-bit mode. */
    memset(buf, GUARD, sizeof(buf));
    rc = HYPERVISOR_xen_version(XENVER_platform_parameters, buf);
    report(rc == 0 && guard_ok(buf, sizeof(unsigned long), 32),
           "XENVER_platform_parameters: %ld, %u bytes written", rc, (unsigned)sizeof(unsigned long));

    memset(buf, GUARD, sizeof(buf));
    rc = HYPERVISOR_xen_version(XENVER_guest_handle, buf);
    report(rc == 0 && guard_ok(buf, 16, 64), "XENVER_guest_handle: %ld, 16 bytes written", rc);

    rc = HYPERVISOR_xen_version(XENVER_pagesize, NULL);
    report(rc == PAGE_SIZE, "XENVER_pagesize: %ld", rc);
}

static void test_hvm_params(void)
{
    uint64_t v = 0xdead;
    long rc = hvm_get_param(HVM_PARAM_STORE_PFN, &v);
    report(rc == 0 && v == 0, "get_param(STORE_PFN): %ld, %llu (no store)", rc, (unsigned long long)v);
    v = 0xdead;
    rc = hvm_get_param(HVM_PARAM_STORE_EVTCHN, &v);
    report(rc == 0 && v == 0, "get_param(STORE_EVTCHN): %ld, %llu", rc, (unsigned long long)v);

    uint64_t pfn = 0xdead, port = 0xdead;
    rc = hvm_get_param(HVM_PARAM_CONSOLE_PFN, &pfn);
    long rc2 = hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN, &port);
    /* Either no console ring (both 0) or a ring in our RAM with a port. */
    bool consistent = (pfn == 0 && port == 0) || (pfn != 0 && port != 0 && pfn * PAGE_SIZE < ram_bytes() + 0x100000);
    report(rc == 0 && rc2 == 0 && consistent, "get_param(CONSOLE_PFN/EVTCHN): %ld/%ld, pfn %#llx port %llu", rc, rc2,
           (unsigned long long)pfn, (unsigned long long)port);

    uint64_t cb = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << HVM_PARAM_CALLBACK_TYPE_SHIFT) | 0xF3;
    rc = hvm_set_param(HVM_PARAM_CALLBACK_IRQ, cb);
    rc2 = hvm_get_param(HVM_PARAM_CALLBACK_IRQ, &v);
    report(rc == 0 && rc2 == 0 && v == cb, "CALLBACK_IRQ vector type: set %ld, reads back %#llx", rc,
           (unsigned long long)v);
    rc = hvm_set_param(HVM_PARAM_CALLBACK_IRQ, 0);
    rc2 = hvm_get_param(HVM_PARAM_CALLBACK_IRQ, &v);
    report(rc == 0 && rc2 == 0 && v == 0, "CALLBACK_IRQ 0 (off): set %ld, reads back %#llx", rc, (unsigned long long)v);

    rc = hvm_set_param(HVM_PARAM_TIMER_MODE, 1);
    rc2 = hvm_get_param(HVM_PARAM_TIMER_MODE, &v);
    report(rc == 0 && rc2 == 0 && v == 1, "TIMER_MODE: set %ld, reads back %llu", rc, (unsigned long long)v);
}

/* The pvclock record of vCPU 0 in a shared-info page seen at some address. */
static bool time_valid(const volatile struct shared_info *s)
{
    const volatile struct vcpu_time_info *t = &s->vcpu_info[0].time;
    return t->version != 0 && !(t->version & 1) && t->tsc_to_system_mul != 0;
}

static void test_shared_info(void)
{
    long rc = shared_info_map();
    report(rc == 0, "add_to_physmap(shared_info) over a page of the image: %ld", rc);
    if (rc)
        return;
    report(time_valid(shared_info), "vcpu_info[0].time is valid as soon as shared info is mapped");
    uint32_t wc = shared_info->wc_version;
    report(wc != 0 && !(wc & 1), "wc_version %u: even and set", wc);

    /* Move it to a frame with no RAM behind it, and back. */
    volatile struct shared_info *away = alloc_unpopulated(PAGE_SIZE);
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
        .gpfn = (uintptr_t)away / PAGE_SIZE,
    };
    rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    bool moved = rc == 0 && time_valid(away);
    report(moved, "shared info moved to gfn %#lx: %ld, time valid there", (unsigned long)xatp.gpfn, rc);
    xatp.gpfn = (uintptr_t)shared_info / PAGE_SIZE;
    rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    report(rc == 0 && time_valid(shared_info), "and moved back: %ld", rc);
    /* DOMID_SELF spelled as our own id works the same. */
    xatp.domid = hypervisor.domid;
    rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    report(rc == 0 && time_valid(shared_info), "add_to_physmap with our own domain id: %ld", rc);
}

static void test_memory(void)
{
    /* Grant frames. */
    long rc = gnttab_init(2);
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    long rc2 = HYPERVISOR_grant_table_op(GNTTABOP_query_size, &q, 1);
    report(rc == 0 && rc2 == 0 && q.status == GNTST_okay && q.nr_frames >= 2 && q.max_nr_frames >= q.nr_frames,
           "add_to_physmap(grant_table, 0..1): %ld; query_size %u of %u frames", rc, q.nr_frames, q.max_nr_frames);
    /* The frame is writable memory of ours now. */
    grant_table[5].domid = 0x1234;
    report(grant_table[5].domid == 0x1234 && grant_table[600].flags == 0, "grant frames are writable, start empty");
    grant_table[5].domid = 0;

    /* The e820 map (20-byte entries) against the start info's. */
    uint8_t e820[8 * 20 + 20];
    memset(e820, GUARD, sizeof(e820));
    struct xen_memory_map mm = { .nr_entries = 8 };
    mm.buffer = e820;
    rc = HYPERVISOR_memory_op(XENMEM_memory_map, &mm);
    uint64_t ram = 0;
    bool sane = rc == 0 && mm.nr_entries >= 1 && mm.nr_entries <= 8 && guard_ok(e820, mm.nr_entries * 20, sizeof(e820));
    for (unsigned i = 0; sane && i < mm.nr_entries; i++) {
        uint64_t addr, size;
        uint32_t type;
        memcpy(&addr, e820 + 20 * i, 8);
        memcpy(&size, e820 + 20 * i + 8, 8);
        memcpy(&type, e820 + 20 * i + 16, 4);
        if (type == 1)
            ram += size;
        printf("  e820[%u]: %#llx + %#llx type %u\n", i, (unsigned long long)addr, (unsigned long long)size, type);
    }
    report(sane && ram == ram_bytes(), "memory_map: %ld, %u entries, %llu KiB RAM (start info: %llu KiB)", rc,
           mm.nr_entries, (unsigned long long)(ram >> 10), (unsigned long long)(ram_bytes() >> 10));
    memset(e820, GUARD, sizeof(e820));
    mm.nr_entries = 1;
    rc = HYPERVISOR_memory_op(XENMEM_memory_map, &mm);
    report(rc == 0 && mm.nr_entries == 1 && guard_ok(e820, 20, sizeof(e820)), "memory_map with room for 1: %ld, %u",
           rc, mm.nr_entries);

    uint16_t self = DOMID_SELF;
    long cur = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
    long max = HYPERVISOR_memory_op(XENMEM_maximum_reservation, &self);
    long pages = (long)(ram_bytes() / PAGE_SIZE);
    /* Pages given up for shared info and grant frames leave the count. */
    report(cur > 0 && cur <= pages && cur >= pages - 16 && max >= cur,
           "current_reservation %ld, maximum_reservation %ld (RAM %ld pages)", cur, max, pages);
    uint16_t me = hypervisor.domid;
    long cur2 = HYPERVISOR_memory_op(XENMEM_current_reservation, &me);
    report(cur2 == cur, "current_reservation by our own id: %ld", cur2);
    long maxpfn = HYPERVISOR_memory_op(XENMEM_maximum_ram_page, NULL);
    report(maxpfn > 0 && (uint64_t)maxpfn >= (ram_bytes() + 0x60000) / PAGE_SIZE - 1,
           "maximum_ram_page: %#lx", maxpfn);
}

static void test_time(void)
{
    struct vcpu_time_info t1, t2;
    if (!report(pvclock_snapshot(&t1), "pvclock: vCPU 0 has a time record"))
        return;
    report(!(t1.version & 1) && t1.version != 0, "pvclock version %u: even", t1.version);
    report(t1.tsc_to_system_mul != 0 && t1.tsc_shift > -32 && t1.tsc_shift < 32, "mul %#x shift %d", t1.tsc_to_system_mul,
           t1.tsc_shift);
    report(t1.flags & XEN_PVCLOCK_TSC_STABLE_BIT, "flags %#x: TSC stable", t1.flags);
    report(t1.system_time > 0, "system time %llu ns", (unsigned long long)t1.system_time);

    /* Time advances with the TSC at the rate CPUID reports, also across
     * reschedules (when the hypervisor may refresh the record). */
    uint64_t tsc0 = rdtsc(), ns0 = pvclock_ns();
    uint64_t ns_prev = ns0;
    bool monotonic = true;
    for (unsigned i = 0; i < 2000; i++) {
        uint64_t n = pvclock_ns();
        monotonic &= n >= ns_prev;
        ns_prev = n;
    }
    while (pvclock_ns() < ns0 + 20000000ULL) /* 20 ms, giving the CPU away */
        sched_yield();
    uint64_t tsc1 = rdtsc(), ns1 = pvclock_ns();
    report(monotonic && ns1 > ns0, "pvclock time is monotonic and advances (%llu ns)", (unsigned long long)(ns1 - ns0));
    uint64_t by_tsc = tsc_to_ns(tsc1 - tsc0), by_clock = ns1 - ns0;
    uint64_t diff = by_tsc > by_clock ? by_tsc - by_clock : by_clock - by_tsc;
    report(by_clock > 0 && diff * 100 <= by_clock, "pvclock %llu ns vs RDTSC/CPUID kHz %llu ns: within 1%%",
           (unsigned long long)by_clock, (unsigned long long)by_tsc);
    pvclock_snapshot(&t2);
    report(!(t2.version & 1) && t2.tsc_to_system_mul == t1.tsc_to_system_mul, "record still even (%u), same mul",
           t2.version);

    uint64_t sec, sec2;
    uint32_t nsec, nsec2, ver;
    bool ok = wallclock_read(&sec, &nsec, &ver);
    bool ok2 = wallclock_read(&sec2, &nsec2, NULL);
    report(ok && ok2 && ver != 0 && !(ver & 1) && nsec < 1000000000U && sec == sec2 && nsec == nsec2,
           "wallclock at boot: %llu.%09u s (version %u), stable", (unsigned long long)sec, nsec, ver);
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    if (!hypervisor.present) {
        report_fail("no hypervisor");
        return;
    }
    test_console();
    test_xen_version();
    test_hvm_params();
    test_shared_info();
    test_memory();
    test_time();
}
