/* ACPI bring-up on the hypervisor: find and check the tables. */
#include <keel/acpi.h>
#include <keel/boot.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <asm/page.h>

const void *acpi_map(paddr_t p, size_t len)
{
    /* The direct map covers every range in the firmware map. */
    if (p + len < p || p + len > GiB(1024))
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
    pr_info("ACPI: RSDP rev %u (%.6s)%s\n", rsdp.revision, rsdp.oem_id,
            boot_info.have_rsdp ? " from the boot loader" : "");
    if (!acpi_scan_tables(&rsdp)) {
        pr_warn("ACPI: no usable tables\n");
        return;
    }
    if (acpi_fadt.present && acpi_fadt.dsdt) {
        const struct acpi_header *dsdt = acpi_table_map("DSDT", 0);
        if (dsdt)
            acpi_fadt.s5_valid = acpi_find_s5((const uint8_t *)(dsdt + 1), dsdt->length - sizeof(*dsdt),
                                              &acpi_fadt.slp_typ_s5a, &acpi_fadt.slp_typ_s5b);
    }
}
