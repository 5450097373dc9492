/*
 * vcpu_op, success paths (needs vcpus=3):
 *  - is_up of vCPUs that are down and up; initialise + up (vcpu_start);
 *  - a vCPU takes itself down (VCPUOP_down on its own id): it stops
 *    running (its counter freezes) until vCPU 0 brings it up again, and it
 *    resumes right after its down call;
 *  - vCPU 0 takes another vCPU down and up;
 *  - get_runstate_info (offline while down, running time grows) and
 *    register_runstate_memory_area (filled at once, updated as it runs);
 *  - register_vcpu_info on a vCPU that is down and on the running vCPU 0:
 *    pvclock valid there, upcalls arrive through the new area and not the
 *    shared-info slot;
 *  - singleshot timer (fires after its deadline; VCPU_SSHOTTMR_future with
 *    a past deadline gives -ETIME; stop cancels) and periodic timer (fires
 *    repeatedly; stop ends it).
 */
#include "keel_test.h"

#define UPCALL_VECTOR 0xF0
#define MS 1000000ULL
#define LOOSE (3000 * MS)

static uint64_t now(void)
{
    return pvclock_ns();
}

static void wait_ns(uint64_t ns)
{
    uint64_t end = now() + ns;
    while (now() < end)
        cpu_relax();
}

/* --- vCPU 1: counts, and takes itself down on request -------------------- */

static volatile unsigned long counter1;
static volatile int down_self_request, resumed_after_down, quit1;

static void worker1(unsigned id)
{
    while (!quit1) {
        counter1++;
        if (__atomic_load_n(&down_self_request, __ATOMIC_ACQUIRE)) {
            down_self_request = 0;
            long rc = HYPERVISOR_vcpu_op(VCPUOP_down, id, NULL);
            /* Here again only once someone brought us back up. */
            resumed_after_down = rc == 0 ? 1 : -1;
        }
        cpu_relax();
    }
}

/* Whether vCPU 1's counter stays still for `ns`. */
static bool frozen1(uint64_t ns)
{
    unsigned long c = counter1;
    wait_ns(ns);
    return counter1 == c;
}

static bool advancing1(void)
{
    unsigned long c = counter1;
    uint64_t end = now() + LOOSE;
    while (counter1 == c && now() < end)
        cpu_relax();
    return counter1 != c;
}

static struct vcpu_runstate_info runstate_area1;

static void test_up_down(void)
{
    report(HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, NULL) == 1, "is_up(0) = 1");
    report(HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) == 0, "is_up(1) = 0 before it is started");

    struct vcpu_runstate_info ri;
    long rc = HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 1, &ri);
    report(rc == 0 && ri.state == RUNSTATE_offline, "get_runstate_info(1): %ld, state %d (offline)", rc, ri.state);

    memset(&runstate_area1, 0xFF, sizeof(runstate_area1));
    struct vcpu_register_runstate_memory_area area = { .addr = (uintptr_t)&runstate_area1 };
    rc = HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 1, &area);
    report(rc == 0 && runstate_area1.state == RUNSTATE_offline,
           "register_runstate_memory_area(1): %ld, filled at once (state %d)", rc, runstate_area1.state);

    rc = vcpu_start(1, worker1);
    bool runs = rc == 0 && advancing1();
    report(runs, "vCPU 1 initialised and up: %ld, running", rc);
    if (!runs)
        return;
    report(HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) == 1, "is_up(1) = 1");
    report(runstate_area1.state == RUNSTATE_running && runstate_area1.time[RUNSTATE_offline] > 0,
           "runstate area of vCPU 1: state %d, %llu us offline before", runstate_area1.state,
           (unsigned long long)(runstate_area1.time[RUNSTATE_offline] / 1000));

    /* vCPU 1 takes itself down. */
    down_self_request = 1;
    uint64_t end = now() + LOOSE;
    while (HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) != 0 && now() < end)
        cpu_relax();
    bool down = HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) == 0;
    report(down && frozen1(20 * MS) && !resumed_after_down, "vCPU 1 took itself down: is_up 0, not running");
    rc = HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 1, &ri);
    report(rc == 0 && ri.state == RUNSTATE_offline, "get_runstate_info(1) while down: state %d", ri.state);
    uint64_t running_before = ri.time[RUNSTATE_running];

    rc = HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
    end = now() + LOOSE;
    while (!resumed_after_down && now() < end)
        cpu_relax();
    report(rc == 0 && resumed_after_down == 1 && advancing1(),
           "VCPUOP_up(1): %ld; it resumed after its own down call", rc);

    /* vCPU 0 takes vCPU 1 down and up. */
    rc = HYPERVISOR_vcpu_op(VCPUOP_down, 1, NULL);
    wait_ns(2 * MS); /* it stops at its next exit */
    report(rc == 0 && HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) == 0 && frozen1(20 * MS),
           "VCPUOP_down(1) from vCPU 0: %ld, vCPU 1 stopped", rc);
    rc = HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
    report(rc == 0 && HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) == 1 && advancing1(), "VCPUOP_up(1): %ld, running again",
           rc);
    /* Up on a vCPU that is up: nothing changes. */
    rc = HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
    report(rc == 0 && advancing1(), "VCPUOP_up on a running vCPU: %ld", rc);

    wait_ns(5 * MS);
    rc = HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 1, &ri);
    report(rc == 0 && ri.time[RUNSTATE_running] > running_before && ri.state_entry_time <= now(),
           "get_runstate_info(1): running time grew to %llu us", (unsigned long long)(ri.time[RUNSTATE_running] / 1000));
    report(runstate_area1.state_entry_time != ~0ULL && runstate_area1.time[RUNSTATE_running] > 0,
           "runstate area of vCPU 1 updated: %llu us running", (unsigned long long)(runstate_area1.time[RUNSTATE_running] / 1000));

    quit1 = 1;
    report(vcpu_wait(1, VCPU_DONE, ns_to_tsc(LOOSE)), "vCPU 1 finished");
}

