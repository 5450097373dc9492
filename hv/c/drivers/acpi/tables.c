/* RSDP, RSDT/XSDT and the table directory. */
#include <keel/acpi.h>
#include <keel/lib.h>
#include <keel/printk.h>

#define MAX_TABLES 64

/* Every table seen, rejected ones included: a rejected entry stays so that a
 * third table overlapping it is caught too.  Lookups skip rejected entries. */
static struct {
    char sig[4];
    paddr_t addr;
    uint32_t length;
    bool rejected;
} tables[MAX_TABLES];
static unsigned nr_tables;
static unsigned nr_dropped; /* valid tables that did not fit, this scan */

paddr_t acpi_rsdp_phys;

uint8_t acpi_checksum(const void *p, size_t len)
{
    const uint8_t *b = p;
    uint8_t sum = 0;
    while (len--)
        sum = (uint8_t)(sum + *b++);
    return sum;
}

static bool rsdp_valid(const struct acpi_rsdp *r)
{
    if (memcmp(r->signature, "RSD PTR ", 8) || acpi_checksum(r, 20))
        return false;
    if (r->revision >= 2 && (r->length < sizeof(*r) || r->length > 4096 || acpi_checksum(r, sizeof(*r))))
        return false;
    return true;
}

/* The RSDP sits on a 16-byte boundary (ACPI 6.4 5.2.5.1). */
static bool scan_area(paddr_t start, size_t len, struct acpi_rsdp *out)
{
    const uint8_t *p = acpi_map(start, len);
    if (!p)
        return false;
    for (size_t off = 0; off + 20 <= len; off += 16) {
        if (memcmp(p + off, "RSD PTR ", 8))
            continue;
        struct acpi_rsdp copy = { 0 };
        memcpy(&copy, p + off, MIN(sizeof(copy), len - off));
        if (rsdp_valid(&copy)) {
            *out = copy;
            acpi_rsdp_phys = start + off;
            return true;
        }
    }
    return false;
}

bool acpi_find_rsdp(const uint8_t *loader_copy, bool have_copy, struct acpi_rsdp *out)
{
    acpi_rsdp_phys = 0;
    if (have_copy) {
        struct acpi_rsdp copy;
        memcpy(&copy, loader_copy, sizeof(copy));
        if (rsdp_valid(&copy)) {
            *out = copy;
            return true;
        }
        pr_warn("ACPI: the loader's RSDP copy is invalid, scanning the BIOS areas\n");
    }
    /* First KiB of the EBDA, then the BIOS read-only area (ACPI 5.2.5.1).
     * The BDA holds the EBDA's real-mode segment at 0x40E. */
    const void *bda = acpi_map(0x40E, 2);
    uint16_t ebda_seg = 0;
    if (bda)
        memcpy(&ebda_seg, bda, 2);
    if (ebda_seg && scan_area((paddr_t)ebda_seg << 4, 1024, out))
        return true;
    return scan_area(0xE0000, 0x20000, out);
}

const struct acpi_header *acpi_checked_table(paddr_t p, const char *want)
{
    const struct acpi_header *h = acpi_map(p, sizeof(*h));
    if (!h) {
        pr_warn("ACPI: table at %#lx cannot be mapped, not trusted\n", (unsigned long)p);
        return NULL;
    }
    char sig[5] = { h->signature[0], h->signature[1], h->signature[2], h->signature[3], 0 };
    if (want && memcmp(sig, want, 4)) {
        pr_warn("ACPI: table at %#lx is '%s', expected '%s'\n", (unsigned long)p, sig, want);
        return NULL;
    }
    uint32_t len = h->length;
    if (len < sizeof(*h) || len > MiB(16)) {
        pr_warn("ACPI: table %s at %#lx has a bad length %u, not trusted\n", sig, (unsigned long)p, len);
        return NULL;
    }
    h = acpi_map(p, len);
    if (!h) {
        pr_warn("ACPI: table %s at %#lx (length %u) runs past mapped memory, not trusted\n", sig,
                (unsigned long)p, len);
        return NULL;
    }
    if (acpi_checksum(h, len)) {
        pr_warn("ACPI: table %s at %#lx has a bad checksum, not trusted\n", sig, (unsigned long)p);
        return NULL;
    }
    return h;
}

