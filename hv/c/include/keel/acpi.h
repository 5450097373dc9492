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

/* Map len bytes of physical memory for reading; NULL if not possible. */
const void *acpi_map(paddr_t p, size_t len);

uint8_t acpi_checksum(const void *p, size_t len);

/* Find the RSDP: the loader's copy if there is one, else the BIOS areas. */
bool acpi_find_rsdp(const uint8_t *loader_copy, bool have_copy, struct acpi_rsdp *out);

/* Walk the XSDT (or RSDT) and record every valid table.  Returns the number
 * of tables accepted; bad ones are reported and skipped. */
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
/* Find \_S5 in an AML byte stream; false if absent or malformed. */
bool acpi_find_s5(const uint8_t *aml, size_t len, uint8_t *typ_a, uint8_t *typ_b);

void acpi_init(void);

#endif
