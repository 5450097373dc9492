/*
 * The runtime tests itself: formatting, strings, 64-bit arithmetic, the
 * command-line parser, the page allocator, expected faults of every kind
 * the runtime can catch, software interrupts through the IDT, and (on a
 * hypervisor) hypercalls through the page and directly.
 *
 * Options, to exercise the other ends of a test:
 *   fail=1          report a failure     -> Test result: FAILURE
 *   skip=1          skip everything      -> Test result: SKIP
 *   crash=ud|pf|irq an unexpected event  -> Test result: ERROR
 *   ap_sim=1        finish on a simulated secondary vCPU: jump into
 *                   ap_entry on a fresh stack, as VCPUOP_up would, to test
 *                   the secondary entry path without a hypervisor
 */
#include "keel_test.h"
#include "rt.h" /* the runtime's internals: struct percpu, ap_entry */

#define CHECK_FMT(expect, ...)                                                       \
    do {                                                                             \
        char buf_[64];                                                               \
        snprintf(buf_, sizeof(buf_), __VA_ARGS__);                                   \
        check(!strcmp(buf_, expect), "format %s gave \"%s\", not \"%s\"", #__VA_ARGS__, buf_, expect); \
    } while (0)

static void test_format(void)
{
    CHECK_FMT("-42|42|  7|7  |007", "%d|%i|%3d|%-3d|%03d", -42, 42, 7, 7, 7);
    CHECK_FMT("-0042", "%05d", -42);
    CHECK_FMT("4294967295", "%u", 4294967295U);
    CHECK_FMT("deadbeef DEADBEEF 0000beef", "%x %X %08x", 0xdeadbeefU, 0xdeadbeefU, 0xbeefU);
    CHECK_FMT("0x1f 0 0X1F", "%#x %#x %#X", 0x1fU, 0U, 0x1fU);
    CHECK_FMT("12345678", "%lx", 0x12345678UL);
    CHECK_FMT("123456789abcdef0", "%llx", 0x123456789abcdef0ULL);
    CHECK_FMT("18446744073709551615", "%llu", 18446744073709551615ULL);
    CHECK_FMT("-9223372036854775807", "%lld", -9223372036854775807LL);
    CHECK_FMT("ff 65535 42", "%hhx %hu %zu", 0x1ffU, 0x1ffffU, (size_t)42);
    CHECK_FMT("abc|ab|  abc|abc  |x", "%s|%.2s|%5s|%-5s|%c", "abc", "abc", "abc", "abc", 'x');
    const char *volatile null_string = NULL; /* hidden from GCC's format checks */
    CHECK_FMT("(null) %", "%s %%", null_string);
    CHECK_FMT("0x1000", "%p", (void *)0x1000);
    CHECK_FMT("[  5]", "[%*d]", 3, 5);

    char small[6];
    int n = snprintf(small, sizeof(small), "%s", "truncated");
    check(n == 9 && !strcmp(small, "trunc"), "snprintf truncation: %d \"%s\"", n, small);
    report_pass("printf formats");
}

static void test_strings(void)
{
    char a[16], b[16];
    memset(a, 'x', sizeof(a));
    check(a[0] == 'x' && a[15] == 'x', "memset");
    memcpy(b, "hello, world", 13);
    check(!memcmp(b, "hello, world", 13) && strlen(b) == 12, "memcpy/strlen");
    memmove(b + 2, b, 5); /* overlapping, forwards */
    check(!strcmp(b, "hehelloworld"), "memmove up: %s", b);
    memmove(b, b + 2, 5); /* overlapping, backwards */
    check(!strcmp(b, "helloloworld"), "memmove down: %s", b);
    check(strcmp("abc", "abd") < 0 && strcmp("b", "a") > 0 && !strcmp("x", "x"), "strcmp");
    check(!strncmp("abcdef", "abcxyz", 3) && strncmp("abc", "abd", 3) < 0, "strncmp");
    check(strchr("key=value", '=') && *strchr("key=value", '=') == '=' && !strchr("abc", 'z'), "strchr");
    report_pass("string functions");
}

static void test_arith64(void)
{
    volatile unsigned long long n = 1000000000000000007ULL, d = 7;
    volatile long long sn = -1000000000000000007LL;
    check(n / d == 142857142857142858ULL && n % d == 1, "u64 division: %llu %llu", n / d, n % d);
    check(sn / 7 == -142857142857142858LL && sn % 7 == -1, "s64 division: %lld %lld", sn / 7, sn % 7);
    report_pass("64-bit arithmetic");
}

static void test_options(void)
{
    const char *saved = test_cmdline;
    char buf[16];

    test_cmdline = "  a=1 flag count=0x10 b=no s=hello-world a=2 bad=12x";
    check(cmdline_ull("a", 0) == 2, "the last a= wins");
    check(cmdline_ull("count", 0) == 16, "hex value");
    check(cmdline_ull("bad", 99) == 99 && cmdline_ull("missing", 5) == 5, "defaults");
    check(cmdline_has("flag") && !cmdline_has("fla") && !cmdline_has("missing"), "cmdline_has");
    check(cmdline_bool("flag", false) && !cmdline_bool("b", true) && cmdline_bool("zz", true), "cmdline_bool");
    check(cmdline_str("s", buf, sizeof(buf)) && !strcmp(buf, "hello-world"), "cmdline_str: %s", buf);
    check(cmdline_str("s", buf, 6) && !strcmp(buf, "hello"), "cmdline_str truncation: %s", buf);
    test_cmdline = saved;
    report_pass("command-line options");
}

static void test_alloc(void)
{
    if (!memmap_entries()) {
        report_skip("alloc_pages: no memory map");
        return;
    }
    char *p = alloc_pages(STACK_SIZE, STACK_SIZE);
    char *q = alloc_pages(100, 0);
    bool ok = p && q && !((uintptr_t)p & (STACK_SIZE - 1)) && !((uintptr_t)q & (PAGE_SIZE - 1));
    check(ok, "alloc_pages: %p %p", (void *)p, (void *)q);
    if (!ok)
        return;
    check(p >= __image_end || p + STACK_SIZE <= __image_start, "allocation overlaps the image");
    check(q >= p + STACK_SIZE || q + PAGE_SIZE <= p, "allocations overlap");
    check(p[0] == 0 && p[STACK_SIZE - 1] == 0 && q[PAGE_SIZE - 1] == 0, "allocations are zeroed");
    p[0] = q[0] = 1;
    report_pass("alloc_pages: %p and %p", (void *)p, (void *)q);
}

static void do_ud2(void *arg)
{
    (void)arg;
    __asm__ volatile("ud2");
}

static void do_int3(void *arg)
{
    (void)arg;
    __asm__ volatile("int3");
}

static void do_div0(void *arg)
{
    volatile unsigned zero = 0, one = 1;
    (void)arg;
    one = one / zero;
}

static void do_rdmsr(void *msr)
{
    (void)rdmsr((uint32_t)(uintptr_t)msr);
}

static void do_bad_selector(void *arg)
{
    (void)arg;
    /* Far beyond the GDT limit: #GP with the selector as error code. */
    __asm__ volatile("mov %w0, %%fs" : : "r"(0xFFF8));
}

static void do_read(void *p)
{
    (void)*(volatile char *)p;
}

static void do_write(void *p)
{
    *(volatile char *)p = 1;
}

static void do_nothing(void *arg)
{
    (void)arg;
}

static void do_nested(void *arg)
{
    int *inner = arg;
    *inner = run_expecting_fault(do_ud2, NULL, NULL);
    do_read(unmapped_page); /* caught by the outer level */
}

#define BOGUS_MSR 0x4B564D99U /* no CPU or hypervisor defines it */

static void test_faults(void)
{
    struct fault_info fi;
    uint64_t v;
    int inner = NO_FAULT;

    check(run_expecting_fault(do_nothing, NULL, &fi) == NO_FAULT && fi.vector == NO_FAULT, "no fault");
    check(run_expecting_fault(do_ud2, NULL, &fi) == X86_EXC_UD, "ud2: vector %d", fi.vector);
    check(run_expecting_fault(do_int3, NULL, &fi) == X86_EXC_BP, "int3: vector %d", fi.vector);
    check(run_expecting_fault(do_div0, NULL, &fi) == X86_EXC_DE, "div by 0: vector %d", fi.vector);

    check(run_expecting_fault(do_bad_selector, NULL, &fi) == X86_EXC_GP && fi.error_code == 0xFFF8,
          "bad selector: vector %d error %#lx", fi.vector, fi.error_code);

    /* QEMU's TCG returns 0 for unknown MSRs instead of raising #GP;
     * hypervisors (Keel, Xen, KVM) and Bochs raise it. */
    int vec = run_expecting_fault(do_rdmsr, (void *)(uintptr_t)BOGUS_MSR, &fi);
    bool msr_faults = vec != NO_FAULT;
    if (!msr_faults && !hypervisor.present) {
        report_skip("rdmsr of an unknown MSR does not fault on this CPU (QEMU TCG)");
    } else {
        check(vec == X86_EXC_GP && fi.error_code == 0, "rdmsr of a bogus MSR: vector %d error %#lx", vec,
              fi.error_code);
        check(!rdmsr_checked(BOGUS_MSR, &v) && v == 0, "rdmsr_checked(bogus) succeeded");
        check(!wrmsr_checked(BOGUS_MSR, 1), "wrmsr_checked(bogus) succeeded");
    }
    if (sizeof(void *) == 8)
        check(rdmsr_checked(MSR_EFER, &v) && (v & 0x400), "rdmsr_checked(EFER): %#llx, LMA clear",
              (unsigned long long)v);

    check(!probe_read(unmapped_page) && probe_read(__image_start), "probe_read");
    check(run_expecting_fault(do_read, unmapped_page, &fi) == X86_EXC_PF && fi.cr2 == (uintptr_t)unmapped_page &&
              (fi.error_code & 3) == 0,
          "read of unmapped_page: vector %d cr2 %#lx error %#lx", fi.vector, fi.cr2, fi.error_code);
    check(run_expecting_fault(do_write, unmapped_page + 8, &fi) == X86_EXC_PF &&
              fi.cr2 == (uintptr_t)unmapped_page + 8 && (fi.error_code & 3) == 2,
          "write to unmapped_page: vector %d cr2 %#lx error %#lx", fi.vector, fi.cr2, fi.error_code);
    if (sizeof(void *) == 8) {
        void *above_4g = (void *)(uintptr_t)(1ULL << 32);
        check(run_expecting_fault(do_read, above_4g, &fi) == X86_EXC_PF && fi.cr2 == (uintptr_t)above_4g,
              "read above 4 GiB: vector %d cr2 %#lx", fi.vector, fi.cr2);
    }

    check(run_expecting_fault(do_nested, &inner, &fi) == X86_EXC_PF && inner == X86_EXC_UD,
          "nested: outer %d inner %d", fi.vector, inner);
    check(!irqs_enabled(), "interrupts enabled after recovering");
    report_pass("expected faults (#UD #BP #DE #GP #PF, nested, exception table)");
}

static volatile unsigned irq_hits;

static void count_irq(unsigned vector)
{
    irq_hits += vector;
}

static void test_soft_irqs(void)
{
    irq_set_handler(0x40, count_irq);
    irq_set_handler(0xF0, count_irq); /* >= 128: the stub pushes a sign-extended byte */
    __asm__ volatile("int $0x40; int $0xF0" ::: "memory");
    irq_set_handler(0x40, NULL);
    irq_set_handler(0xF0, NULL);
    check(irq_hits == 0x40 + 0xF0, "software interrupts: %u", irq_hits);
    report_pass("software interrupts through the IDT");
}

static void test_misc(void)
{
    uint64_t t0 = rdtsc();
    tsc_spin(1000);
    check(rdtsc() - t0 >= 1000, "tsc_spin");
    check(smp_cpu_id() == 0, "smp_cpu_id() on the boot vCPU is %u", smp_cpu_id());
    check(vcpu_state(0) == VCPU_RUNNING && vcpu_state(1) == VCPU_OFF, "vcpu_state");
    struct cpuid_regs r = cpuid(0);
    check(r.eax >= 1, "cpuid(0).eax = %u", r.eax);
    report_pass("tsc, cpuid, vCPU ids");
}

static void test_hypercalls(void)
{
    if (!hypervisor.present) {
        check(keel_hypercall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0) == -ENOSYS,
              "a hypercall without hypervisor");
        check(vcpu_start(1, NULL) == -ENODEV, "vcpu_start without hypervisor");
        report_skip("hypercalls: no hypervisor");
        return;
    }
    long expect = (long)hypervisor.version;
    enum hypercall_mode saved = hypercall_get_mode();

    if (hypercall_set_mode(HYPERCALL_PAGE))
        check(HYPERVISOR_xen_version(XENVER_version, NULL) == expect, "xen_version through the page");
    else
        report_fail("no hypercall page");
    hypercall_mode_direct();
    check(HYPERVISOR_xen_version(XENVER_version, NULL) == expect, "xen_version through %s",
          hypervisor.intel ? "VMCALL" : "VMMCALL");
    hypercall_set_mode(saved);
    report_pass("hypercalls");
}

