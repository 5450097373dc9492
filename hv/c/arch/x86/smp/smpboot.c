/* Bringing up the application processors (INIT-SIPI-SIPI, SDM vol. 3A 9.4). */
#include <keel/acpi.h>
#include <keel/cmdline.h>
#include <keel/lib.h>
#include <keel/panic.h>
#include <keel/printk.h>
#include <keel/spinlock.h>
#include <keel/time.h>
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/page.h>
#include <asm/paging.h>
#include <asm/percpu.h>
#include <asm/smp.h>
#include <asm/traps.h>
#include <keel/sched.h>

extern const char trampoline_start[], trampoline_end[];
extern const char tramp_cr3[], tramp_stack[], tramp_percpu[], tramp_entry[], tramp_efer_nx[];

static uint64_t opt_maxcpus = NR_CPUS;
integer_param("maxcpus", opt_maxcpus);

static volatile bool smp_release; /* APs wait for this before going idle */
static volatile bool sched_go;    /* ... and for this before scheduling */

void ap_entry64(struct percpu *p);

static void *tramp_var(const char *sym)
{
    return phys_to_virt(TRAMPOLINE_PHYS + (uint64_t)(sym - trampoline_start));
}

/* Per-CPU control register setup shared by the boot CPU and the APs. */
void cpu_enable_features(void)
{
    /* FXSR/XMMEXCPT and OSXSAVE: guest FPU state is saved and restored by
     * Keel (hvm/fpu.c), even though Keel itself never uses it. */
    uint64_t cr4 = read_cr4() | X86_CR4_PGE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
    if (cpuid(1).ecx & (1u << 26))
        cr4 |= X86_CR4_OSXSAVE;
    if (cpu_has_smep)
        cr4 |= X86_CR4_SMEP;
    if (cpu_has_smap)
        cr4 |= X86_CR4_SMAP;
    write_cr4(cr4);
    if (cpu_has_nx)
        wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
}

void ap_entry64(struct percpu *p)
{
    cpu_load_tables(p);
    cpu_enable_features();
    lapic_init();
    p->apic_id = lapic_id();
    __atomic_store_n(&p->online, true, __ATOMIC_RELEASE);
    lapic_send_ipi(percpu_of[0]->apic_id, ICR_FIXED | VECTOR_IPI_WAKEUP);
    while (!__atomic_load_n(&smp_release, __ATOMIC_ACQUIRE))
        cpu_relax();
    /* The low identity map is gone: drop any TLB entries for it. */
    write_cr3(read_cr3());
    while (!__atomic_load_n(&sched_go, __ATOMIC_ACQUIRE))
        safe_halt(); /* IPIs (per-CPU setup calls, the go signal) wake us */
    irq_disable();
    sched_start();
}

void smp_start_scheduling(void)
{
    __atomic_store_n(&sched_go, true, __ATOMIC_RELEASE);
    if (nr_cpus_online > 1)
        lapic_send_ipi(0, ICR_FIXED | ICR_ALL_BUT_SELF | VECTOR_IPI_WAKEUP);
}

/* Wait for the AP to report in.  Halting (with the LAPIC timer as a
 * deadline) instead of spinning lets an emulator run the AP at once; the AP
 * wakes us with an IPI as soon as it is online. */
static bool wait_online(struct percpu *p, uint64_t us)
{
    uint64_t end = rdtsc() + us * tsc_khz / 1000;
    while (!__atomic_load_n(&p->online, __ATOMIC_ACQUIRE)) {
        int64_t left = (int64_t)(end - rdtsc());
        if (left <= 0)
            break;
        irq_disable();
        if (!__atomic_load_n(&p->online, __ATOMIC_ACQUIRE)) {
            lapic_timer_oneshot(tsc_to_ns((uint64_t)left));
            safe_halt();
        }
        irq_enable();
    }
    irq_disable();
    lapic_timer_oneshot(0);
    return __atomic_load_n(&p->online, __ATOMIC_ACQUIRE);
}

static void wakeup_interrupt(struct cpu_regs *r)
{
    (void)r;
    lapic_eoi();
}

