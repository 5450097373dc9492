/* One-shot software timers, kept per physical CPU and driven by the LAPIC
 * timer.  Callbacks run in interrupt context on the timer's CPU. */
#ifndef KEEL_TIMER_H
#define KEEL_TIMER_H

#include <keel/list.h>
#include <keel/types.h>

struct timer {
    struct list_head node;
    uint64_t deadline_ns;
    void (*fn)(void *data);
    void *data;
    unsigned cpu;
    bool active;
};

void timer_init(struct timer *t, void (*fn)(void *), void *data);
/* (Re)arm t to fire at deadline_ns (time_now_ns() clock) on cpu. */
void timer_set(struct timer *t, uint64_t deadline_ns, unsigned cpu);
void timer_stop(struct timer *t);
/* Earliest deadline on this CPU, or UINT64_MAX. */
uint64_t timer_next_deadline(void);
/* Run the expired timers of this CPU (interrupts disabled). */
void timer_run_expired(void);
void timers_cpu_init(unsigned cpu);
/* The earliest deadline on cpu changed: the scheduler reprograms (or kicks
 * that CPU to reprogram) its LAPIC timer. */
void sched_timer_changed(unsigned cpu);

#endif
