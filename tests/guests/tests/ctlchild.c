/*
 * The child image of the control-domain tests (tests/guests/tests/ctl.c):
 * the control domain receives this kernel as its ramdisk, builds domains
 * from it through domctl and gives each a command line saying what to do.
 *
 *   mode=hello  (default) print "ctlchild: hello tag=T domid=N" and power
 *               off (reason=reboot|crash shuts down with that reason instead)
 *   mode=spin   run vcpus= vCPUs (default 1) in a CPU-bound loop forever;
 *               the control domain samples where they run, then destroys it
 *   mode=hotplug  vCPU hotplug driven by the control domain (test 8): wait
 *               for VIRQ_ARCH_0, bring every vCPU up it may (VCPUOP_up gives
 *               -EPERM beyond the online count), prove each online vCPU runs
 *               and each offline one stops
 *
 * Everything it proves it prints as PASS/FAIL lines; the control domain
 * reads them back from the hypervisor log.
 */
#include "keel_test.h"

#define UPCALL_VECTOR 0xF3
#define MAX_HOTPLUG 32

static uint64_t tsc_khz(void)
{
    struct cpuid_regs r = cpuid_count(hypervisor.base + 3, 0);
    return r.ecx ? r.ecx : 1000000; /* 1 GHz if the leaf says nothing */
}

static unsigned my_domid(void)
{
    struct cpuid_regs r = cpuid(hypervisor.base + 4);
    return (r.eax & XEN_HVM_CPUID_DOMID_PRESENT) ? r.ecx : ~0u;
}

/* --- mode=spin --------------------------------------------------------- */

static volatile uint64_t spin_count[RT_MAX_VCPUS];

static __attribute__((noreturn)) void spin_forever(unsigned id)
{
    uint64_t x = id + 1;
    for (;;) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        __asm__ volatile("" : "+r"(x));
        spin_count[id]++;
    }
}

static void spin_ap(unsigned id)
{
    spin_forever(id);
}

static void mode_spin(void)
{
    unsigned n = (unsigned)cmdline_ull("vcpus", 1);
    for (unsigned id = 1; id < n && id < RT_MAX_VCPUS; id++)
        check(vcpu_start(id, spin_ap) == 0, "spin: vcpu_start(%u)", id);
    printf("ctlchild: spinning on %u vCPUs\n", n);
    spin_forever(0);
}

/* --- mode=hotplug ------------------------------------------------------ */

static volatile unsigned virq_seen;
static volatile uint64_t hp_count[MAX_HOTPLUG];
static bool started[MAX_HOTPLUG];

static void on_virq(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    __atomic_fetch_add(&virq_seen, 1, __ATOMIC_RELEASE);
}

/* CPU-bound, no exits of its own: only the scheduler (time slices) and
 * the hotplug (VPF_DOWN and a kick) take it off its CPU. */
static void hp_ap(unsigned id)
{
    for (;;)
        __atomic_fetch_add(&hp_count[id], 1, __ATOMIC_RELAXED);
}

static bool wait_virq(unsigned seen, uint64_t timeout_tsc)
{
    uint64_t t0 = rdtsc();
    while (__atomic_load_n(&virq_seen, __ATOMIC_ACQUIRE) == seen) {
        if (rdtsc() - t0 > timeout_tsc)
            return false;
        safe_halt(); /* the upcall or the periodic wake-up below */
        cli();
    }
    sti();
    return true;
}

/* Bring up every vCPU not yet started; returns how many are up now
 * (vCPU 0 included) and checks that refusals are -EPERM. */
static unsigned bring_up(unsigned max)
{
    unsigned up = 1;
    for (unsigned id = 1; id < max; id++) {
        if (started[id]) {
            up++;
            continue;
        }
        int rc = vcpu_start(id, hp_ap);
        if (rc == 0) {
            started[id] = true;
            up++;
        } else {
            check(rc == -EPERM, "hotplug: vcpu_start(%u) gave %d, expected 0 or -EPERM", id, rc);
        }
    }
    return up;
}

/* Sample the counters twice, a while apart. */
static void sample(uint64_t *a, uint64_t *b, unsigned max, uint64_t gap_tsc)
{
    for (unsigned i = 0; i < max; i++)
        a[i] = __atomic_load_n(&hp_count[i], __ATOMIC_RELAXED);
    uint64_t t0 = rdtsc();
    while (rdtsc() - t0 < gap_tsc) {
        hp_count[0]++;
        sched_yield();
    }
    for (unsigned i = 0; i < max; i++)
        b[i] = __atomic_load_n(&hp_count[i], __ATOMIC_RELAXED);
}

