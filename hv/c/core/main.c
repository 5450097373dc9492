/* The core's boot sequence. */
#include <keel/acpi.h>
#include <keel/arch.h>
#include <keel/boot.h>
#include <keel/mm.h>
#include <keel/power.h>
#include <keel/printk.h>
#include <keel/version.h>

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
    pr_info("Keel: nothing to run yet.\n");
    machine_power_off();
}
