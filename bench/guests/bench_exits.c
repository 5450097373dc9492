/*
 * Exit-path benchmarks: instructions per round trip of each exit, measured
 * with RDTSC around a loop (under QEMU -icount and under Bochs the TSC counts
 * instructions), minus the same loop with no exit in it.  Prints
 * "BENCH <name> <instructions>" lines for bench/run.py.
 *
 * iters=N (default 2000) sets the loop count.
 */
#include "keel_test.h"

#define UPCALL_VECTOR 0xF1

static unsigned iters;
static volatile unsigned upcalls;

static void on_event(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    upcalls++;
}

#define MEASURE(name, body)                                                                                            \
    do {                                                                                                               \
        uint64_t t0 = rdtsc();                                                                                         \
        for (unsigned i = 0; i < iters; i++) {                                                                         \
            body;                                                                                                      \
        }                                                                                                              \
        uint64_t t = rdtsc() - t0;                                                                                     \
        report_bench(name, t);                                                                                         \
    } while (0)

static uint64_t empty_per_iter_x100;

/* The hypercall instruction itself, as a guest kernel's inline stub issues
 * it: only the exit round trip is measured, not a C wrapper. */
static inline long null_hypercall(void)
{
    long ret;
#if defined(__x86_64__)
    if (hypervisor.intel)
        __asm__ volatile("vmcall" : "=a"(ret) : "a"(17L), "D"(0L) : "memory", "rcx", "r11");
    else
        __asm__ volatile("vmmcall" : "=a"(ret) : "a"(17L), "D"(0L) : "memory", "rcx", "r11");
#else
    if (hypervisor.intel)
        __asm__ volatile("vmcall" : "=a"(ret) : "a"(17L), "b"(0L) : "memory");
    else
        __asm__ volatile("vmmcall" : "=a"(ret) : "a"(17L), "b"(0L) : "memory");
#endif
    return ret;
}

static void report_bench(const char *name, uint64_t total)
{
    uint64_t per_x100 = total * 100 / iters;
    if (!strcmp(name, "empty")) {
        empty_per_iter_x100 = per_x100;
        printf("BENCH empty_loop %llu\n", (unsigned long long)(per_x100 / 100));
        return;
    }
    uint64_t net = per_x100 > empty_per_iter_x100 ? per_x100 - empty_per_iter_x100 : 0;
    printf("BENCH %s %llu\n", name, (unsigned long long)((net + 50) / 100));
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    iters = (unsigned)cmdline_ull("iters", 2000);
    if (!hypervisor.present) {
        report_skip("needs a hypervisor");
        return;
    }
    hypercall_mode_direct();
    if (!report(null_hypercall() == ((4 << 16) | 17), "xen_version through the inline stub"))
        return;

    /* Warm up every path once, then measure. */
    for (int pass = 0; pass < 2; pass++) {
        MEASURE("empty", __asm__ volatile("" ::: "memory"));
        MEASURE("hypercall_null", (void)null_hypercall());
        MEASURE("cpuid", (void)cpuid(0));
        MEASURE("io_e9_read", (void)inb(0xE9));
        MEASURE("io_unhandled_read", (void)inl(0xCF8));
        MEASURE("msr_read", (void)rdmsr(0x1A0));
    }

    /* Event channel to ourselves: send, then the upcall runs the handler
     * on the way back into the guest. */
    if (evtchn_init(UPCALL_VECTOR) == 0) {
        uint32_t port;
        sti();
        if (evtchn_bind_ipi(0, &port) == 0) {
            evtchn_bind_handler(port, on_event, NULL);
            MEASURE("empty", __asm__ volatile("" ::: "memory"));
            unsigned before = upcalls;
            MEASURE("evtchn_send_self_upcall", {
                unsigned want = upcalls + 1;
                evtchn_send(port);
                while (upcalls != want)
                    cpu_relax();
            });
            report(upcalls - before == iters, "%u upcalls for %u sends", upcalls - before, iters);
        }
    }
    report_pass("exit benchmarks");
}
