/*
 * sched_op and set_timer_op, success paths (needs vcpus=2):
 *  - yield returns 0;
 *  - block sleeps until an event: VIRQ_TIMER from set_timer_op, and an IPI
 *    port sent by vCPU 1; it returns no earlier than the event, and the
 *    runstate shows the time as blocked, not running;
 *  - poll: returns at once when a polled (masked) port is pending, returns
 *    at its timeout when none is, returns early when vCPU 1 sends one, and
 *    a timeout already past returns at once;
 *  - set_timer_op: fires VIRQ_TIMER at or after the deadline, 0 cancels,
 *    a past deadline fires at once;
 *  - shutdown_code records a reason (the shutdown boot of test_abi.py
 *    checks its effect).
 * Delays are a few ms of pvclock time; upper bounds are loose (seconds)
 * because emulators run slowly and other domains share the CPUs.
 */
#include "keel_test.h"

#define UPCALL_VECTOR 0xF0
#define MS 1000000ULL
#define LOOSE (3000 * MS)

static volatile unsigned timer_hits, ipi_hits;
static uint32_t timer_port, ipi_port, poll_port;

static void on_timer(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    timer_hits++;
}

static void on_ipi(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    ipi_hits++;
}

static uint64_t now(void)
{
    return pvclock_ns();
}

static long block(void)
{
    long rc = HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    __asm__ volatile("sti; nop; cli" ::: "memory"); /* take the upcall */
    return rc;
}

static uint64_t blocked_ns(unsigned vcpu)
{
    struct vcpu_runstate_info ri;
    if (HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, vcpu, &ri))
        return 0;
    return ri.time[RUNSTATE_blocked];
}

/* vCPU 1: sends `port` once vCPU 0 asks for it, `delay` ns later. */
static volatile uint32_t ap_port;
static volatile uint64_t ap_delay, ap_sent_at;
static volatile int ap_request, ap_quit;

static void ap_main(unsigned id)
{
    (void)id;
    while (!ap_quit) {
        if (!__atomic_load_n(&ap_request, __ATOMIC_ACQUIRE)) {
            cpu_relax();
            continue;
        }
        uint64_t t = now() + ap_delay;
        while (now() < t)
            sched_yield();
        ap_sent_at = now();
        evtchn_send(ap_port);
        __atomic_store_n(&ap_request, 0, __ATOMIC_RELEASE);
    }
}

static void ap_send_later(uint32_t port, uint64_t delay)
{
    ap_port = port;
    ap_delay = delay;
    __atomic_store_n(&ap_request, 1, __ATOMIC_RELEASE);
}

static void test_yield(void)
{
    long rc = 0;
    for (unsigned i = 0; i < 10 && !rc; i++)
        rc = sched_yield();
    report(rc == 0, "SCHEDOP_yield x10: %ld", rc);
}

static void test_block(void)
{
    /* Woken by VIRQ_TIMER.  Under load the deadline may pass before the
     * block call (which then returns at once, rightly): try again then. */
    unsigned before = 0, rounds = 0, tries = 0;
    uint64_t t0 = 0, t1 = 0, deadline = 0, slept = 0, b0 = 0, b1 = 0;
    long rc = 0, brc = 0;
    for (; tries < 5; tries++) {
        before = timer_hits;
        b0 = blocked_ns(0);
        cli();
        t0 = now();
        deadline = t0 + 20 * MS;
        rc = HYPERVISOR_set_timer_op(deadline);
        rounds = 0;
        slept = 0;
        while (timer_hits == before && now() < t0 + LOOSE && rounds < 100) {
            uint64_t c = now();
            brc |= block();
            slept += now() - c;
            rounds++;
        }
        sti();
        t1 = now();
        b1 = blocked_ns(0);
        if (slept >= 10 * MS)
            break;
    }
    report(rc == 0 && brc == 0 && timer_hits == before + 1 && t1 >= deadline && t1 < t0 + LOOSE,
           "SCHEDOP_block woken by VIRQ_TIMER after %llu us (deadline 20000 us, %u block call(s), try %u)",
           (unsigned long long)((t1 - t0) / 1000), rounds, tries + 1);
    /* The time in the block call was spent blocked (half of it at least:
     * being runnable again and getting a CPU takes some). */
    report(slept >= 10 * MS && b1 - b0 >= slept / 2, "runstate: %llu us more spent blocked, %llu us in the call",
           (unsigned long long)((b1 - b0) / 1000), (unsigned long long)(slept / 1000));

    /* Woken by an event another vCPU sends; a timer as safety net. */
    before = ipi_hits;
    unsigned timer_before = timer_hits;
    t0 = now();
    HYPERVISOR_set_timer_op(t0 + LOOSE);
    ap_send_later(ipi_port, 5 * MS);
    rounds = 0;
    cli();
    while (ipi_hits == before && timer_hits == timer_before && rounds < 100) {
        block();
        rounds++;
    }
    sti();
    HYPERVISOR_set_timer_op(0);
    t1 = now();
    report(ipi_hits == before + 1 && timer_hits == timer_before && t1 >= ap_sent_at && t1 - t0 >= 4 * MS,
           "SCHEDOP_block woken by an IPI port from vCPU 1 after %llu us (%u block call(s))",
           (unsigned long long)((t1 - t0) / 1000), rounds);
    while (__atomic_load_n(&ap_request, __ATOMIC_ACQUIRE))
        cpu_relax();
}

static long poll1(uint32_t port, uint64_t timeout)
{
    uint32_t ports[1] = { port };
    struct sched_poll p = { .nr_ports = 1, .timeout = timeout };
    p.ports = ports;
    return HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}