/* --- vcpu_info placement -------------------------------------------------- */

static uint8_t vi_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile unsigned hits[3];
static uint32_t ipi2_port, ipi0_port;
static volatile int ready2, quit2;
static volatile uint64_t clock2;

static void on_ipi(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    hits[smp_cpu_id()]++;
}

static void worker2(unsigned id)
{
    (void)id;
    evtchn_init(UPCALL_VECTOR); /* unmasks upcalls in our registered vcpu_info */
    clock2 = pvclock_ns();
    ready2 = 1;
    while (!quit2)
        safe_halt();
}

static void test_vcpu_info(void)
{
    struct vcpu_info *vi2 = (struct vcpu_info *)(vi_page + 0x100);
    struct vcpu_info *vi0 = (struct vcpu_info *)(vi_page + 0x200);

    long rc = vcpu_info_register(2, vi2);
    report(rc == 0, "register_vcpu_info for vCPU 2 (down) at offset 0x100: %ld", rc);
    report(vi2->time.tsc_to_system_mul != 0 && !(vi2->time.version & 1), "pvclock for vCPU 2 in the new area");
    rc = evtchn_bind_ipi(2, &ipi2_port);
    evtchn_bind_handler(ipi2_port, on_ipi, NULL);
    long rc2 = vcpu_start(2, worker2);
    uint64_t end = now() + LOOSE;
    while (!ready2 && now() < end)
        cpu_relax();
    report(rc == 0 && rc2 == 0 && ready2 && clock2 != 0, "vCPU 2 up, its pvclock reads %llu ns",
           (unsigned long long)clock2);

    rc = evtchn_send(ipi2_port);
    end = now() + LOOSE;
    while (hits[2] == 0 && now() < end)
        cpu_relax();
    report(rc == 0 && hits[2] == 1, "an IPI port to vCPU 2 arrives through its registered vcpu_info");
    report(shared_info->vcpu_info[2].evtchn_upcall_pending == 0 && shared_info->vcpu_info[2].evtchn_pending_sel == 0,
           "the shared-info slot of vCPU 2 is no longer used");

    /* vCPU 0 moves its own vcpu_info while running. */
    rc = vcpu_info_register(0, vi0);
    report(rc == 0 && vi0->time.tsc_to_system_mul != 0 && vi0->evtchn_upcall_mask == 0,
           "register_vcpu_info for the running vCPU 0: %ld, state carried over", rc);
    rc = evtchn_bind_ipi(0, &ipi0_port);
    evtchn_bind_handler(ipi0_port, on_ipi, NULL);
    rc2 = evtchn_send(ipi0_port);
    end = now() + LOOSE;
    while (hits[0] == 0 && now() < end)
        cpu_relax();
    report(rc == 0 && rc2 == 0 && hits[0] == 1, "upcalls on vCPU 0 through the new area");
    uint64_t a = pvclock_ns();
    wait_ns(MS);
    report(pvclock_ns() > a, "pvclock from the new area advances");

    quit2 = 1;
    evtchn_send(ipi2_port);
}

