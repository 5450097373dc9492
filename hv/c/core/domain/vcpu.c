/* vCPU life cycle and runnability. */
#include <keel/domain.h>
#include <keel/guest_mem.h>
#include <keel/heap.h>
#include <keel/lib.h>
#include <keel/sched.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>
#include <asm/percpu.h>

static void singleshot_fire(void *data);

int vcpu_create(struct domain *d, unsigned id, struct vcpu **out)
{
    struct vcpu *v = kzalloc(sizeof(*v));
    if (!v)
        return -ENOMEM;
    v->domain = d;
    v->id = id;
    v->pause_flags = VPF_DOWN | VPF_PAUSED;
    v->affinity = d->config.affinity;
    v->runstate = RUNSTATE_offline;
    v->runstate_entry_ns = time_now_ns();
    list_init(&v->sched.runq);
    timer_init(&v->singleshot, singleshot_fire, v);
    vcpu_timers_init(v);
    vcpu_abi_init(v);
    /* Spread a domain's vCPUs over the CPUs it may use. */
    unsigned allowed = cpumask_weight(&v->affinity);
    unsigned nth = allowed ? id % allowed : 0, cpu = 0;
    for (unsigned c = cpumask_next(&v->affinity, 0); c < CPUMASK_BITS; c = cpumask_next(&v->affinity, c + 1)) {
        if (percpu_of[c] && percpu_of[c]->online && nth-- == 0) {
            cpu = c;
            break;
        }
    }
    v->processor = cpu;
    int rc = hvm_vcpu_init(v);
    if (rc) {
        kfree(v);
        return rc;
    }
    *out = v;
    return 0;
}

void vcpu_destroy(struct vcpu *v)
{
    vcpu_pause_flags_set(v, VPF_DYING);
    vcpu_sync_stopped(v);
    sched_remove(v);
    timer_stop(&v->singleshot);
    timer_stop(&v->periodic);
    timer_stop(&v->poll_timeout);
    sched_forget_vcpu(v);
    hvm_vcpu_destroy(v);
    kfree(v);
}

void vcpu_pause_flags_set(struct vcpu *v, unsigned flags)
{
    __atomic_fetch_or(&v->pause_flags, flags, __ATOMIC_SEQ_CST);
    if (v->is_running)
        vcpu_kick(v);
    else
        sched_remove(v);
}

void vcpu_pause_flags_clear(struct vcpu *v, unsigned flags)
{
    unsigned old = __atomic_fetch_and(&v->pause_flags, ~flags, __ATOMIC_SEQ_CST);
    if ((old & flags) && !(old & ~flags))
        vcpu_wake(v);
}

void vcpu_sync_stopped(struct vcpu *v)
{
    while (__atomic_load_n(&v->is_running, __ATOMIC_ACQUIRE)) {
        if (current_vcpu() == v)
            return; /* our own vCPU: it stops when we return to the scheduler */
        cpu_relax();
    }
}

void vcpu_block(struct vcpu *v)
{
    __atomic_fetch_or(&v->pause_flags, VPF_BLOCKED, __ATOMIC_SEQ_CST);
    /* An event may have arrived between the exit and the flag. */
    if (hvm_pending_interrupt(v) >= 0 || v->hvm.nmi_pending)
        __atomic_fetch_and(&v->pause_flags, ~VPF_BLOCKED, __ATOMIC_SEQ_CST);
}

/* Without event channels bound, blocking waits for an interrupt or the
 * vCPU timer; core/abi/event_channel.c replaces this with the real thing. */
__attribute__((weak)) void vcpu_block_events(struct vcpu *v)
{
    vcpu_block(v);
}

void vcpu_unblock(struct vcpu *v)
{
    if (__atomic_load_n(&v->pause_flags, __ATOMIC_ACQUIRE) & VPF_BLOCKED)
        vcpu_pause_flags_clear(v, VPF_BLOCKED);
}

static void singleshot_fire(void *data)
{
    struct vcpu *v = data;
    vcpu_timer_expired(v);
}

void vcpu_runstate_change(struct vcpu *v, int new_state)
{
    uint64_t now = time_now_ns();
    if (v->runstate >= 0 && v->runstate < 4)
        v->runstate_time[v->runstate] += now - v->runstate_entry_ns;
    v->runstate = new_state;
    v->runstate_entry_ns = now;
    if (new_state == RUNSTATE_running)
        vcpu_runstate_publish(v);
}

/* Write the runstate area the guest registered (by physical address). */
void vcpu_runstate_publish(struct vcpu *v)
{
    if (!v->runstate_gpa)
        return;
    if (v->runstate_compat) {
        struct compat_vcpu_runstate_info c;
        c.state = v->runstate;
        c.state_entry_time = v->runstate_entry_ns;
        for (unsigned i = 0; i < 4; i++)
            c.time[i] = v->runstate_time[i];
        copy_to_gpa(v->domain, v->runstate_gpa, &c, sizeof(c));
    } else {
        struct vcpu_runstate_info r;
        r.state = v->runstate;
        r.state_entry_time = v->runstate_entry_ns;
        for (unsigned i = 0; i < 4; i++)
            r.time[i] = v->runstate_time[i];
        copy_to_gpa(v->domain, v->runstate_gpa, &r, sizeof(r));
    }
}

/* Default: nothing listens to the vCPU timer until event channels bind
 * VIRQ_TIMER; the guest is still woken so SCHEDOP_block returns. */
__attribute__((weak)) void vcpu_timer_expired(struct vcpu *v)
{
    vcpu_unblock(v);
}