static void test_poll(void)
{
    /* A pending (masked) port: at once, whatever the timeout. */
    evtchn_mask(poll_port);
    evtchn_clear(poll_port);
    evtchn_send(poll_port);
    uint64_t t0 = now();
    long rc = poll1(poll_port, t0 + 10000 * MS);
    uint64_t t1 = now();
    report(rc == 0 && evtchn_is_pending(poll_port) && t1 - t0 < 1000 * MS,
           "SCHEDOP_poll on a pending port returns at once: %ld after %llu us", rc,
           (unsigned long long)((t1 - t0) / 1000));
    rc = poll1(poll_port, 0);
    report(rc == 0, "SCHEDOP_poll on a pending port without timeout: %ld", rc);
    evtchn_clear(poll_port);

    /* Nothing pending: the timeout. */
    t0 = now();
    rc = poll1(poll_port, t0 + 5 * MS);
    t1 = now();
    report(rc == 0 && t1 >= t0 + 5 * MS && t1 < t0 + LOOSE, "SCHEDOP_poll times out after %llu us (timeout 5000 us)",
           (unsigned long long)((t1 - t0) / 1000));

    /* A timeout already past. */
    t0 = now();
    rc = poll1(poll_port, 1);
    t1 = now();
    report(rc == 0 && t1 - t0 < 1000 * MS, "SCHEDOP_poll with a past timeout returns at once: %ld", rc);

    /* Woken when vCPU 1 makes the port pending. */
    t0 = now();
    ap_send_later(poll_port, 5 * MS);
    rc = poll1(poll_port, t0 + LOOSE);
    t1 = now();
    report(rc == 0 && evtchn_is_pending(poll_port) && t1 >= t0 + 4 * MS && t1 < t0 + LOOSE,
           "SCHEDOP_poll woken by vCPU 1's send after %llu us", (unsigned long long)((t1 - t0) / 1000));
    while (__atomic_load_n(&ap_request, __ATOMIC_ACQUIRE))
        cpu_relax();
    evtchn_clear(poll_port);

    /* Several ports, the second one pending. */
    uint32_t ports[2] = { timer_port, poll_port };
    struct sched_poll p = { .nr_ports = 2, .timeout = now() + 10000 * MS };
    p.ports = ports;
    evtchn_send(poll_port);
    t0 = now();
    rc = HYPERVISOR_sched_op(SCHEDOP_poll, &p);
    t1 = now();
    report(rc == 0 && t1 - t0 < 1000 * MS, "SCHEDOP_poll on two ports, one pending: %ld", rc);
    evtchn_clear(poll_port);
}

static bool timer_fired(void *arg)
{
    return timer_hits > (unsigned)(uintptr_t)arg;
}

static void test_set_timer_op(void)
{
    unsigned before = timer_hits;
    uint64_t t0 = now(), deadline = t0 + 3 * MS;
    long rc = HYPERVISOR_set_timer_op(deadline);
    sti();
    while (timer_hits == before && now() < t0 + LOOSE)
        cpu_relax();
    uint64_t t1 = now();
    report(rc == 0 && timer_hits == before + 1 && t1 >= deadline, "set_timer_op(+3 ms) fired after %llu us",
           (unsigned long long)((t1 - t0) / 1000));

    /* 300 ms ahead: cancelled long before, even if the host stalls us. */
    before = timer_hits;
    rc = HYPERVISOR_set_timer_op(now() + 300 * MS);
    long rc2 = HYPERVISOR_set_timer_op(0);
    t0 = now();
    while (now() < t0 + 400 * MS)
        sched_yield();
    report(rc == 0 && rc2 == 0 && timer_hits == before, "set_timer_op(0) cancels a pending deadline");

    before = timer_hits;
    t0 = now();
    rc = HYPERVISOR_set_timer_op(t0 > 10 * MS ? t0 - 10 * MS : 1);
    bool fired = evtchn_wait(timer_fired, (void *)(uintptr_t)before, 1000 * MS);
    report(rc == 0 && fired, "set_timer_op with a past deadline fires at once: %ld after %llu us", rc,
           (unsigned long long)((now() - t0) / 1000));
}

static void test_shutdown_code(void)
{
    struct sched_shutdown s = { .reason = SHUTDOWN_poweroff };
    long rc = HYPERVISOR_sched_op(SCHEDOP_shutdown_code, &s);
    report(rc == 0, "SCHEDOP_shutdown_code(poweroff): %ld", rc);
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    long rc = evtchn_init(UPCALL_VECTOR);
    if (!report(rc == 0, "evtchn_init: %ld", rc))
        return;
    rc = evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port);
    long rc2 = evtchn_bind_ipi(0, &ipi_port);
    long rc3 = evtchn_bind_ipi(0, &poll_port);
    if (!report(!rc && !rc2 && !rc3, "bind VIRQ_TIMER %ld (port %u), IPI %ld (port %u), IPI %ld (port %u)", rc,
                timer_port, rc2, ipi_port, rc3, poll_port))
        return;
    evtchn_bind_handler(timer_port, on_timer, NULL);
    evtchn_bind_handler(ipi_port, on_ipi, NULL);
    evtchn_bind_handler(poll_port, on_ipi, NULL);
    rc = vcpu_start(1, ap_main);
    if (!report(rc == 0, "vCPU 1 started: %d", (int)rc))
        return;
    sti();

    test_yield();
    test_block();
    test_poll();
    test_set_timer_op();
    test_shutdown_code();
    ap_quit = 1;
}
