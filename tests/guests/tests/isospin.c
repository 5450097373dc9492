/*
 * CPU-bound loops for the scheduling and isolation tests
 * (tests/guests/test_core.py).  No exits in the loops themselves.
 *
 *   mode=progress  vcpus= vCPUs (default 2) each run count= iterations and
 *                  print "spin: v=ID q=K n=N" at each quarter (K = 1..4)
 *   mode=share     count on vCPU 0 for ms= milliseconds (TSC), printing
 *                  "share: n=N run_ns=T" every print_ms= (default 50): N
 *                  iterations and T ns of running time so far (VCPUOP_
 *                  get_runstate_info).  The harness turns the log
 *                  timestamps of these lines into rates over the same wall
 *                  interval; two of these pinned to one CPU with different
 *                  weights give the weights' ratio
 *   mode=tick      count for ms= milliseconds (TSC), "tick: k=K n=N" every
 *                  tick_ms= (default 50): a neighbour that must keep going
 *                  while another domain crashes
 */
#include "keel_test.h"

static uint64_t tsc_khz(void)
{
    struct cpuid_regs r = cpuid_count(hypervisor.base + 3, 0);
    return hypervisor.present && r.ecx ? r.ecx : 1000000;
}

static inline uint64_t step(uint64_t x)
{
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    __asm__ volatile("" : "+r"(x));
    return x;
}

/* --- mode=progress ------------------------------------------------------ */

static unsigned long long count;
static volatile unsigned long long done_n[RT_MAX_VCPUS];

static void progress_loop(unsigned id)
{
    unsigned long long quarter = count / 4 ? count / 4 : 1, n = 0;
    uint64_t x = id;
    for (unsigned q = 1; q <= 4; q++) {
        for (unsigned long long i = 0; i < quarter; i++)
            x = step(x);
        n += quarter;
        printf("spin: v=%u q=%u n=%llu\n", id, q, n);
    }
    done_n[id] = n + (x == 42); /* keeps x alive */
}

static void mode_progress(void)
{
    unsigned nv = (unsigned)cmdline_ull("vcpus", 2);
    if (nv > RT_MAX_VCPUS)
        nv = RT_MAX_VCPUS;
    for (unsigned id = 1; id < nv; id++) {
        int rc = vcpu_start(id, progress_loop);
        if (!report(rc == 0, "progress: vcpu_start(%u): %d", id, rc))
            return;
    }
    progress_loop(0);
    for (unsigned id = 1; id < nv; id++)
        check(vcpu_wait(id, VCPU_DONE, 0), "progress: vCPU %u did not finish", id);
    unsigned finished = 0;
    for (unsigned id = 0; id < nv; id++)
        finished += done_n[id] >= count / 4 * 4;
    report(finished == nv, "progress: %u of %u vCPUs ran %llu iterations", finished, nv, count);
}

/* --- mode=share --------------------------------------------------------- */

/* This vCPU's time in RUNSTATE_running so far (as of its last
 * descheduling), from VCPUOP_get_runstate_info; 0 if unavailable. */
static unsigned long long run_ns(void)
{
    struct vcpu_runstate_info ri;
    memset(&ri, 0, sizeof(ri));
    if (HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, &ri))
        return 0;
    return (unsigned long long)ri.time[RUNSTATE_running];
}

static void mode_share(void)
{
    uint64_t khz = tsc_khz();
    uint64_t total = khz * cmdline_ull("ms", 2000), every = khz * cmdline_ull("print_ms", 50);
    uint64_t t0 = rdtsc(), next = t0 + every, x = 1;
    unsigned long long n = 0;
    printf("share: start\n");
    for (;;) {
        for (unsigned i = 0; i < 20000; i++)
            x = step(x);
        n += 20000;
        uint64_t now = rdtsc();
        if (now >= next || now - t0 >= total) {
            printf("share: n=%llu run_ns=%llu\n", n, run_ns());
            next = now + every;
        }
        if (now - t0 >= total)
            break;
    }
    report(x != 42, "share: %llu iterations in %llu ms", n, (unsigned long long)cmdline_ull("ms", 2000));
}

/* --- mode=tick ---------------------------------------------------------- */

static void mode_tick(void)
{
    uint64_t khz = tsc_khz();
    uint64_t total = khz * cmdline_ull("ms", 2000), every = khz * cmdline_ull("tick_ms", 50);
    uint64_t t0 = rdtsc(), next = t0 + every, x = 3;
    unsigned long long n = 0;
    unsigned k = 0;
    for (;;) {
        for (unsigned i = 0; i < 10000; i++)
            x = step(x);
        n += 10000;
        uint64_t now = rdtsc();
        if (now >= next) {
            printf("tick: k=%u n=%llu\n", ++k, n);
            next = now + every;
        }
        if (now - t0 >= total)
            break;
    }
    report(k > 0 && x != 42, "tick: %u ticks, %llu iterations", k, n);
}

void test_main(const struct hvm_start_info *si)
{
    char mode[16] = "progress";
    (void)si;
    cmdline_str("mode", mode, sizeof(mode));
    count = cmdline_ull("count", 10000000);
    if (!strcmp(mode, "progress"))
        mode_progress();
    else if (!strcmp(mode, "share"))
        mode_share();
    else if (!strcmp(mode, "tick"))
        mode_tick();
    else
        test_error("unknown mode '%s'", mode);
}
