/* RSDP, RSDT/XSDT and the table directory. */
#include <keel/acpi.h>
#include <keel/lib.h>
#include <keel/printk.h>

#define MAX_TABLES 64

static struct {
    char sig[4];
    paddr_t addr;
    uint32_t length;
} tables[MAX_TABLES];
static unsigned nr_tables;

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

static bool scan_area(paddr_t start, size_t len, struct acpi_rsdp *out)
{
    const uint8_t *p = acpi_map(start, len);
    if (!p)
        return false;
    for (size_t off = 0; off + 20 <= len; off += 16) {
        const struct acpi_rsdp *r = (const void *)(p + off);
        if (!memcmp(r->signature, "RSD PTR ", 8)) {
            struct acpi_rsdp copy = { 0 };
            memcpy(&copy, r, MIN(sizeof(copy), len - off));
            if (rsdp_valid(&copy)) {
                *out = copy;
                return true;
            }
        }
    }
    return false;
}

bool acpi_find_rsdp(const uint8_t *loader_copy, bool have_copy, struct acpi_rsdp *out)
{
    if (have_copy) {
        struct acpi_rsdp copy;
        memcpy(&copy, loader_copy, sizeof(copy));
        if (rsdp_valid(&copy)) {
            *out = copy;
            return true;
        }
        pr_warn("ACPI: the loader's RSDP copy is invalid, scanning the BIOS areas\n");
    }
    /* First KiB of the EBDA, then the BIOS read-only area (ACPI 5.2.5.1). */
    const uint16_t *ebda_seg = acpi_map(0x40E, 2);
    if (ebda_seg && *ebda_seg && scan_area((paddr_t)*ebda_seg << 4, 1024, out))
        return true;
    return scan_area(0xE0000, 0x20000, out);
}

const struct acpi_header *acpi_checked_table(paddr_t p, const char *want)
{
    const struct acpi_header *h = acpi_map(p, sizeof(*h));
    if (!h)
        return NULL;
    char sig[5] = { h->signature[0], h->signature[1], h->signature[2], h->signature[3], 0 };
    if (want && memcmp(sig, want, 4)) {
        pr_warn("ACPI: table at %#lx is '%s', expected '%s'\n", (unsigned long)p, sig, want);
        return NULL;
    }
    if (h->length < sizeof(*h) || h->length > MiB(16)) {
        pr_warn("ACPI: table %s at %#lx has a bad length %u, not trusted\n", sig, (unsigned long)p, h->length);
        return NULL;
    }
    uint32_t len = h->length;
    h = acpi_map(p, len);
    if (!h || acpi_checksum(h, len)) {
        pr_warn("ACPI: table %s at %#lx has a bad checksum, not trusted\n", sig, (unsigned long)p);
        return NULL;
    }
    return h;
}

static void record(paddr_t p)
{
    const struct acpi_header *h = acpi_checked_table(p, NULL);
    if (!h)
        return;
    for (unsigned i = 0; i < nr_tables; i++) {
        if (tables[i].addr == p)
            return;
        /* Overlapping tables mean corrupt firmware data: trust neither. */
        if (p < tables[i].addr + tables[i].length && tables[i].addr < p + h->length) {
            pr_warn("ACPI: table %.4s at %#lx overlaps %.4s at %#lx, not trusted\n", h->signature,
                    (unsigned long)p, tables[i].sig, (unsigned long)tables[i].addr);
            return;
        }
    }
    if (nr_tables == MAX_TABLES) {
        pr_warn("ACPI: more than %d tables, ignoring %.4s\n", MAX_TABLES, h->signature);
        return;
    }
    memcpy(tables[nr_tables].sig, h->signature, 4);
    tables[nr_tables].addr = p;
    tables[nr_tables].length = h->length;
    nr_tables++;
    pr_info("ACPI: %.4s %#010lx %06x (v%02u %.6s %.8s)\n", h->signature, (unsigned long)p, h->length,
            h->revision, h->oem_id, h->oem_table_id);
}

unsigned acpi_scan_tables(const struct acpi_rsdp *rsdp)
{
    bool x = rsdp->revision >= 2 && rsdp->xsdt_address;
    paddr_t root = x ? rsdp->xsdt_address : rsdp->rsdt_address;
    const struct acpi_header *h = acpi_checked_table(root, x ? "XSDT" : "RSDT");

    nr_tables = 0;
    if (!h && x) {
        pr_warn("ACPI: XSDT unusable, falling back to the RSDT\n");
        x = false;
        h = acpi_checked_table(rsdp->rsdt_address, "RSDT");
    }
    if (!h)
        return 0;
    size_t entry = x ? 8 : 4;
    size_t n = (h->length - sizeof(*h)) / entry;
    const uint8_t *ents = (const uint8_t *)(h + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t p = 0;
        memcpy(&p, ents + i * entry, entry);
        if (p)
            record(p);
    }
    /* The DSDT is reached through the FADT, not the root table. */
    const struct acpi_header *fadt = acpi_table_map("FACP", 0);
    if (fadt && acpi_parse_fadt(fadt, &acpi_fadt) && acpi_fadt.dsdt)
        record(acpi_fadt.dsdt);
    return nr_tables;
}

paddr_t acpi_table(const char sig[4], unsigned index)
{
    for (unsigned i = 0; i < nr_tables; i++)
        if (!memcmp(tables[i].sig, sig, 4) && index-- == 0)
            return tables[i].addr;
    return 0;
}

const struct acpi_header *acpi_table_map(const char sig[4], unsigned index)
{
    for (unsigned i = 0; i < nr_tables; i++)
        if (!memcmp(tables[i].sig, sig, 4) && index-- == 0)
            return acpi_map(tables[i].addr, tables[i].length);
    return NULL;
}
