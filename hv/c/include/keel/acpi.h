/*
 * ACPI table discovery (ACPI 6.4 chapter 5).  Parsers work on memory reached
 * through acpi_map(), so host unit tests can feed them table images.  Every
 * table is checksummed and length-checked before it is trusted.
 */
#ifndef KEEL_ACPI_H
#define KEEL_ACPI_H

#include <keel/types.h>

struct acpi_header {
    char signature[4];
    uint32_t length;
    uint8_t revision;
    uint8_t checksum;
    char oem_id[6];
    char oem_table_id[8];
    uint32_t oem_revision;
    uint32_t creator_id;
    uint32_t creator_revision;
} __packed;

struct acpi_rsdp {
    char signature[8];
    uint8_t checksum;
    char oem_id[6];
    uint8_t revision;
    uint32_t rsdt_address;
    /* ACPI 2.0+ */
    uint32_t length;
    uint64_t xsdt_address;
    uint8_t extended_checksum;
    uint8_t reserved[3];
} __packed;

struct acpi_gas {
    uint8_t space_id; /* 0 memory, 1 I/O */
    uint8_t bit_width;
    uint8_t bit_offset;
    uint8_t access_size;
    uint64_t address;
} __packed;

/* Map len bytes of physical memory for reading; NULL if not possible.
 * The hypervisor's version lives in acpi.c; host tests supply their own. */
const void *acpi_map(paddr_t p, size_t len);

uint8_t acpi_checksum(const void *p, size_t len);

/* Find the RSDP: the loader's copy if there is one, else the BIOS areas.
 * acpi_rsdp_phys is where the scan found it (0 for the loader's copy). */
bool acpi_find_rsdp(const uint8_t *loader_copy, bool have_copy, struct acpi_rsdp *out);
extern paddr_t acpi_rsdp_phys;

/* Walk the XSDT (or RSDT) and record every valid table, the root table and
 * the FADT's DSDT included, then parse the FADT into acpi_fadt.  Returns the
 * number of tables accepted; bad ones are reported and skipped, and tables
 * that overlap each other are all rejected. */
unsigned acpi_scan_tables(const struct acpi_rsdp *rsdp);

/* Map a table after checking signature (if want is set), length and checksum. */
const struct acpi_header *acpi_checked_table(paddr_t p, const char *want);

/* The index-th table with this signature (physical address), or 0. */
paddr_t acpi_table(const char sig[4], unsigned index);
const struct acpi_header *acpi_table_map(const char sig[4], unsigned index);

/* FADT facts Keel uses. */
struct acpi_fadt_info {
    bool present;
    uint32_t pm1a_cnt, pm1b_cnt;  /* I/O ports, 0 if absent */
    uint32_t pm1a_evt;
    uint32_t pm_tmr;              /* PM timer I/O port, 0 if absent */
    bool pm_tmr_32bit;
    struct acpi_gas reset_reg;
    uint8_t reset_value;
    bool reset_supported;
    uint16_t sci_int;
    uint32_t smi_cmd;
    uint8_t acpi_enable;
    paddr_t dsdt;
    bool hw_reduced;
    uint8_t slp_typ_s5a, slp_typ_s5b;
    bool s5_valid;
};
extern struct acpi_fadt_info acpi_fadt;

bool acpi_parse_fadt(const struct acpi_header *h, struct acpi_fadt_info *out);
/* Find \_S5 in an AML byte stream; false if absent or malformed (a sleep
 * type above 7 does not fit SLP_TYPx and counts as malformed). */
bool acpi_find_s5(const uint8_t *aml, size_t len, uint8_t *typ_a, uint8_t *typ_b);

/* MADT (ACPI 6.4 5.2.12): the processors and interrupt controllers. */
#define ACPI_MAX_CPUS 256
#define ACPI_MAX_IOAPICS 16
#define ACPI_MAX_OVERRIDES 32

