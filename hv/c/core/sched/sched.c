/*
 * Proportional-share scheduling.  Each CPU has a run queue of runnable vCPUs
 * that are not running.  A vCPU's virtual run time grows with the time it
 * runs, scaled by 256 / weight, and the CPU runs the queued vCPU with the
 * least of it: weights 256 and 512 get shares of 1:2.  A running vCPU keeps
 * the CPU for a time slice (30 ms by default) unless it blocks, yields or is
 * paused.  A domain with a cap may use cap% of one CPU per 100 ms period.
 * Hard affinity limits where a vCPU may be queued; idle CPUs steal work, a
 * CPU takes a waiting vCPU from one with two more runnable than itself (at
 * the end of each slice, even with nothing waiting locally), and a wake-up
 * goes to an idle CPU when the vCPU's own is busy.
 */
#include <keel/cmdline.h>
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/sched.h>
#include <keel/spinlock.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/apic.h>
#include <asm/hvm.h>
#include <asm/percpu.h>
#include <asm/traps.h>

#define CAP_PERIOD_NS 100000000ULL

static uint64_t opt_timeslice_ms = 30;
integer_param("sched_timeslice_ms", opt_timeslice_ms);

struct runq {
    spinlock_t lock;
    struct list_head queue;
    unsigned nr;
    struct vcpu *curr;
    struct vcpu *last;       /* whose FPU/MSR state is in the registers */
    uint64_t slice_end_ns;
    uint64_t cap_wakeup_ns;  /* a capped vCPU becomes eligible again */
    struct percpu *pc;       /* its need_resched and current are read on every exit */
    struct vcpu *putting;    /* stopped, but the loop still touches it (see sched_forget_vcpu) */
    volatile bool idle;
} __aligned(64);

static struct runq runqs[NR_CPUS];
static void reprogram(struct runq *rq);
static uint64_t slice_ns;

uint64_t sched_timeslice_ns(void)
{
    return slice_ns;
}

struct vcpu *current_vcpu(void)
{
    return runqs[smp_processor_id()].curr;
}

static bool runnable(const struct vcpu *v)
{
    return v->initialised && !__atomic_load_n(&v->pause_flags, __ATOMIC_ACQUIRE);
}

static unsigned weight_of(const struct vcpu *v)
{
    unsigned w = v->domain->config.weight;
    return w ? w : 256;
}

/* --- Caps ------------------------------------------------------------------ */

static bool over_cap(struct vcpu *v, uint64_t now, uint64_t *eligible_at)
{
    struct domain *d = v->domain;
    if (!d->config.cap)
        return false;
    if (now - d->cap_period_start_ns >= CAP_PERIOD_NS) {
        d->cap_period_start_ns = now;
        d->cap_used_ns = 0;
    }
    uint64_t budget = CAP_PERIOD_NS * d->config.cap / 100;
    if (d->cap_used_ns < budget)
        return false;
    *eligible_at = d->cap_period_start_ns + CAP_PERIOD_NS;
    return true;
}

/* --- Queues ------------------------------------------------------------- */

static uint64_t min_vruntime(struct runq *rq)
{
    uint64_t m = rq->curr ? rq->curr->sched.vruntime : UINT64_MAX;
    list_for_each(pos, &rq->queue) {
        struct vcpu *v = list_entry(pos, struct vcpu, sched.runq);
        m = MIN(m, v->sched.vruntime);
    }
    return m == UINT64_MAX ? 0 : m;
}

static void enqueue(struct runq *rq, struct vcpu *v)
{
    if (v->sched.queued)
        return;
    /* A vCPU that slept does not bank the time: it starts at most one slice
     * behind the others, so it runs soon but cannot monopolize the CPU. */
    uint64_t floor = min_vruntime(rq);
    if (floor > slice_ns && v->sched.vruntime + slice_ns < floor)
        v->sched.vruntime = floor - slice_ns;
    list_add_tail(&v->sched.runq, &rq->queue);
    v->sched.queued = true;
    rq->nr++;
}

