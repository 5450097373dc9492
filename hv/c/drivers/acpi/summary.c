/* The boot-time ACPI summary: one line per topic. */
#include <stdarg.h>

#include <keel/acpi.h>
#include <keel/lib.h>
#include <keel/printk.h>

/* A line built piece by piece; a list too long for it ends in "...". */
struct line {
    char buf[200];
    size_t len;
};

static void __printf(2, 3) add(struct line *l, const char *fmt, ...)
{
    va_list ap;
    size_t room = sizeof(l->buf) - l->len;
    if (room <= 4)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(l->buf + l->len, room - 4, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= room - 4) {
        l->len = strlen(l->buf);
        memcpy(l->buf + l->len, "...", 4);
        l->len = sizeof(l->buf); /* full: later pieces are dropped */
        return;
    }
    l->len += (size_t)n;
}

static void print_cpus(void)
{
    const struct acpi_madt_info *m = &acpi_madt;
    unsigned enabled = 0, online = 0;

    if (!m->present) {
        pr_info("ACPI: no MADT: one CPU, no IOAPIC\n");
        return;
    }
    for (unsigned i = 0; i < m->nr_cpus; i++) {
        enabled += m->cpus[i].enabled;
        online += m->cpus[i].online_capable;
    }
    pr_info("ACPI: CPUs: %u in the MADT (%u enabled, %u online-capable, %u ignored), local APIC at %#lx%s\n",
            m->nr_cpus, enabled, online, m->nr_cpus_ignored, (unsigned long)m->lapic_addr,
            m->pcat_compat ? ", 8259s present" : "");
}

static void print_ioapics(void)
{
    struct line l = { .len = 0 };

    add(&l, "%u", acpi_madt.nr_ioapics);
    for (unsigned i = 0; i < acpi_madt.nr_ioapics; i++) {
        const struct acpi_ioapic *io = &acpi_madt.ioapics[i];
        add(&l, "%sid %u at %#lx GSI %u", i ? ", " : " (", io->id, (unsigned long)io->addr, io->gsi_base);
    }
    if (acpi_madt.nr_ioapics)
        add(&l, ")");
    pr_info("ACPI: IOAPICs: %s\n", l.buf);
}

/* MPS INTI flags (ACPI 6.4 5.2.12): polarity bits 1:0, trigger bits 3:2;
 * 0 means "conforms to the bus", which for ISA is edge, active high. */
static void print_overrides(void)
{
    static const char *const pol[] = { "", "high", "?", "low" };
    static const char *const trig[] = { "", "edge", "?", "level" };
    struct line l = { .len = 0 };

    add(&l, "%u", acpi_madt.nr_overrides);
    for (unsigned i = 0; i < acpi_madt.nr_overrides; i++) {
        const struct acpi_irq_override *o = &acpi_madt.overrides[i];
        unsigned p = o->flags & 3, t = (o->flags >> 2) & 3;
        add(&l, "%s%u->%u", i ? " " : " (", o->source, o->gsi);
        if (p || t)
            add(&l, "[%s%s%s]", trig[t], p && t ? "," : "", pol[p]);
    }
    if (acpi_madt.nr_overrides)
        add(&l, ")");
    pr_info("ACPI: IRQ overrides: %s; %u local APIC NMI%s\n", l.buf, acpi_madt.nr_lapic_nmi,
            acpi_madt.nr_lapic_nmi == 1 ? "" : "s");
}

static void print_fadt(void)
{
    const struct acpi_fadt_info *f = &acpi_fadt;
    static const char *const space[] = { "memory", "I/O port", "PCI config" };

    if (!f->present) {
        pr_info("ACPI: no FADT: no PM timer, no ACPI reset or power-off\n");
        return;
    }
    if (f->pm_tmr)
        pr_info("ACPI: PM timer: port %#x, %u-bit\n", f->pm_tmr, f->pm_tmr_32bit ? 32 : 24);
    else
        pr_info("ACPI: PM timer: none\n");
    if (f->reset_supported)
        pr_info("ACPI: reset register: %s %#lx, value %#x\n",
                f->reset_reg.space_id < ARRAY_SIZE(space) ? space[f->reset_reg.space_id] : "unknown space",
                (unsigned long)f->reset_reg.address, f->reset_value);
    else
        pr_info("ACPI: reset register: none\n");
    if (f->s5_valid && f->pm1a_cnt)
        pr_info("ACPI: S5 power-off: SLP_TYP %u/%u, PM1a control port %#x\n", f->slp_typ_s5a, f->slp_typ_s5b,
                f->pm1a_cnt);
    else
        pr_info("ACPI: S5 power-off: unsupported%s\n", f->s5_valid ? " (no PM1a control block)" : "");
}

static void print_mcfg(void)
{
    struct line l = { .len = 0 };

    if (!acpi_mcfg.nr) {
        pr_info("ACPI: MCFG: none\n");
        return;
    }
    add(&l, "%u segment%s", acpi_mcfg.nr, acpi_mcfg.nr == 1 ? "" : "s");
    for (unsigned i = 0; i < acpi_mcfg.nr; i++)
        add(&l, "%s%04x buses %02x-%02x at %#lx", i ? ", " : " (", acpi_mcfg.seg[i].segment,
            acpi_mcfg.seg[i].bus_start, acpi_mcfg.seg[i].bus_end, (unsigned long)acpi_mcfg.seg[i].base);
    add(&l, ")");
    pr_info("ACPI: MCFG: %s\n", l.buf);
}

static void print_iommu(void)
{
    const struct acpi_iommu_info *io = &acpi_iommu;
    struct line l = { .len = 0 };

    if (io->dmar)
        add(&l, "DMAR %u unit%s (%u-bit DMA)", io->nr_drhd, io->nr_drhd == 1 ? "" : "s", io->dmar_haw);
    if (io->ivrs)
        add(&l, "%sIVRS %u unit%s", io->dmar ? ", " : "", io->nr_ivhd, io->nr_ivhd == 1 ? "" : "s");
    pr_info("ACPI: IOMMU: %s\n", io->dmar || io->ivrs ? l.buf : "none");
}

void acpi_print_summary(void)
{
    print_cpus();
    if (acpi_madt.present) {
        print_ioapics();
        print_overrides();
    }
    print_fadt();
    print_mcfg();
    print_iommu();
}