struct acpi_cpu {
    uint32_t apic_id;
    uint32_t acpi_uid;
    bool enabled;
    bool online_capable; /* disabled now, may be brought online later (MADT rev 5+) */
    bool x2apic_entry;   /* from a local x2APIC structure (type 9) */
};

struct acpi_ioapic {
    uint8_t id;
    paddr_t addr;
    uint32_t gsi_base;
};

/* flags: MPS INTI flags, bits 1:0 polarity, 3:2 trigger mode (ACPI 6.4
 * 5.2.12, "Interrupt Source Override Structure"). */
struct acpi_irq_override {
    uint8_t bus, source;
    uint32_t gsi;
    uint16_t flags;
};

struct acpi_madt_info {
    bool present;
    paddr_t lapic_addr; /* after any local APIC address override (type 5) */
    bool pcat_compat;   /* dual 8259s present: mask them before using the IOAPIC */
    /* Enabled or online-capable processors only, in table order; a repeated
     * APIC id is dropped with a warning. */
    unsigned nr_cpus;
    struct acpi_cpu cpus[ACPI_MAX_CPUS];
    unsigned nr_cpus_ignored; /* usable processors beyond ACPI_MAX_CPUS */
    unsigned nr_ioapics;
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    unsigned nr_overrides;
    struct acpi_irq_override overrides[ACPI_MAX_OVERRIDES];
    unsigned nr_lapic_nmi; /* local APIC and local x2APIC NMI structures */
};
extern struct acpi_madt_info acpi_madt;

/* h must be a checked table (acpi_checked_table or acpi_table_map): the
 * parser trusts that h->length bytes are mapped.  False if h is not a usable
 * MADT (out then has present == false); a malformed entry stops the walk
 * with a warning and keeps what came before it. */
bool acpi_parse_madt(const struct acpi_header *h, struct acpi_madt_info *out);

/* MCFG (PCI Firmware 3.0 4.1.2): ECAM windows.  base is the address of bus 0
 * of the segment even when bus_start is higher. */
#define ACPI_MAX_MCFG 16
struct acpi_mcfg_info {
    unsigned nr;
    struct {
        paddr_t base;
        uint16_t segment;
        uint8_t bus_start, bus_end;
    } seg[ACPI_MAX_MCFG];
};
extern struct acpi_mcfg_info acpi_mcfg;

/* Same contract as acpi_parse_madt; bad entries are skipped with a warning. */
bool acpi_parse_mcfg(const struct acpi_header *h, struct acpi_mcfg_info *out);

/* IOMMUs: Intel DMAR (VT-d 3.4 8.1) and AMD IVRS (AMD IOMMU 48882 5.2),
 * counted only.  dmar_haw is the DMA address width in bits (the table's
 * field plus one); nr_ivhd counts IOMMUs, not IVHD blocks (firmware lists
 * each IOMMU once per IVHD type it supports). */
struct acpi_iommu_info {
    bool dmar;
    uint8_t dmar_haw;
    unsigned nr_drhd;
    bool ivrs;
    unsigned nr_ivhd;
};
extern struct acpi_iommu_info acpi_iommu;

/* Same contract as acpi_parse_madt; each fills only its own half of out. */
bool acpi_parse_dmar(const struct acpi_header *h, struct acpi_iommu_info *out);
bool acpi_parse_ivrs(const struct acpi_header *h, struct acpi_iommu_info *out);

/* Everything after the RSDP: scan the tables, parse the FADT (with \_S5 from
 * the DSDT), MADT, MCFG, DMAR and IVRS into the globals above (reset first)
 * and print the summary.  Returns the number of tables accepted. */
unsigned acpi_load(const struct acpi_rsdp *rsdp);
/* The one-line-per-topic summary acpi_load prints. */
void acpi_print_summary(void);

/* Find the RSDP through boot_info, then acpi_load(). */
void acpi_init(void);

#endif