static void dequeue(struct runq *rq, struct vcpu *v)
{
    if (!v->sched.queued)
        return;
    list_del(&v->sched.runq);
    v->sched.queued = false;
    rq->nr--;
}

static struct vcpu *pick(struct runq *rq, uint64_t now)
{
    struct vcpu *best = NULL;
    rq->cap_wakeup_ns = UINT64_MAX;
    list_for_each(pos, &rq->queue) {
        struct vcpu *v = list_entry(pos, struct vcpu, sched.runq);
        uint64_t at;
        if (over_cap(v, now, &at)) {
            rq->cap_wakeup_ns = MIN(rq->cap_wakeup_ns, at);
            continue;
        }
        if (!best || v->sched.vruntime < best->sched.vruntime)
            best = v;
    }
    if (best)
        dequeue(rq, best);
    return best;
}

static void ipi(unsigned cpu)
{
    if (cpu != smp_processor_id() && percpu_of[cpu])
        lapic_send_ipi(percpu_of[cpu]->apic_id, ICR_FIXED | VECTOR_IPI_RESCHED);
}

/* Lock two run queues in CPU order. */
static void lock_two(struct runq *a, struct runq *b)
{
    if (a == b) {
        spin_lock(&a->lock);
    } else if (a < b) {
        spin_lock(&a->lock);
        spin_lock(&b->lock);
    } else {
        spin_lock(&b->lock);
        spin_lock(&a->lock);
    }
}

static void unlock_two(struct runq *a, struct runq *b)
{
    spin_unlock(&a->lock);
    if (a != b)
        spin_unlock(&b->lock);
}

/* Where should a waking vCPU go?  Its own CPU if allowed and not busy,
 * else an idle allowed CPU, else its own (or the first allowed). */
static unsigned choose_cpu(struct vcpu *v)
{
    unsigned home = v->processor;
    bool home_ok = cpumask_test(&v->affinity, home) && percpu_of[home] && percpu_of[home]->online;
    if (home_ok && (runqs[home].idle || (!runqs[home].curr && !runqs[home].nr)))
        return home;
    for_each_online_cpu(c) {
        if (cpumask_test(&v->affinity, c) && runqs[c].idle && !runqs[c].nr)
            return c;
    }
    if (home_ok)
        return home;
    unsigned best = CPUMASK_BITS, best_load = ~0u;
    for_each_online_cpu(c) {
        unsigned load = runqs[c].nr + (runqs[c].curr ? 1 : 0);
        if (cpumask_test(&v->affinity, c) && load < best_load) {
            best = c;
            best_load = load;
        }
    }
    return best < CPUMASK_BITS ? best : 0;
}

void vcpu_wake(struct vcpu *v)
{
    unsigned long f = irq_save();
    for (;;) {
        unsigned from = v->processor;
        struct runq *old = &runqs[from];
        spin_lock(&old->lock);
        if (v->processor != from) {
            spin_unlock(&old->lock);
            continue;
        }
        if (v->is_running || v->sched.queued || !runnable(v)) {
            spin_unlock(&old->lock);
            break;
        }
        spin_unlock(&old->lock);
        unsigned to = choose_cpu(v);
        struct runq *rq = &runqs[to];
        lock_two(old, rq);
        if (v->processor != from || v->is_running || v->sched.queued || !runnable(v)) {
            unlock_two(old, rq);
            continue;
        }
        if (to != from)
            v->sched.vruntime = v->sched.vruntime - MIN(v->sched.vruntime, min_vruntime(old)) + min_vruntime(rq);
        v->processor = to;
        enqueue(rq, v);
        bool poke = rq->idle || !rq->curr ||
                    (rq->curr && v->sched.vruntime + slice_ns / 2 < rq->curr->sched.vruntime);
        if (poke && rq->curr)
            rq->pc->need_resched = true;
        /* The running vCPU had the CPU to itself, so no slice end is armed
         * there: arm it, or the newcomer waits until the running one blocks
         * (forever, if it is CPU-bound). */
        bool arm = !poke && rq->curr && rq->nr == 1;
        if (arm && to == smp_processor_id())
            reprogram(rq);
        unlock_two(old, rq);
        if (poke || arm)
            ipi(to);
        break;
    }
    irq_restore(f);
}

