/*
 * The scheduler: per-CPU run queues, proportional share by weight with an
 * optional cap, hard affinity, load balancing, preemption by the LAPIC
 * timer, an idle loop that halts.
 */
#ifndef KEEL_SCHED_H
#define KEEL_SCHED_H

#include <keel/cpumask.h>
#include <keel/list.h>
#include <keel/types.h>

struct vcpu;

struct sched_vcpu {
    struct list_head runq;      /* on a CPU's run queue while runnable */
    bool queued;
    uint64_t vruntime;          /* weighted virtual run time (ns * 256 / weight) */
    uint64_t slice_start_ns;    /* when it was last put on a CPU */
    uint64_t period_used_ns;    /* for caps: run time in the current period */
    bool parked;                /* over its cap until the next period */
};

void sched_init(void);
/* Per-CPU: enter the scheduling loop (never returns). */
__noreturn void sched_start(void);
/* A vCPU's runnability may have changed (flags changed, created, woken). */
void vcpu_wake(struct vcpu *v);
/* Called with the vCPU running: stop running it now (blocked, paused,
 * yielded...); its run loop returns to the scheduler. */
void sched_yield(void);
/* Ask the CPU running v to come back to the scheduler soon. */
void vcpu_kick(struct vcpu *v);
/* Called by the exit loop: should the current vCPU stop running? */
bool sched_should_stop(void);
/* Keep only the online CPUs of m; false if none is left. */
bool sched_online_only(cpumask_t *m);
/* Change a vCPU's hard affinity; migrates it if needed. */
int sched_set_affinity(struct vcpu *v, const void *cpumask);
void sched_remove(struct vcpu *v);
uint64_t sched_timeslice_ns(void);
/* Before freeing v: no CPU may keep it as the owner of its FPU state. */
void sched_forget_vcpu(struct vcpu *v);

/* Deferred domain work (shutdown actions, destruction), run by the
 * scheduling loop outside any vCPU's context. */
bool domain_work_pending(void);
void domain_do_work(void);

#endif
