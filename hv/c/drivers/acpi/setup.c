/* From the RSDP to the parsed facts: the part of ACPI bring-up that does not
 * depend on how the RSDP was found, so host tests can run all of it. */
#include <keel/acpi.h>
#include <keel/lib.h>
#include <keel/printk.h>

static void find_s5(void)
{
    /* Only the DSDT the FADT names, not some table that calls itself DSDT. */
    paddr_t p = acpi_table("DSDT", 0);
    const struct acpi_header *dsdt = acpi_table_map("DSDT", 0);
    if (!dsdt || p != acpi_fadt.dsdt)
        return;
    acpi_fadt.s5_valid = acpi_find_s5((const uint8_t *)(dsdt + 1), dsdt->length - sizeof(*dsdt),
                                      &acpi_fadt.slp_typ_s5a, &acpi_fadt.slp_typ_s5b);
}

unsigned acpi_load(const struct acpi_rsdp *rsdp)
{
    const struct acpi_header *h;

    memset(&acpi_madt, 0, sizeof(acpi_madt));
    memset(&acpi_mcfg, 0, sizeof(acpi_mcfg));
    memset(&acpi_iommu, 0, sizeof(acpi_iommu));
    unsigned n = acpi_scan_tables(rsdp); /* also fills acpi_fadt */
    if (!n) {
        pr_warn("ACPI: no usable tables\n");
        return 0;
    }
    if (acpi_fadt.present && acpi_fadt.dsdt)
        find_s5();
    if ((h = acpi_table_map("APIC", 0)))
        acpi_parse_madt(h, &acpi_madt);
    if ((h = acpi_table_map("MCFG", 0)))
        acpi_parse_mcfg(h, &acpi_mcfg);
    if ((h = acpi_table_map("DMAR", 0)))
        acpi_parse_dmar(h, &acpi_iommu);
    if ((h = acpi_table_map("IVRS", 0)))
        acpi_parse_ivrs(h, &acpi_iommu);
    acpi_print_summary();
    return n;
}