void sched_remove(struct vcpu *v)
{
    unsigned long f = irq_save();
    for (;;) {
        unsigned cpu = v->processor;
        struct runq *rq = &runqs[cpu];
        spin_lock(&rq->lock);
        if (v->processor == cpu) {
            dequeue(rq, v);
            spin_unlock(&rq->lock);
            break;
        }
        spin_unlock(&rq->lock);
    }
    irq_restore(f);
}

void vcpu_kick(struct vcpu *v)
{
    if (v->is_running)
        ipi(v->processor);
}

void sched_yield(void)
{
    this_cpu()->need_resched = true;
}

bool sched_should_stop(void)
{
    return hvm_should_stop();
}

bool sched_online_only(cpumask_t *m)
{
    cpumask_t online;
    cpumask_clear(&online);
    for_each_online_cpu(c)
        cpumask_set(&online, c);
    cpumask_and(m, m, &online);
    return !cpumask_empty(m);
}

int sched_set_affinity(struct vcpu *v, const void *mask)
{
    cpumask_t m;
    memcpy(&m, mask, sizeof(m));
    if (!sched_online_only(&m))
        return -EINVAL;
    sched_remove(v);
    v->affinity = m;
    /* Running where it may no longer run: it must leave that CPU, and a
     * kick alone only makes it exit and enter again. */
    unsigned long f = irq_save();
    struct runq *rq = &runqs[v->processor];
    spin_lock(&rq->lock);
    bool leave = rq->curr == v && !cpumask_test(&m, v->processor);
    if (leave)
        rq->pc->need_resched = true;
    spin_unlock(&rq->lock);
    irq_restore(f);
    if (leave)
        vcpu_kick(v);
    vcpu_wake(v);
    return 0;
}

/* --- Timer and ticks ----------------------------------------------------- */

static void reprogram(struct runq *rq)
{
    uint64_t now = time_now_ns();
    uint64_t next = timer_next_deadline();
    /* A slice end or cap wakeup that has passed while the reschedule it
     * asks for is already pending would re-arm the timer at 1 ns: an
     * interrupt storm that starves the code about to act on need_resched
     * (a livelock under Bochs). */
    bool pending = rq->pc && rq->pc->need_resched;
    if (rq->curr && !(pending && rq->slice_end_ns <= now))
        next = MIN(next, rq->slice_end_ns);
    if (!(pending && rq->cap_wakeup_ns <= now))
        next = MIN(next, rq->cap_wakeup_ns);
    if (next == UINT64_MAX)
        lapic_timer_oneshot(0);
    else
        lapic_timer_oneshot(next > now ? next - now : 1);
}

void sched_timer_changed(unsigned cpu)
{
    if (cpu == smp_processor_id()) {
        unsigned long f = irq_save();
        reprogram(&runqs[cpu]);
        irq_restore(f);
    } else {
        ipi(cpu);
    }
}

/* vCPUs that can run, queued or running, on a CPU (a racy read: a hint). */
static unsigned load_of(const struct runq *rq)
{
    return READ_ONCE(rq->nr) + (READ_ONCE(rq->curr) ? 1 : 0);
}

/* Does another CPU have at least two more runnable vCPUs than this one,
 * which runs one and has none waiting? */
static bool overloaded_elsewhere(unsigned self)
{
    for_each_online_cpu(c)
        if (c != self && READ_ONCE(runqs[c].nr) && load_of(&runqs[c]) >= 3)
            return true;
    return false;
}

