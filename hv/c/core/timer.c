/* Per-CPU one-shot timers: a sorted list per CPU, the LAPIC timer armed for
 * the earliest of its head and the scheduler's slice end. */
#include <keel/lib.h>
#include <keel/spinlock.h>
#include <keel/time.h>
#include <keel/timer.h>
#include <asm/percpu.h>

struct timer_queue {
    spinlock_t lock;
    struct list_head list;
    bool ready;
};

static struct timer_queue queues[NR_CPUS];

void timers_cpu_init(unsigned cpu)
{
    list_init(&queues[cpu].list);
    queues[cpu].ready = true;
}

void timer_init(struct timer *t, void (*fn)(void *), void *data)
{
    list_init(&t->node);
    t->fn = fn;
    t->data = data;
    t->active = false;
    t->cpu = 0;
}

static void dequeue(struct timer *t)
{
    if (t->active) {
        list_del(&t->node);
        t->active = false;
    }
}

void timer_stop(struct timer *t)
{
    /* The timer may move between CPUs: lock the queue it is on now. */
    for (;;) {
        unsigned cpu = READ_ONCE(t->cpu);
        struct timer_queue *q = &queues[cpu];
        unsigned long f = spin_lock_irqsave(&q->lock);
        if (t->cpu == cpu) {
            dequeue(t);
            spin_unlock_irqrestore(&q->lock, f);
            return;
        }
        spin_unlock_irqrestore(&q->lock, f);
    }
}

void timer_set(struct timer *t, uint64_t deadline_ns, unsigned cpu)
{
    timer_stop(t);
    if (cpu >= NR_CPUS || !queues[cpu].ready)
        cpu = 0;
    struct timer_queue *q = &queues[cpu];
    unsigned long f = spin_lock_irqsave(&q->lock);
    t->deadline_ns = deadline_ns;
    t->cpu = cpu;
    struct list_head *pos = q->list.next;
    while (pos != &q->list && list_entry(pos, struct timer, node)->deadline_ns <= deadline_ns)
        pos = pos->next;
    list_insert(&t->node, pos->prev, pos);
    t->active = true;
    bool first = q->list.next == &t->node;
    spin_unlock_irqrestore(&q->lock, f);
    if (first)
        sched_timer_changed(cpu);
}

uint64_t timer_next_deadline(void)
{
    struct timer_queue *q = &queues[smp_processor_id()];
    unsigned long f = spin_lock_irqsave(&q->lock);
    uint64_t d = list_empty(&q->list) ? UINT64_MAX : list_entry(q->list.next, struct timer, node)->deadline_ns;
    spin_unlock_irqrestore(&q->lock, f);
    return d;
}

void timer_run_expired(void)
{
    struct timer_queue *q = &queues[smp_processor_id()];
    uint64_t now = time_now_ns();
    for (;;) {
        unsigned long f = spin_lock_irqsave(&q->lock);
        if (list_empty(&q->list)) {
            spin_unlock_irqrestore(&q->lock, f);
            return;
        }
        struct timer *t = list_entry(q->list.next, struct timer, node);
        if (t->deadline_ns > now) {
            spin_unlock_irqrestore(&q->lock, f);
            return;
        }
        dequeue(t);
        spin_unlock_irqrestore(&q->lock, f);
        t->fn(t->data);
    }
}