static void mode_hotplug(void)
{
    unsigned max = (unsigned)cmdline_ull("maxvcpus", MAX_HOTPLUG);
    uint64_t khz = tsc_khz();
    uint64_t timeout = khz * 1000 * cmdline_ull("timeout_s", 60);
    uint64_t gap = khz * cmdline_ull("gap_ms", 1000);
    uint64_t a[MAX_HOTPLUG], b[MAX_HOTPLUG];
    uint32_t port;

    if (max > MAX_HOTPLUG)
        max = MAX_HOTPLUG;
    if (!check(evtchn_init(UPCALL_VECTOR) == 0, "hotplug: evtchn_init") ||
        !check(evtchn_bind_virq(VIRQ_ARCH_0, 0, &port) == 0, "hotplug: bind VIRQ_ARCH_0"))
        return;
    evtchn_bind_handler(port, on_virq, NULL);
    /* A periodic timer wakes the halt loop now and then (VIRQ_TIMER is not
     * bound: the timer only unblocks the vCPU). */
    struct vcpu_set_periodic_timer pt = { .period_ns = 10000000 };
    HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &pt);
    sti();

    /* Phase 1: one vCPU online; every other one is refused. */
    unsigned up = bring_up(max);
    report(up == 1, "hotplug: with 1 online, %u vCPUs came up (vCPU 1: -EPERM)", up);
    printf("ctlchild: hotplug ready\n");

    /* Phase 2: the control domain raises the count to max. */
    if (!check(wait_virq(0, timeout), "hotplug: no VIRQ_ARCH_0 for the first change"))
        return;
    up = bring_up(max);
    report(up == max, "hotplug: after VIRQ_ARCH_0, %u of %u vCPUs up", up, max);
    /* Every started vCPU proves it runs: its own counter moves. */
    uint64_t t0 = rdtsc();
    unsigned running;
    do {
        running = 1;
        for (unsigned i = 1; i < max; i++)
            running += hp_count[i] != 0;
        sched_yield();
    } while (running < up && rdtsc() - t0 < timeout);
    report(running == max, "hotplug: %u of %u vCPUs counted", running, max);
    printf("ctlchild: hotplug %u running\n", running);

    /* Phase 3: the control domain lowers the count; vCPUs above it stop. */
    if (!check(wait_virq(1, timeout), "hotplug: no VIRQ_ARCH_0 for the second change"))
        return;
    /* vCPUs taken down may still be finishing an iteration: let them stop. */
    uint64_t settle = rdtsc();
    while (rdtsc() - settle < gap / 4)
        sched_yield();
    unsigned online = 0, bad_is_up = 0;
    for (unsigned i = 0; i < max; i++) {
        long u = HYPERVISOR_vcpu_op(VCPUOP_is_up, i, NULL);
        online += u == 1;
        bad_is_up += u != 0 && u != 1;
    }
    sample(a, b, max, gap);
    unsigned moving = 0, frozen = 0;
    for (unsigned i = 0; i < max; i++) {
        bool up_now = HYPERVISOR_vcpu_op(VCPUOP_is_up, i, NULL) == 1;
        if (up_now && b[i] > a[i])
            moving++;
        if (!up_now && b[i] == a[i])
            frozen++;
        if (up_now != (b[i] > a[i]))
            report_fail("hotplug: vCPU %u is_up=%d but its counter went %llu -> %llu", i, up_now,
                        (unsigned long long)a[i], (unsigned long long)b[i]);
    }
    report(bad_is_up == 0 && moving == online && frozen == max - online,
           "hotplug: %u online (is_up), %u counting, %u frozen", online, moving, frozen);
    long rc = HYPERVISOR_vcpu_op(VCPUOP_up, max - 1, NULL);
    report(rc == -EPERM, "hotplug: VCPUOP_up(%u) beyond the online count: %ld", max - 1, rc);
    printf("ctlchild: hotplug online=%u\n", online);
}

/* ----------------------------------------------------------------------- */

void test_main(const struct hvm_start_info *si)
{
    char mode[16] = "hello", reason[16] = "";
    char tag[24] = "-";
    (void)si;

    cmdline_str("mode", mode, sizeof(mode));
    cmdline_str("tag", tag, sizeof(tag));
    cmdline_str("reason", reason, sizeof(reason));
    if (!hypervisor.present) {
        report_skip("needs a hypervisor");
        return;
    }
    if (!strcmp(mode, "spin")) {
        mode_spin();
    } else if (!strcmp(mode, "hotplug")) {
        mode_hotplug();
    } else {
        printf("ctlchild: hello tag=%s domid=%u\n", tag, my_domid());
        if (!strcmp(reason, "reboot"))
            sched_shutdown(SHUTDOWN_reboot);
        else if (!strcmp(reason, "crash"))
            sched_shutdown(SHUTDOWN_crash);
        report_pass("hello");
    }
}