static void timer_interrupt(struct cpu_regs *r)
{
    (void)r;
    struct runq *rq = &runqs[smp_processor_id()];
    lapic_eoi();
    this_cpu()->timer_ticks++;
    timer_run_expired();
    uint64_t now = time_now_ns();
    spin_lock(&rq->lock);
    if (rq->curr && now >= rq->slice_end_ns) {
        /* End of a slice: give the CPU to a waiting vCPU, or go through the
         * scheduler loop to take one from a CPU with two more runnable
         * (steal()); else run on for another slice. */
        if (rq->nr || overloaded_elsewhere(smp_processor_id()))
            rq->pc->need_resched = true;
        else
            rq->slice_end_ns = now + slice_ns;
    }
    if (rq->cap_wakeup_ns <= now)
        rq->pc->need_resched = true;
    reprogram(rq);
    spin_unlock(&rq->lock);
}

static void resched_interrupt(struct cpu_regs *r)
{
    (void)r;
    lapic_eoi();
    struct runq *rq = &runqs[smp_processor_id()];
    spin_lock(&rq->lock);
    reprogram(rq);
    spin_unlock(&rq->lock);
}

/* --- The per-CPU loop ----------------------------------------------------- */

/* Take a waiting vCPU allowed here from a CPU with at least min_load
 * runnable (waiting or running); with queue_it, put it on this CPU's queue
 * (else the caller runs it). */
static struct vcpu *steal(struct runq *me, unsigned self, uint64_t now, unsigned min_load, bool queue_it)
{
    for_each_online_cpu(c) {
        struct runq *rq = &runqs[c];
        if (c == self || !rq->nr || load_of(rq) < min_load)
            continue;
        lock_two(me, rq);
        if (!rq->nr || load_of(rq) < min_load) {
            unlock_two(me, rq);
            continue;
        }
        /* An idle CPU runs what it takes at once: the most deserving
         * (least vruntime).  A busy one queues it: the least deserving, so
         * that the vCPU next in line where it was does not wait again. */
        struct vcpu *v = NULL;
        list_for_each(pos, &rq->queue) {
            struct vcpu *w = list_entry(pos, struct vcpu, sched.runq);
            uint64_t at;
            if (!cpumask_test(&w->affinity, self) || over_cap(w, now, &at))
                continue;
            if (!v || (queue_it ? w->sched.vruntime > v->sched.vruntime : w->sched.vruntime < v->sched.vruntime))
                v = w;
        }
        if (v) {
            dequeue(rq, v);
            v->sched.vruntime = v->sched.vruntime - MIN(v->sched.vruntime, min_vruntime(rq)) + min_vruntime(me);
            v->processor = self;
            if (queue_it)
                enqueue(me, v);
            unlock_two(me, rq);
            return v;
        }
        unlock_two(me, rq);
    }
    return NULL;
}

static void account(struct vcpu *v, uint64_t now)
{
    uint64_t ran = now - v->sched.slice_start_ns;
    v->runtime_ns += ran;
    v->sched.vruntime += ran * 256 / weight_of(v);
    if (v->domain->config.cap)
        __atomic_fetch_add(&v->domain->cap_used_ns, ran, __ATOMIC_RELAXED);
}

