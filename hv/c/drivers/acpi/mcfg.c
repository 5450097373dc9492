/* MCFG (PCI Firmware Specification 3.0 4.1.2): PCI Express ECAM windows. */
#include <keel/acpi.h>
#include <keel/lib.h>
#include <keel/printk.h>

#include "acpi_internal.h"

struct acpi_mcfg_info acpi_mcfg;

#define MCFG_ENTRIES 44 /* header and 8 reserved bytes */
#define MCFG_ENTRY_LEN 16
/* x86-64 physical addresses have at most 52 bits. */
#define PHYS_LIMIT (1ULL << 52)

static bool entry_ok(const struct acpi_mcfg_info *m, uint64_t base, uint16_t seg, uint8_t start, uint8_t end)
{
    /* Each bus takes 1 MiB of ECAM space (PCIe 4.0 7.2.2), so the window is
     * at least 1 MiB aligned and bus_end + 1 MiB past base must exist. */
    if (start > end || !base || !IS_ALIGNED(base, MiB(1)) || base + MiB((uint64_t)end + 1) > PHYS_LIMIT)
        return false;
    for (unsigned i = 0; i < m->nr; i++)
        if (m->seg[i].segment == seg && start <= m->seg[i].bus_end && m->seg[i].bus_start <= end)
            return false;
    return true;
}

bool acpi_parse_mcfg(const struct acpi_header *h, struct acpi_mcfg_info *out)
{
    const uint8_t *b = (const uint8_t *)h;
    uint32_t len = h->length;

    memset(out, 0, sizeof(*out));
    if (memcmp(h->signature, "MCFG", 4) || len < MCFG_ENTRIES) {
        pr_warn("ACPI: %.4s (%u bytes) is not a usable MCFG\n", h->signature, len);
        return false;
    }
    if ((len - MCFG_ENTRIES) % MCFG_ENTRY_LEN)
        pr_warn("ACPI: MCFG length %u leaves a partial entry, ignored\n", len);
    for (uint32_t off = MCFG_ENTRIES; len - off >= MCFG_ENTRY_LEN; off += MCFG_ENTRY_LEN) {
        uint64_t base = acpi_rd64(b, off);
        uint16_t seg = acpi_rd16(b, off + 8);
        uint8_t start = b[off + 10], end = b[off + 11];
        if (!entry_ok(out, base, seg, start, end)) {
            pr_warn("ACPI: MCFG entry segment %u buses %u-%u at %#lx is invalid or overlaps another, ignored\n",
                    seg, start, end, (unsigned long)base);
            continue;
        }
        if (out->nr == ACPI_MAX_MCFG) {
            pr_warn("ACPI: more than %d MCFG entries, ignoring the rest\n", ACPI_MAX_MCFG);
            break;
        }
        out->seg[out->nr].base = base;
        out->seg[out->nr].segment = seg;
        out->seg[out->nr].bus_start = start;
        out->seg[out->nr].bus_end = end;
        out->nr++;
    }
    return true;
}
