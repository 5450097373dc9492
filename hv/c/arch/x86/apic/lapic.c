/* Local APIC: mode selection, EOI, IPIs and the one-shot timer. */
#include <keel/lib.h>
#include <keel/panic.h>
#include <keel/printk.h>
#include <keel/time.h>
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/io.h>
#include <asm/page.h>
#include <asm/traps.h>

#define APIC_BASE_ENABLE (1ULL << 11)
#define APIC_BASE_X2APIC (1ULL << 10)
#define APIC_DEFAULT_PHYS 0xFEE00000ULL

bool apic_x2apic_mode;
static volatile uint8_t *xapic_mmio;
static uint64_t apic_ticks_per_ms; /* timer ticks (divide by 16) per ms */

static uint32_t apic_read(uint32_t reg)
{
    if (apic_x2apic_mode)
        return (uint32_t)rdmsr(0x800 + (reg >> 4));
    return mmio_read32(xapic_mmio + reg);
}

static void apic_write(uint32_t reg, uint32_t v)
{
    if (apic_x2apic_mode)
        wrmsr(0x800 + (reg >> 4), v);
    else
        mmio_write32(xapic_mmio + reg, v);
}

uint32_t lapic_id(void)
{
    uint32_t id = apic_read(APIC_ID);
    return apic_x2apic_mode ? id : id >> 24;
}

void lapic_eoi(void)
{
    apic_write(APIC_EOI, 0);
}

void lapic_send_ipi(uint32_t dest, uint32_t icr_low)
{
    if (apic_x2apic_mode) {
        /* One 64-bit write; x2APIC has no delivery-status bit to poll. */
        wrmsr(0x830, ((uint64_t)dest << 32) | icr_low);
        return;
    }
    unsigned long f = irq_save();
    for (int i = 0; i < 1000000 && (apic_read(APIC_ICR_LOW) & ICR_PENDING); i++)
        cpu_relax();
    apic_write(APIC_ICR_HIGH, dest << 24);
    apic_write(APIC_ICR_LOW, icr_low);
    irq_restore(f);
}

static void timer_interrupt(struct cpu_regs *r)
{
    (void)r;
    lapic_eoi();
}

static void spurious_interrupt(struct cpu_regs *r)
{
    (void)r; /* no EOI for spurious vectors (SDM 11.9) */
}

void lapic_init(void)
{
    uint64_t base = rdmsr(MSR_IA32_APIC_BASE);
    static bool mode_chosen;

    if (!mode_chosen) {
        /* CPUID.1:ECX.21: x2APIC.  All CPUs use the boot CPU's choice. */
        apic_x2apic_mode = cpuid(1).ecx & (1u << 21);
        xapic_mmio = phys_to_virt(base & 0xFFFFF000ULL ? base & 0xFFFFF000ULL : APIC_DEFAULT_PHYS);
        irq_register(VECTOR_TIMER, timer_interrupt);
        irq_register(VECTOR_SPURIOUS, spurious_interrupt);
        mode_chosen = true;
    }
    base |= APIC_BASE_ENABLE;
    if (apic_x2apic_mode)
        base |= APIC_BASE_X2APIC;
    wrmsr(MSR_IA32_APIC_BASE, base);

    apic_write(APIC_TPR, 0);
    apic_write(APIC_SVR, APIC_SVR_ENABLE | VECTOR_SPURIOUS);
    apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VECTOR_TIMER);
    apic_write(APIC_LVT_LINT0, APIC_LVT_MASKED);
    apic_write(APIC_LVT_LINT1, APIC_LVT_MASKED);
    apic_write(APIC_LVT_ERROR, APIC_LVT_MASKED);
    apic_write(APIC_TIMER_DIVIDE, 0x3); /* divide by 16 */
    if (!apic_x2apic_mode)
        apic_write(APIC_ESR, 0);
    lapic_eoi();
}

void lapic_timer_calibrate(void)
{
    /* Count down for 1 ms of calibrated TSC time. */
    apic_write(APIC_LVT_TIMER, APIC_LVT_MASKED | VECTOR_TIMER);
    apic_write(APIC_TIMER_INIT, 0xFFFFFFFFu);
    udelay(1000);
    uint32_t left = apic_read(APIC_TIMER_CURRENT);
    apic_write(APIC_TIMER_INIT, 0);
    apic_ticks_per_ms = 0xFFFFFFFFu - left;
    if (!apic_ticks_per_ms)
        apic_ticks_per_ms = 1;
    pr_info("LAPIC: %s mode, timer %lu kHz (divide 16)\n", apic_x2apic_mode ? "x2APIC" : "xAPIC",
            (unsigned long)apic_ticks_per_ms);
}

void lapic_timer_oneshot(uint64_t ns)
{
    if (!ns) {
        apic_write(APIC_TIMER_INIT, 0);
        return;
    }
    uint64_t ticks = ns * apic_ticks_per_ms / 1000000ULL;
    if (ticks == 0)
        ticks = 1;
    if (ticks > 0xFFFFFFFFu)
        ticks = 0xFFFFFFFFu;
    apic_write(APIC_LVT_TIMER, VECTOR_TIMER);
    apic_write(APIC_TIMER_INIT, (uint32_t)ticks);
}