/* --- Timers --------------------------------------------------------------- */

static uint32_t timer_port;
static volatile unsigned timer_hits;

static void on_timer(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    timer_hits++;
}

static long singleshot(uint64_t deadline, uint32_t flags)
{
    struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = deadline, .flags = flags };
    return HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, smp_cpu_id(), &t);
}

static void test_timers(void)
{
    long rc = evtchn_bind_virq(VIRQ_TIMER, 0, &timer_port);
    evtchn_bind_handler(timer_port, on_timer, NULL);
    report(rc == 0, "bind_virq(VIRQ_TIMER, vCPU 0): %ld", rc);

    unsigned before = timer_hits;
    uint64_t t0 = now(), deadline = t0 + 4 * MS;
    rc = singleshot(deadline, 0); /* no VCPU_SSHOTTMR_future: the host may stall us past it */
    while (timer_hits == before && now() < t0 + LOOSE)
        cpu_relax();
    uint64_t t1 = now();
    report(rc == 0 && timer_hits == before + 1 && t1 >= deadline, "set_singleshot_timer(+4 ms): fired after %llu us",
           (unsigned long long)((t1 - t0) / 1000));

    before = timer_hits;
    rc = singleshot(now() - MS, VCPU_SSHOTTMR_future);
    wait_ns(5 * MS);
    report(rc == -ETIME && timer_hits == before, "VCPU_SSHOTTMR_future with a past deadline: %ld (-ETIME), no event",
           rc);
    rc = singleshot(now() - MS, 0);
    t0 = now();
    while (timer_hits == before && now() < t0 + LOOSE)
        cpu_relax();
    report(rc == 0 && timer_hits == before + 1, "a past deadline without the flag fires at once");

    /* 300 ms ahead: stopped long before, even if the host stalls us. */
    before = timer_hits;
    rc = singleshot(now() + 300 * MS, 0);
    long rc2 = HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL);
    wait_ns(400 * MS);
    report(rc == 0 && rc2 == 0 && timer_hits == before, "stop_singleshot_timer cancels it");

    before = timer_hits;
    struct vcpu_set_periodic_timer p = { .period_ns = 2 * MS };
    t0 = now();
    rc = HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &p);
    while (timer_hits < before + 4 && now() < t0 + LOOSE)
        cpu_relax();
    t1 = now();
    rc2 = HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    unsigned n = timer_hits - before;
    report(rc == 0 && n >= 4 && t1 - t0 >= 6 * MS, "periodic timer (2 ms): %u events in %llu us", n,
           (unsigned long long)((t1 - t0) / 1000));
    wait_ns(50 * MS); /* one may have been in flight */
    before = timer_hits;
    wait_ns(50 * MS);
    report(rc2 == 0 && timer_hits == before, "stop_periodic_timer: no events in the 50 ms after the next 50 ms");
}

static void test_runstate0(void)
{
    struct vcpu_runstate_info ri;
    long rc = HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, &ri);
    report(rc == 0 && ri.state == RUNSTATE_running && ri.time[RUNSTATE_running] > 0 && ri.state_entry_time <= now(),
           "get_runstate_info(0): state running, %llu us running, %llu us blocked", (unsigned long long)(ri.time[0] / 1000),
           (unsigned long long)(ri.time[RUNSTATE_blocked] / 1000));
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    long rc = evtchn_init(UPCALL_VECTOR);
    if (!report(rc == 0, "evtchn_init: %ld", rc))
        return;
    sti();
    test_up_down();
    test_vcpu_info();
    test_timers();
    test_runstate0();
}