static void crash(const char *how)
{
    printf("crashing on purpose: %s\n", how);
    if (!strcmp(how, "ud"))
        do_ud2(NULL);
    else if (!strcmp(how, "pf"))
        do_read(unmapped_page);
    else if (!strcmp(how, "irq"))
        __asm__ volatile("int $0x41");
    else
        test_error("unknown crash=%s", how);
}

static void simulated_ap(unsigned id)
{
    struct fault_info fi;
    check(id == 1 && smp_cpu_id() == 1, "simulated vCPU: id %u, smp_cpu_id() %u", id, smp_cpu_id());
    check(vcpu_state(1) == VCPU_RUNNING, "simulated vCPU: state %d", vcpu_state(1));
    check(run_expecting_fault(do_ud2, NULL, &fi) == X86_EXC_UD, "simulated vCPU: ud2 gave %d", fi.vector);
    report_pass("secondary vCPU entry path (simulated on the boot vCPU)");
    test_finish();
}

static void simulate_ap(void)
{
    struct percpu *pc = alloc_pages(STACK_SIZE, STACK_SIZE);
    if (!pc)
        test_error("no memory for a stack");
    pc->id = 1;
    pc->entry = simulated_ap;
    unsigned long top = (uintptr_t)pc + STACK_SIZE;
    /* What VCPUOP_initialise sets up: the stack pointer and the entry. */
#ifdef __x86_64__
    __asm__ volatile("mov %0, %%rsp; jmp *%1" : : "r"(top), "r"(ap_entry) : "memory");
#else
    __asm__ volatile("mov %0, %%esp; jmp *%1" : : "r"(top), "r"(ap_entry) : "memory");
#endif
    __builtin_unreachable();
}

void test_main(const struct hvm_start_info *si)
{
    char how[8];

    check(si != NULL, "no start info");
    if (cmdline_bool("skip", false)) {
        report_skip("asked to skip");
        return;
    }
    test_format();
    test_strings();
    test_arith64();
    test_options();
    test_alloc();
    test_faults();
    test_soft_irqs();
    test_misc();
    test_hypercalls();
    if (cmdline_bool("fail", false))
        report_fail("asked to fail");
    if (cmdline_str("crash", how, sizeof(how)))
        crash(how);
    if (cmdline_bool("ap_sim", false))
        simulate_ap();
}
