/* The core's boot sequence. */
#include <keel/acpi.h>
#include <keel/arch.h>
#include <keel/boot.h>
#include <keel/domain.h>
#include <keel/mm.h>
#include <keel/power.h>
#include <keel/printk.h>
#include <keel/sched.h>
#include <keel/version.h>
#include <asm/hvm.h>
#include <asm/smp.h>

__noreturn void keel_main(void)
{
    arch_init_early();
    pr_info("Keel hypervisor %s (%s)\n", KEEL_VERSION, KEEL_BUILD_INFO);
    pr_info("Loader: %s, multiboot%u, command line: '%s'\n",
            boot_info.loader_name ? boot_info.loader_name : "unknown", boot_info.multiboot, boot_info.cmdline);
    frame_init();
    arch_init_memory();
    acpi_init();
    arch_init_cpus();
    arch_report();
    arch_test_fault();

    domain_subsys_init();
    sched_init();
    hvm_init();
    if (!boot_domains()) {
        pr_info("Keel: no domains to run.\n");
        machine_power_off();
    }
    boot_domains_unpause();
    smp_start_scheduling();
    sched_start();
}
