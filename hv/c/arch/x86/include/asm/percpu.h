/*
 * Per-CPU data, reached through GS: GS.base points at the CPU's struct
 * percpu, whose first field points at itself, so this_cpu() is one load.
 */
#ifndef ASM_PERCPU_H
#define ASM_PERCPU_H

#include <keel/types.h>
#include <asm/desc.h>

#define NR_CPUS 256

#define CPU_STACK_SIZE (16 * 1024)
#define IST_STACK_SIZE (4 * 1024)

struct vcpu;

struct percpu {
    struct percpu *self;      /* must stay first: this_cpu() reads gs:0 */
    unsigned cpu;             /* logical CPU number, 0 = boot CPU */
    uint32_t apic_id;
    uint64_t stack_top;       /* top of the main hypervisor stack */
    uint64_t ist_top[IST_COUNT];
    volatile bool online;
    volatile bool stopped;    /* halted by a panic */
    uint64_t gdt[GDT_ENTRIES] __aligned(16);
    struct tss64 tss __aligned(16);
    struct vcpu *current;     /* the vCPU running here, NULL when idle */
    volatile bool need_resched; /* the running vCPU should give the CPU back */
    uint64_t tlb_tag_gen;     /* generation of this CPU's VPID/ASID pool */
    void *arch_virt;          /* VMX/SVM per-CPU state (backend-owned) */
    void *sched;              /* scheduler per-CPU state */
    uint64_t irq_count;
    uint64_t timer_ticks;
};

extern struct percpu *percpu_of[NR_CPUS];
extern unsigned nr_cpus_online;
extern unsigned nr_cpus_possible;

static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ __volatile__("mov %%gs:0, %0" : "=r"(p));
    return p;
}

static inline unsigned smp_processor_id(void) { return this_cpu()->cpu; }

#define for_each_online_cpu(c)                                                                                         \
    for (unsigned c = 0; c < NR_CPUS; c++)                                                                             \
        if (percpu_of[c] && percpu_of[c]->online)

/* Set up the GDT/TSS/IDT and GS of the calling CPU for p. */
void cpu_load_tables(struct percpu *p);
/* Boot CPU: static per-CPU area and stacks, IDT, GS. */
void arch_early_cpu_init(void);
/* Allocate and initialise the per-CPU area (stacks with guard pages). */
struct percpu *percpu_alloc(unsigned cpu, uint32_t apic_id);

#endif
