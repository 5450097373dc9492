/* IOMMU detection: count the remapping units in the DMAR (Intel VT-d 3.4
 * 8.1) and IVRS (AMD IOMMU spec 48882 5.2).  Nothing is programmed yet;
 * the walks only check that the structures fit inside their table. */
#include <keel/acpi.h>
#include <keel/lib.h>
#include <keel/printk.h>

#include "acpi_internal.h"

struct acpi_iommu_info acpi_iommu;

/* DMAR: header, host address width, flags, 10 reserved bytes (VT-d 8.1). */
#define DMAR_STRUCTS 48
#define DMAR_DRHD 0
#define DRHD_MIN_LEN 16 /* type, length, flags, size, segment, register base (VT-d 8.3) */

/* IVRS: header, IVinfo, 8 reserved bytes. */
#define IVRS_BLOCKS 48
#define IVHD_10 0x10
#define IVHD_11 0x11
#define IVHD_40 0x40

bool acpi_parse_dmar(const struct acpi_header *h, struct acpi_iommu_info *out)
{
    const uint8_t *b = (const uint8_t *)h;
    uint32_t len = h->length;

    out->dmar = false;
    out->dmar_haw = 0;
    out->nr_drhd = 0;
    if (memcmp(h->signature, "DMAR", 4) || len < DMAR_STRUCTS) {
        pr_warn("ACPI: %.4s (%u bytes) is not a usable DMAR\n", h->signature, len);
        return false;
    }
    out->dmar = true;
    out->dmar_haw = (uint8_t)(b[36] + 1); /* the field holds the width minus one */
    for (uint32_t off = DMAR_STRUCTS; off < len;) {
        /* Remapping structures: 16-bit type, 16-bit length (VT-d 8.2). */
        uint16_t type = len - off >= 4 ? acpi_rd16(b, off) : 0xFFFF;
        uint16_t slen = len - off >= 4 ? acpi_rd16(b, off + 2) : 0;
        if (slen < 4 || slen > len - off || (type == DMAR_DRHD && slen < DRHD_MIN_LEN)) {
            pr_warn("ACPI: DMAR structure at offset %u has a bad length %u, ignoring the rest of the DMAR\n", off,
                    slen);
            break;
        }
        if (type == DMAR_DRHD)
            out->nr_drhd++;
        off += slen;
    }
    return true;
}

static uint16_t ivhd_min_length(uint8_t type)
{
    /* The IVHD header is 24 bytes for type 10h, 40 for 11h and 40h. */
    switch (type) {
    case IVHD_10: return 24;
    case IVHD_11:
    case IVHD_40: return 40;
    default: return 4;
    }
}

bool acpi_parse_ivrs(const struct acpi_header *h, struct acpi_iommu_info *out)
{
    const uint8_t *b = (const uint8_t *)h;
    uint32_t len = h->length;
    unsigned n10 = 0, n11 = 0, n40 = 0;

    out->ivrs = false;
    out->nr_ivhd = 0;
    if (memcmp(h->signature, "IVRS", 4) || len < IVRS_BLOCKS) {
        pr_warn("ACPI: %.4s (%u bytes) is not a usable IVRS\n", h->signature, len);
        return false;
    }
    out->ivrs = true;
    for (uint32_t off = IVRS_BLOCKS; off < len;) {
        /* IVDB: type, flags, 16-bit length, ... */
        uint8_t type = b[off];
        uint16_t blen = len - off >= 4 ? acpi_rd16(b, off + 2) : 0;
        if (blen < ivhd_min_length(type) || blen > len - off) {
            pr_warn("ACPI: IVRS block type %#x at offset %u has a bad length %u, ignoring the rest of the IVRS\n",
                    type, off, blen);
            break;
        }
        n10 += type == IVHD_10;
        n11 += type == IVHD_11;
        n40 += type == IVHD_40;
        off += blen;
    }
    /* Firmware describes each IOMMU once per IVHD type it offers, so that
     * older software finds type 10h: count the units of the newest type
     * present only, as Linux does. */
    out->nr_ivhd = n40 ? n40 : n11 ? n11 : n10;
    return true;
}
