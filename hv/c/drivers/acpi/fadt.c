/* FADT (ACPI 6.4 5.2.9) and the \_S5 sleep type from the DSDT. */
#include <keel/acpi.h>
#include <keel/lib.h>

#include "acpi_internal.h"

struct acpi_fadt_info acpi_fadt;

/* Offsets into the FADT. */
#define FADT_DSDT 40
#define FADT_SCI_INT 46
#define FADT_SMI_CMD 48
#define FADT_ACPI_ENABLE 52
#define FADT_PM1A_EVT 56
#define FADT_PM1A_CNT 64
#define FADT_PM1B_CNT 68
#define FADT_PM_TMR 76
#define FADT_PM_TMR_LEN 91
#define FADT_FLAGS 112
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_X_DSDT 140
#define FADT_X_PM1A_CNT 172
#define FADT_X_PM1B_CNT 184
#define FADT_X_PM_TMR 208

#define FADT_FLAG_TMR_VAL_EXT (1u << 8)
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define FADT_FLAG_HW_REDUCED (1u << 20)

/* An I/O-space GAS overrides the legacy 32-bit block address when present. */
static uint32_t io_block(const uint8_t *b, uint32_t len, size_t legacy, size_t gas)
{
    if (len >= gas + 12) {
        struct acpi_gas g;
        memcpy(&g, b + gas, sizeof(g));
        if (g.address && g.space_id == 1 && g.address <= 0xFFFF)
            return (uint32_t)g.address;
    }
    return len >= legacy + 4 ? acpi_rd32(b, legacy) : 0;
}

bool acpi_parse_fadt(const struct acpi_header *h, struct acpi_fadt_info *out)
{
    const uint8_t *b = (const uint8_t *)h;
    uint32_t len = h->length;
    struct acpi_fadt_info f = { 0 };

    if (memcmp(h->signature, "FACP", 4) || len < 116)
        return false;
    f.present = true;
    f.sci_int = (uint16_t)(b[FADT_SCI_INT] | b[FADT_SCI_INT + 1] << 8);
    f.smi_cmd = acpi_rd32(b, FADT_SMI_CMD);
    f.acpi_enable = b[FADT_ACPI_ENABLE];
    f.pm1a_evt = acpi_rd32(b, FADT_PM1A_EVT);
    f.pm1a_cnt = io_block(b, len, FADT_PM1A_CNT, FADT_X_PM1A_CNT);
    f.pm1b_cnt = io_block(b, len, FADT_PM1B_CNT, FADT_X_PM1B_CNT);
    if (b[FADT_PM_TMR_LEN] == 4)
        f.pm_tmr = io_block(b, len, FADT_PM_TMR, FADT_X_PM_TMR);
    uint32_t flags = acpi_rd32(b, FADT_FLAGS);
    f.pm_tmr_32bit = flags & FADT_FLAG_TMR_VAL_EXT;
    f.hw_reduced = flags & FADT_FLAG_HW_REDUCED;
    if (len >= FADT_RESET_VALUE + 1 && (flags & FADT_FLAG_RESET_REG_SUP)) {
        memcpy(&f.reset_reg, b + FADT_RESET_REG, sizeof(f.reset_reg));
        f.reset_value = b[FADT_RESET_VALUE];
        f.reset_supported = f.reset_reg.address != 0;
    }
    f.dsdt = acpi_rd32(b, FADT_DSDT);
    if (len >= FADT_X_DSDT + 8 && acpi_rd64(b, FADT_X_DSDT))
        f.dsdt = acpi_rd64(b, FADT_X_DSDT);
    *out = f;
    return true;
}

/* Decode one AML integer (ACPI 6.4 20.2.3): a byte/word/dword constant or
 * Zero/One.  Returns bytes consumed, 0 if not an integer. */
static size_t aml_int(const uint8_t *p, size_t left, uint32_t *val)
{
    if (left < 1)
        return 0;
    switch (p[0]) {
    case 0x00: *val = 0; return 1;  /* ZeroOp */
    case 0x01: *val = 1; return 1;  /* OneOp */
    case 0x0A: if (left < 2) return 0; *val = p[1]; return 2;                 /* BytePrefix */
    case 0x0B: if (left < 3) return 0; *val = acpi_rd16(p, 1); return 3;      /* WordPrefix */
    case 0x0C: if (left < 5) return 0; *val = acpi_rd32(p, 1); return 5;      /* DWordPrefix */
    default: return 0;
    }
}

/* SLP_TYPx is a 3-bit field of PM1x_CNT (ACPI 6.4 4.8.3.2, "PM1 Control
 * Registers"): a larger value would spill into SLP_EN and beyond. */
#define SLP_TYP_MAX 7

bool acpi_find_s5(const uint8_t *aml, size_t len, uint8_t *typ_a, uint8_t *typ_b)
{
    /* Look for NameOp "_S5_" PackageOp PkgLength NumElements a b ... */
    for (size_t i = 0; i + 8 < len; i++) {
        if (memcmp(aml + i, "_S5_", 4))
            continue;
        if (i < 1 || (aml[i - 1] != 0x08 && !(i >= 2 && aml[i - 1] == '\\' && aml[i - 2] == 0x08)))
            continue;
        size_t p = i + 4;
        if (aml[p] != 0x12) /* PackageOp */
            continue;
        p++;
        size_t pkglen_bytes = (size_t)(aml[p] >> 6) + 1;
        p += pkglen_bytes + 1; /* PkgLength, NumElements */
        if (p >= len)
            return false;
        uint32_t a, b = 0;
        size_t n = aml_int(aml + p, len - p, &a);
        if (!n)
            return false;
        p += n;
        if (!aml_int(aml + p, len - p, &b))
            b = 0;
        if (a > SLP_TYP_MAX || b > SLP_TYP_MAX)
            return false;
        *typ_a = (uint8_t)a;
        *typ_b = (uint8_t)b;
        return true;
    }
    return false;
}
