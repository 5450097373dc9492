/*
 * TSC calibration.  One millisecond of the ACPI PM timer (3.579545 MHz,
 * ACPI 6.4 4.8.3.3) is enough for 0.03 % accuracy and keeps boot short under
 * instruction-counting emulation; without a PM timer, PIT channel 2 is used.
 */
#include <keel/acpi.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/time.h>
#include <asm/cpu.h>
#include <asm/io.h>

#define PMTMR_HZ 3579545ULL
#define PIT_HZ 1193182ULL

uint64_t tsc_khz;
uint64_t boot_tsc;
static uint64_t ns_mul;  /* ns = ticks * ns_mul >> 32 */
static uint64_t tsc_mul; /* ticks = ns * tsc_mul >> 32 */

static uint64_t calibrate_pmtimer(void)
{
    uint16_t port = (uint16_t)acpi_fadt.pm_tmr;
    uint32_t mask = acpi_fadt.pm_tmr_32bit ? 0xFFFFFFFFu : 0xFFFFFFu;
    uint32_t ticks = (uint32_t)(PMTMR_HZ / 1000);
    uint32_t start = inl(port) & mask;
    /* Start on a tick edge so the window is exact. */
    uint32_t now;
    while (((now = inl(port) & mask)) == start)
        ;
    uint64_t t0 = rdtsc();
    start = now;
    while (((inl(port) - start) & mask) < ticks)
        ;
    uint64_t t1 = rdtsc();
    return (t1 - t0) * PMTMR_HZ / (ticks * 1000ULL);
}

static uint64_t calibrate_pit(void)
{
    uint16_t count = (uint16_t)(PIT_HZ / 1000);
    /* Channel 2, gate via port 0x61, mode 0 (interrupt on terminal count). */
    outb(0x61, (uint8_t)((inb(0x61) & ~0x02) | 0x01));
    outb(0x43, 0xB0);
    outb(0x42, (uint8_t)count);
    outb(0x42, (uint8_t)(count >> 8));
    uint64_t t0 = rdtsc();
    for (uint64_t i = 0; !(inb(0x61) & 0x20) && i < 100000000ULL; i++)
        ;
    uint64_t t1 = rdtsc();
    return (t1 - t0) * PIT_HZ / (count * 1000ULL);
}

/* The median of three short measurements: one window stretched by an
 * interruption (an emulator's host being busy, an SMI) does not skew it. */
static uint64_t median3(uint64_t (*measure)(void))
{
    uint64_t a = measure(), b = measure(), c = measure();
    if (a > b) {
        uint64_t t = a;
        a = b;
        b = t;
    }
    if (b > c)
        b = c;
    return a > b ? a : b;
}

void time_init(void)
{
    const char *src = "PM timer";
    uint64_t khz = 0;
    if (acpi_fadt.present && acpi_fadt.pm_tmr)
        khz = median3(calibrate_pmtimer);
    if (!khz) {
        src = "PIT";
        khz = median3(calibrate_pit);
    }
    if (!khz)
        khz = 1000000; /* cannot measure: assume 1 GHz rather than divide by zero */
    tsc_khz = khz;
    ns_mul = (1000000ULL << 32) / khz;
    tsc_mul = (khz << 32) / 1000000ULL; /* khz < 2^32 for any real TSC */
    pr_info("TSC: %lu.%03lu MHz (calibrated with the %s)\n", (unsigned long)(khz / 1000),
            (unsigned long)(khz % 1000), src);
}

uint64_t tsc_to_ns(uint64_t ticks)
{
    return (uint64_t)(((unsigned __int128)ticks * ns_mul) >> 32);
}

uint64_t ns_to_tsc(uint64_t ns)
{
    return (uint64_t)(((unsigned __int128)ns * tsc_mul) >> 32);
}

uint64_t time_now_ns(void)
{
    if (!ns_mul)
        return 0;
    return tsc_to_ns(rdtsc() - boot_tsc);
}

uint64_t printk_clock_ns(void)
{
    return time_now_ns();
}

void udelay(uint64_t us)
{
    uint64_t khz = tsc_khz ? tsc_khz : 1000000;
    uint64_t end = rdtsc() + us * khz / 1000;
    while ((int64_t)(rdtsc() - end) < 0)
        cpu_relax();
}

void mdelay(uint64_t ms)
{
    udelay(ms * 1000);
}
