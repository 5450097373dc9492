/* Host stand-in for physical memory, for the ACPI tests: a few zero-filled
 * windows, filled from the QEMU table dumps in data/acpi/<machine>/ (see
 * data/acpi/README.md).  acpi_map() succeeds only inside one window, so
 * anything the hypervisor code reads outside the dumped data is refused; it
 * returns a heap copy of exactly the range asked for, so ASan catches a
 * parser reading past what it mapped. */
#ifndef HOST_ACPI_HOST_H
#define HOST_ACPI_HOST_H

#include <keel/acpi.h>

#define ACPI_HOST_MAX_AREAS 24

struct acpi_host_area {
    char name[16]; /* "rsdp", "bda", "ebda", or the signature ("SSDT.1" for a second one) */
    paddr_t addr;
    uint32_t length;
};

/* Every machine dumped under data/acpi. */
extern const char *const acpi_host_machines[];
extern const unsigned acpi_host_nr_machines;

/* What the manifest (tables.txt) of the loaded machine lists. */
extern struct acpi_host_area acpi_host_areas[ACPI_HOST_MAX_AREAS];
extern unsigned acpi_host_nr_areas;

/* Drop every window. */
void acpi_host_reset(void);
/* A new zero-filled window; returns its writable memory (aborts on misuse). */
uint8_t *acpi_host_window(paddr_t addr, size_t len);
/* Load a machine's dump: one window for the first MiB (BDA, EBDA, BIOS
 * area), one spanning all the tables.  Aborts with a message if the dump is
 * missing, so a test cannot pass on no data. */
void acpi_host_load(const char *machine);
/* Put the last loaded machine's memory back as it was dumped. */
void acpi_host_restore(void);

/* Whether acpi_map(addr, len) would succeed. */
bool acpi_host_mapped(paddr_t addr, size_t len);
/* Writable access to dumped memory; aborts if [addr, addr+len) is unmapped. */
uint8_t *acpi_host_mem(paddr_t addr, size_t len);
/* Address of a manifest area ("APIC", "rsdp", ...); aborts if absent. */
paddr_t acpi_host_addr(const char *name);
bool acpi_host_has(const char *name);
/* Recompute the checksum of the table at addr over its length field. */
void acpi_host_fix_checksum(paddr_t table);

/* Corruption helpers (each keeps the checksum valid unless told otherwise):
 * write a little-endian value of 1, 2, 4 or 8 bytes into a table. */
void acpi_host_poke(paddr_t table, size_t off, uint64_t val, size_t size, bool fix_checksum);

/* Recompute the RSDP's checksum and, for revision 2+, its extended one. */
void acpi_host_fix_rsdp(paddr_t rsdp);

/* Build a table from scratch: acpi_tb_init() writes the header and `fixed`
 * zero bytes after it, acpi_tb_put() appends n zero bytes and returns them,
 * acpi_tb_finish() sets length and checksum and returns a malloc'd copy of
 * exactly that length (so ASan sees any read past the end). */
struct acpi_tb {
    uint8_t buf[1 << 16];
    size_t len;
};
void acpi_tb_init(struct acpi_tb *t, const char sig[4], uint8_t revision, size_t fixed);
uint8_t *acpi_tb_put(struct acpi_tb *t, size_t n);
struct acpi_header *acpi_tb_finish(struct acpi_tb *t);
/* Store a little-endian value of 1, 2, 4 or 8 bytes. */
void acpi_host_put(uint8_t *p, uint64_t val, size_t size);

/* Find the RSDP as the hypervisor would: under SeaBIOS by scanning the BIOS
 * areas, under UEFI (RSDP dumped above 1 MiB) from a copy of it, the way
 * GRUB hands it over. */
bool acpi_host_rsdp(struct acpi_rsdp *out);
/* acpi_host_rsdp(), then acpi_load() on it, log cleared first.  Returns
 * acpi_load()'s count, 0 when there is no RSDP. */
unsigned acpi_host_boot(void);
/* The same from a known RSDP, skipping the search. */
unsigned acpi_host_boot_from(const struct acpi_rsdp *rsdp);

#endif
