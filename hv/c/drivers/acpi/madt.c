/* MADT (ACPI 6.4 5.2.12): processors, IOAPICs and interrupt routing. */
#include <keel/acpi.h>
#include <keel/lib.h>
#include <keel/printk.h>

#include "acpi_internal.h"

struct acpi_madt_info acpi_madt;

#define MADT_ENTRIES 44 /* header, local APIC address, flags */
#define MADT_FLAG_PCAT_COMPAT (1u << 0)

/* Interrupt controller structure types (ACPI 6.4 5.2.12, MADT table). */
enum {
    MADT_LAPIC = 0,
    MADT_IOAPIC = 1,
    MADT_ISO = 2,
    MADT_LAPIC_NMI = 4,
    MADT_LAPIC_ADDR = 5,
    MADT_X2APIC = 9,
    MADT_X2APIC_NMI = 0xA,
};

/* ACPI 6.4 5.2.12, "Local APIC Flags"; the same bits in the x2APIC structure. */
#define LAPIC_ENABLED (1u << 0)
#define LAPIC_ONLINE_CAPABLE (1u << 1)

/* The shortest structure of each type we read; 2 (type and length) for the
 * types we skip.  Longer is fine: later revisions may append fields. */
static uint8_t min_length(uint8_t type)
{
    switch (type) {
    case MADT_LAPIC: return 8;
    case MADT_IOAPIC: return 12;
    case MADT_ISO: return 10;
    case MADT_LAPIC_NMI: return 6;
    case MADT_LAPIC_ADDR: return 12;
    case MADT_X2APIC: return 16;
    case MADT_X2APIC_NMI: return 12;
    default: return 2;
    }
}

static void add_cpu(struct acpi_madt_info *m, uint32_t apic_id, uint32_t uid, uint32_t flags, bool x2apic,
                    uint8_t madt_rev)
{
    bool enabled = flags & LAPIC_ENABLED;
    /* Online Capable exists from MADT revision 5 (ACPI 6.3) and only means
     * something when Enabled is clear; before that bit 1 is reserved (zero).
     * ACPI 6.2b tables carry MADT revision 45: harmless here, since with the
     * bit clear a disabled entry is dropped under either reading. */
    bool online = !enabled && madt_rev >= 5 && (flags & LAPIC_ONLINE_CAPABLE);

    /* Firmware pads the table with unusable entries: skip them quietly. */
    if (!enabled && !online)
        return;
    /* 0xFF (xAPIC) and 0xFFFFFFFF (x2APIC) are the broadcast ids. */
    if (apic_id == (x2apic ? 0xFFFFFFFFu : 0xFFu)) {
        pr_warn("ACPI: MADT processor UID %u has the broadcast APIC id %#x, ignored\n", uid, apic_id);
        return;
    }
    for (unsigned i = 0; i < m->nr_cpus; i++) {
        if (m->cpus[i].apic_id == apic_id) {
            pr_warn("ACPI: MADT lists APIC id %u twice (UIDs %u and %u), ignoring the second\n", apic_id,
                    m->cpus[i].acpi_uid, uid);
            return;
        }
    }
    if (m->nr_cpus == ACPI_MAX_CPUS) {
        m->nr_cpus_ignored++;
        return;
    }
    struct acpi_cpu *c = &m->cpus[m->nr_cpus++];
    c->apic_id = apic_id;
    c->acpi_uid = uid;
    c->enabled = enabled;
    c->online_capable = online;
    c->x2apic_entry = x2apic;
}

static void add_ioapic(struct acpi_madt_info *m, const uint8_t *e)
{
    uint32_t addr = acpi_rd32(e, 4);
    if (!addr) {
        pr_warn("ACPI: MADT IOAPIC %u has address 0, ignored\n", e[2]);
        return;
    }
    if (m->nr_ioapics == ACPI_MAX_IOAPICS) {
        pr_warn("ACPI: more than %d IOAPICs, ignoring IOAPIC %u\n", ACPI_MAX_IOAPICS, e[2]);
        return;
    }
    struct acpi_ioapic *io = &m->ioapics[m->nr_ioapics++];
    io->id = e[2];
    io->addr = addr;
    io->gsi_base = acpi_rd32(e, 8);
}

static void add_override(struct acpi_madt_info *m, const uint8_t *e)
{
    if (m->nr_overrides == ACPI_MAX_OVERRIDES) {
        pr_warn("ACPI: more than %d interrupt source overrides, ignoring IRQ %u\n", ACPI_MAX_OVERRIDES, e[3]);
        return;
    }
    struct acpi_irq_override *o = &m->overrides[m->nr_overrides++];
    o->bus = e[2];
    o->source = e[3];
    o->gsi = acpi_rd32(e, 4);
    o->flags = acpi_rd16(e, 8);
}

static void parse_entry(struct acpi_madt_info *m, const uint8_t *e, uint8_t madt_rev)
{
    switch (e[0]) {
    case MADT_LAPIC:
        add_cpu(m, e[3], e[2], acpi_rd32(e, 4), false, madt_rev);
        break;
    case MADT_X2APIC:
        add_cpu(m, acpi_rd32(e, 4), acpi_rd32(e, 12), acpi_rd32(e, 8), true, madt_rev);
        break;
    case MADT_IOAPIC:
        add_ioapic(m, e);
        break;
    case MADT_ISO:
        add_override(m, e);
        break;
    case MADT_LAPIC_NMI:
    case MADT_X2APIC_NMI:
        m->nr_lapic_nmi++;
        break;
    case MADT_LAPIC_ADDR: {
        /* A 64-bit address that supersedes the header's (ACPI 6.4 5.2.12,
         * "Local APIC Address Override Structure"). */
        uint64_t a = acpi_rd64(e, 4);
        if (a)
            m->lapic_addr = a;
        break;
    }
    default:
        break;
    }
}

bool acpi_parse_madt(const struct acpi_header *h, struct acpi_madt_info *out)
{
    const uint8_t *b = (const uint8_t *)h;
    uint32_t len = h->length;

    memset(out, 0, sizeof(*out));
    if (memcmp(h->signature, "APIC", 4) || len < MADT_ENTRIES) {
        pr_warn("ACPI: %.4s (%u bytes) is not a usable MADT\n", h->signature, len);
        return false;
    }
    out->present = true;
    out->lapic_addr = acpi_rd32(b, 36);
    out->pcat_compat = acpi_rd32(b, 40) & MADT_FLAG_PCAT_COMPAT;
    for (uint32_t off = MADT_ENTRIES; off < len;) {
        const uint8_t *e = b + off;
        /* A bad length would desynchronise the walk: nothing after it can be
         * trusted, but what came before was well-formed. */
        uint8_t elen = len - off >= 2 ? e[1] : 0;
        if (elen < 2 || elen > len - off || elen < min_length(e[0])) {
            pr_warn("ACPI: MADT entry type %u at offset %u has a bad length %u, ignoring the rest of the MADT\n",
                    e[0], off, elen);
            break;
        }
        parse_entry(out, e, h->revision);
        off += elen;
    }
    if (out->nr_cpus_ignored)
        pr_warn("ACPI: MADT lists %u processors beyond the %d supported, ignored\n", out->nr_cpus_ignored,
                ACPI_MAX_CPUS);
    return true;
}