__noreturn void sched_start(void)
{
    unsigned self = smp_processor_id() % NR_CPUS;
    struct runq *rq = &runqs[self];

    for (;;) {
        domain_do_work();
        irq_disable();
        uint64_t now = time_now_ns();
        /* Even out the queues: a CPU that only steals when idle keeps one
         * vCPU to itself while another CPU shares out its time among many. */
        steal(rq, self, now, READ_ONCE(rq->nr) + 2, true);
        spin_lock(&rq->lock);
        struct vcpu *v = pick(rq, now);
        if (!v && !rq->nr) {
            spin_unlock(&rq->lock);
            v = steal(rq, self, now, 1, false);
            spin_lock(&rq->lock);
        }
        if (!v) {
            rq->idle = true;
            reprogram(rq);
            spin_unlock(&rq->lock);
            safe_halt(); /* returns after an interrupt, with IF set */
            irq_disable();
            rq->idle = false;
            irq_enable();
            continue;
        }
        rq->curr = v;
        rq->pc->current = v;
        rq->pc->need_resched = false;
        v->is_running = true;
        v->processor = self;
        v->sched.slice_start_ns = now;
        rq->slice_end_ns = now + slice_ns;
        reprogram(rq);
        /* FPU and MSR state switch under the lock: sched_forget_vcpu()
         * takes it too before a vCPU is freed. */
        if (rq->last != v) {
            hvm_context_switch(rq->last, v);
            rq->last = v;
        }
        spin_unlock(&rq->lock);
        vcpu_poll_done(v);
        if (unlikely(!v->domain->started))
            domain_first_entry(v->domain);
        vcpu_runstate_change(v, RUNSTATE_running);
        irq_enable();
        hvm->run(v);
        irq_disable();

        now = time_now_ns();
        account(v, now);
        spin_lock(&rq->lock);
        rq->curr = NULL;
        rq->pc->current = NULL;
        /* Once is_running is false the vCPU may be destroyed (domain_destroy
         * waits for exactly that), yet the lines below still use it: the
         * destroyer waits for putting too before freeing it. */
        __atomic_store_n(&rq->putting, v, __ATOMIC_RELEASE);
        __atomic_store_n(&v->is_running, false, __ATOMIC_RELEASE);
        bool requeue = runnable(v) && cpumask_test(&v->affinity, self);
        if (requeue)
            enqueue(rq, v);
        spin_unlock(&rq->lock);
        vcpu_runstate_change(v, requeue ? RUNSTATE_runnable : (v->pause_flags & VPF_BLOCKED) ? RUNSTATE_blocked
                                                                                              : RUNSTATE_offline);
        hvm->vcpu_put(v);
        if (!requeue && runnable(v))
            vcpu_wake(v); /* affinity moved it elsewhere */
        __atomic_store_n(&rq->putting, NULL, __ATOMIC_RELEASE);
        irq_enable();
    }
}

void sched_init(void)
{
    slice_ns = (opt_timeslice_ms ? opt_timeslice_ms : 30) * 1000000ULL;
    for (unsigned c = 0; c < NR_CPUS; c++) {
        list_init(&runqs[c].queue);
        runqs[c].cap_wakeup_ns = UINT64_MAX;
    }
    for_each_online_cpu(c) {
        timers_cpu_init(c);
        runqs[c].pc = percpu_of[c];
    }
    /* Before any domain is unpaused: waking a vCPU pinned to another CPU
     * sends that CPU a resched IPI, possibly before it reaches
     * sched_start(); unhandled, the vector is never acknowledged and the
     * CPU takes no timer interrupt again. */
    irq_register(VECTOR_TIMER, timer_interrupt);
    irq_register(VECTOR_IPI_RESCHED, resched_interrupt);
    pr_info("Scheduler: %u CPUs, time slice %lu ms\n", nr_cpus_online, (unsigned long)(slice_ns / 1000000));
}

/* The last vCPU to have run on a CPU keeps its FPU state there; before the
 * vCPU is destroyed, make sure no CPU still points at it, nor is still
 * finishing its turn in sched_start() (putting). */
void sched_forget_vcpu(struct vcpu *v)
{
    for_each_online_cpu(c) {
        while (__atomic_load_n(&runqs[c].putting, __ATOMIC_ACQUIRE) == v)
            cpu_relax();
        unsigned long f = spin_lock_irqsave(&runqs[c].lock);
        if (runqs[c].last == v)
            runqs[c].last = NULL;
        spin_unlock_irqrestore(&runqs[c].lock, f);
    }
}
