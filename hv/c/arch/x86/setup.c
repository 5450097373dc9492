/* The x86 side of the boot sequence (see core/main.c). */
#include <keel/arch.h>
#include <keel/boot.h>
#include <keel/cmdline.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/printk.h>
#include <keel/time.h>
#include <asm/apic.h>
#include <asm/cpu.h>
#include <asm/features.h>
#include <asm/paging.h>
#include <asm/percpu.h>
#include <asm/smp.h>

extern uint64_t boot_entry_tsc;

static uint64_t online_tsc;

void arch_init_early(void)
{
    boot_tsc = boot_entry_tsc;
    arch_early_cpu_init();
    cpu_detect(&boot_cpu);
}

void arch_init_memory(void)
{
    paging_init();
}

void arch_init_cpus(void)
{
    time_init();
    rtc_read_boot_time();
    pic_disable();
    lapic_init();
    lapic_timer_calibrate();
    smp_boot_cpus();
    online_tsc = rdtsc();
}

void arch_report(void)
{
    char virt[160];
    struct frame_stats fs;

    cpu_describe_virt(&boot_cpu, virt, sizeof(virt));
    frame_get_stats(&fs);
    pr_info("CPU: %s (%s family %#x model %#x stepping %u)\n", boot_cpu.model_name[0] ? boot_cpu.model_name : "unknown",
            boot_cpu.vendor_id, boot_cpu.family, boot_cpu.model, boot_cpu.stepping);
    pr_info("Virtualization: %s\n", virt);
    pr_info("CPUs: %u online (%u in the MADT)\n", nr_cpus_online, nr_cpus_possible);
    pr_info("Memory: %lu MiB total, %lu MiB free\n", (unsigned long)(fs.total_pages >> 8),
            (unsigned long)(fs.free_pages >> 8));
    uint64_t ticks = online_tsc - boot_tsc;
    pr_info("Boot: all CPUs online %lu TSC ticks after entry (%lu us)\n", (unsigned long)ticks,
            (unsigned long)(tsc_to_ns(ticks) / 1000));
}

/* test_fault=pf|gp|ud|de|df|stack: raise a fault after bring-up, to test
 * the fault reports and the panic path.  Not for production use. */
static char opt_test_fault[16];
string_param("test_fault", opt_test_fault);

static volatile uint64_t recurse_limit = ~0ULL;

static __attribute__((noinline)) uint64_t recurse(uint64_t n)
{
    volatile char pad[512];
    pad[0] = (char)n;
    if (n >= recurse_limit)
        return 0;
    return recurse(n + 1) + pad[0];
}

void arch_test_fault(void)
{
    const char *f = opt_test_fault;
    if (!f[0])
        return;
    pr_info("test_fault=%s: raising it now\n", f);
    if (!strcmp(f, "pf")) {
        volatile uint64_t *low = (volatile uint64_t *)(uintptr_t)recurse_limit;
        low = (volatile uint64_t *)((uintptr_t)low & 0x10); /* 0x10: the low identity map is gone */
        *low = 1;
    } else if (!strcmp(f, "gp")) {
        (void)*(volatile uint64_t *)0x8000000000000000ULL; /* non-canonical */
    } else if (!strcmp(f, "ud")) {
        __asm__ __volatile__("ud2");
    } else if (!strcmp(f, "de")) {
        unsigned zero = 0;
        __asm__ __volatile__("div %2" ::"a"(1u), "d"(0u), "r"(zero));
    } else if (!strcmp(f, "stack")) {
        pr_info("%lu\n", (unsigned long)recurse(0)); /* runs into the guard page */
    } else {
        pr_warn("test_fault: unknown fault '%s'\n", f);
    }
}
