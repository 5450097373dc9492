/* ACPI bring-up on the hypervisor: find the RSDP, then acpi_load(). */
#include <keel/acpi.h>
#include <keel/boot.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <asm/page.h>

/* The boot page tables (arch/x86/boot/entry.S) direct-map the first 4 GiB
 * only: a firmware pointer beyond that must fail here, not fault. */
#define ACPI_MAP_LIMIT GiB(4)

const void *acpi_map(paddr_t p, size_t len)
{
    if (p + len < p || p + len > ACPI_MAP_LIMIT)
        return NULL;
    return phys_to_virt(p);
}

void acpi_init(void)
{
    struct acpi_rsdp rsdp;

    if (!acpi_find_rsdp(boot_info.rsdp, boot_info.have_rsdp, &rsdp)) {
        pr_warn("ACPI: no RSDP found; ACPI power management unavailable\n");
        return;
    }
    if (acpi_rsdp_phys)
        pr_info("ACPI: RSDP %#010lx rev %u (%.6s)\n", (unsigned long)acpi_rsdp_phys, rsdp.revision, rsdp.oem_id);
    else
        pr_info("ACPI: RSDP rev %u (%.6s) from the boot loader\n", rsdp.revision, rsdp.oem_id);
    acpi_load(&rsdp);
}