static bool start_ap(unsigned cpu, uint32_t apic_id)
{
    struct percpu *p = percpu_alloc(cpu, apic_id);
    if (!p) {
        pr_err("SMP: out of memory for CPU %u\n", cpu);
        return false;
    }
    memcpy(phys_to_virt(TRAMPOLINE_PHYS), trampoline_start, (size_t)(trampoline_end - trampoline_start));
    *(uint64_t *)tramp_var(tramp_cr3) = paging_root();
    *(uint64_t *)tramp_var(tramp_stack) = p->stack_top;
    *(uint64_t *)tramp_var(tramp_percpu) = (uint64_t)p;
    *(uint64_t *)tramp_var(tramp_entry) = (uint64_t)ap_entry64;
    *(uint32_t *)tramp_var(tramp_efer_nx) = cpu_has_nx ? (uint32_t)EFER_NXE : 0;

    /* INIT, then STARTUP; a second STARTUP only if the first was missed.
     * Current CPUs need no 10 ms INIT delay (as Linux assumes for family 6
     * and later), which keeps bring-up fast. */
    lapic_send_ipi(apic_id, ICR_INIT | ICR_ASSERT | ICR_LEVEL);
    udelay(10);
    lapic_send_ipi(apic_id, ICR_STARTUP | (TRAMPOLINE_PHYS >> 12));
    if (wait_online(p, 2000))
        return true;
    lapic_send_ipi(apic_id, ICR_STARTUP | (TRAMPOLINE_PHYS >> 12));
    if (wait_online(p, 200000))
        return true;
    pr_err("SMP: CPU %u (APIC id %u) did not start\n", cpu, apic_id);
    percpu_of[cpu] = NULL; /* its memory stays reserved: it may still wake */
    return false;
}

void smp_boot_cpus(void)
{
    uint32_t self = lapic_id();
    unsigned next = 1;

    this_cpu()->apic_id = self;
    this_cpu()->online = true;
    irq_register(VECTOR_IPI_WAKEUP, wakeup_interrupt);
    nr_cpus_online = 1;
    nr_cpus_possible = acpi_madt.present ? acpi_madt.nr_cpus : 1;
    if (!acpi_madt.present)
        pr_warn("SMP: no MADT, running on the boot CPU only\n");
    for (unsigned i = 0; acpi_madt.present && i < acpi_madt.nr_cpus; i++) {
        const struct acpi_cpu *c = &acpi_madt.cpus[i];
        if (c->apic_id == self || !c->enabled)
            continue;
        if (next >= opt_maxcpus || next >= NR_CPUS) {
            pr_info("SMP: maxcpus=%lu, not starting APIC id %u\n", (unsigned long)opt_maxcpus, c->apic_id);
            continue;
        }
        if (start_ap(next, c->apic_id)) {
            next++;
            nr_cpus_online++;
        }
    }
    paging_drop_identity();
    __atomic_store_n(&smp_release, true, __ATOMIC_RELEASE);
}

/* --- NMI and panic support -------------------------------------------- */

static volatile bool stop_requested;

void nmi_handler(struct cpu_regs *r)
{
    if (__atomic_load_n(&stop_requested, __ATOMIC_ACQUIRE)) {
        this_cpu()->stopped = true;
        cpu_halt_forever();
    }
    printk(LOG_WARNING, "CPU %u: unexpected NMI at %#lx\n", arch_cpu_id(), (unsigned long)r->rip);
}

void arch_panic_stop_other_cpus(void)
{
    if (nr_cpus_online <= 1)
        return;
    __atomic_store_n(&stop_requested, true, __ATOMIC_RELEASE);
    lapic_send_ipi(0, ICR_NMI | ICR_ALL_BUT_SELF);
    unsigned expect = 0, stopped = 0;
    uint64_t end = rdtsc() + 100 * (tsc_khz ? tsc_khz : 1000000);
    for_each_online_cpu(c) {
        if (percpu_of[c] == this_cpu())
            continue;
        expect++;
        while (!percpu_of[c]->stopped && (int64_t)(rdtsc() - end) < 0)
            cpu_relax();
        stopped += percpu_of[c]->stopped;
    }
    printk(LOG_EMERG, "Stopped %u of %u other CPUs\n", stopped, expect);
}

void arch_panic_delay_ms(unsigned ms)
{
    mdelay(ms);
}

/* --- Cross-CPU calls ---------------------------------------------------- */

static void (*call_fn)(void *);
static void *call_arg;
static volatile unsigned call_pending;
static spinlock_t call_lock = SPINLOCK_INIT;

static void call_interrupt(struct cpu_regs *r)
{
    (void)r;
    lapic_eoi();
    call_fn(call_arg);
    __atomic_fetch_sub(&call_pending, 1, __ATOMIC_RELEASE);
}

void smp_call_others(void (*fn)(void *), void *arg)
{
    static bool registered;
    if (nr_cpus_online <= 1)
        return;
    spin_lock(&call_lock);
    if (!registered) {
        irq_register(VECTOR_IPI_CALL, call_interrupt);
        registered = true;
    }
    call_fn = fn;
    call_arg = arg;
    __atomic_store_n(&call_pending, nr_cpus_online - 1, __ATOMIC_RELEASE);
    lapic_send_ipi(0, ICR_FIXED | ICR_ALL_BUT_SELF | VECTOR_IPI_CALL);
    while (__atomic_load_n(&call_pending, __ATOMIC_ACQUIRE))
        cpu_relax();
    spin_unlock(&call_lock);
}