static void record(paddr_t p, const char *want)
{
    const struct acpi_header *h = acpi_checked_table(p, want);
    if (!h)
        return;
    uint32_t len = h->length;
    bool overlap = false;
    for (unsigned i = 0; i < nr_tables; i++) {
        if (tables[i].addr == p)
            return; /* listed twice */
        /* Overlapping tables mean corrupt firmware data: trust neither. */
        if (p < tables[i].addr + tables[i].length && tables[i].addr < p + len) {
            pr_warn("ACPI: table %.4s at %#lx overlaps %.4s at %#lx, neither trusted\n", h->signature,
                    (unsigned long)p, tables[i].sig, (unsigned long)tables[i].addr);
            tables[i].rejected = true;
            overlap = true;
        }
    }
    if (nr_tables == MAX_TABLES) {
        nr_dropped++;
        return;
    }
    memcpy(tables[nr_tables].sig, h->signature, 4);
    tables[nr_tables].addr = p;
    tables[nr_tables].length = len;
    tables[nr_tables].rejected = overlap;
    nr_tables++;
    if (!overlap)
        pr_info("ACPI: %.4s %#010lx %06x (v%02u %.6s %.8s)\n", h->signature, (unsigned long)p, len, h->revision,
                h->oem_id, h->oem_table_id);
}

/* The root table: the XSDT when the RSDP offers one (ACPI 6.4 5.2.8 says to
 * prefer it), the RSDT if the XSDT is unusable. */
static const struct acpi_header *root_table(const struct acpi_rsdp *rsdp, bool *xsdt)
{
    const struct acpi_header *h = NULL;

    *xsdt = rsdp->revision >= 2 && rsdp->xsdt_address;
    if (*xsdt) {
        h = acpi_checked_table(rsdp->xsdt_address, "XSDT");
        if (h)
            return h;
        *xsdt = false;
        pr_warn("ACPI: XSDT unusable, falling back to the RSDT\n");
    }
    if (rsdp->rsdt_address)
        h = acpi_checked_table(rsdp->rsdt_address, "RSDT");
    return h;
}

unsigned acpi_scan_tables(const struct acpi_rsdp *rsdp)
{
    bool x;
    const struct acpi_header *h = root_table(rsdp, &x);

    nr_tables = 0;
    nr_dropped = 0;
    memset(&acpi_fadt, 0, sizeof(acpi_fadt));
    if (!h)
        return 0;
    paddr_t root = x ? rsdp->xsdt_address : rsdp->rsdt_address;
    record(root, x ? "XSDT" : "RSDT");
    size_t entry = x ? 8 : 4;
    size_t n = (h->length - sizeof(*h)) / entry;
    const uint8_t *ents = (const uint8_t *)(h + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t p = 0;
        memcpy(&p, ents + i * entry, entry);
        if (p)
            record(p, NULL);
    }
    /* The DSDT is reached through the FADT, not the root table.  The FADT is
     * parsed for good only once the DSDT has been checked against every other
     * table, as an overlap between the two rejects the FADT as well. */
    struct acpi_fadt_info f;
    const struct acpi_header *fadt = acpi_table_map("FACP", 0);
    if (fadt && acpi_parse_fadt(fadt, &f) && f.dsdt)
        record(f.dsdt, "DSDT");
    fadt = acpi_table_map("FACP", 0);
    if (fadt)
        acpi_parse_fadt(fadt, &acpi_fadt);
    if (nr_dropped)
        pr_warn("ACPI: more than %d tables, %u ignored\n", MAX_TABLES, nr_dropped);

    unsigned good = 0;
    for (unsigned i = 0; i < nr_tables; i++)
        good += !tables[i].rejected;
    return good;
}

paddr_t acpi_table(const char sig[4], unsigned index)
{
    for (unsigned i = 0; i < nr_tables; i++)
        if (!tables[i].rejected && !memcmp(tables[i].sig, sig, 4) && index-- == 0)
            return tables[i].addr;
    return 0;
}

const struct acpi_header *acpi_table_map(const char sig[4], unsigned index)
{
    for (unsigned i = 0; i < nr_tables; i++)
        if (!tables[i].rejected && !memcmp(tables[i].sig, sig, 4) && index-- == 0)
            return acpi_map(tables[i].addr, tables[i].length);
    return NULL;
}
