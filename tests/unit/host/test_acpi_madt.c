/* sources: hv/c/drivers/acpi/tables.c hv/c/drivers/acpi/fadt.c hv/c/drivers/acpi/madt.c hv/c/drivers/acpi/mcfg.c hv/c/drivers/acpi/iommu.c hv/c/drivers/acpi/setup.c hv/c/drivers/acpi/summary.c tests/unit/host/acpi_host.c */
/* The MADT parser on QEMU's tables, damaged copies and synthetic tables. */
#include <stdlib.h>
#include <string.h>

#include "acpi_host.h"
#include "shim.h"

static const struct {
    const char *machine;
    unsigned cpus;
} machines[] = {
    { "pc-smp4", 4 },         { "q35-smp8", 8 },      { "q35-hotplug", 4 },
    { "q35-intel-iommu", 2 }, { "q35-amd-iommu", 2 }, { "q35-ovmf", 4 },
};

/* QEMU's ISA overrides: the PIT on GSI 2, the PCI link IRQs level/high. */
static const struct acpi_irq_override qemu_overrides[] = {
    { 0, 0, 2, 0x0 }, { 0, 5, 5, 0xd }, { 0, 9, 9, 0xd }, { 0, 10, 10, 0xd }, { 0, 11, 11, 0xd },
};

static bool logged(const char *s)
{
    if (strstr(shim_log(), s))
        return true;
    fprintf(stderr, "expected in the log: '%s'; the log:\n%s", s, shim_log());
    return false;
}

static void check_qemu_interrupts(const struct acpi_madt_info *m)
{
    CHECK_EQ(m->nr_ioapics, 1);
    CHECK_EQ(m->ioapics[0].id, 0);
    CHECK_EQ(m->ioapics[0].addr, 0xFEC00000);
    CHECK_EQ(m->ioapics[0].gsi_base, 0);
    CHECK_EQ(m->nr_overrides, ARRAY_SIZE(qemu_overrides));
    for (unsigned i = 0; i < m->nr_overrides && i < ARRAY_SIZE(qemu_overrides); i++) {
        CHECK_EQ(m->overrides[i].bus, qemu_overrides[i].bus);
        CHECK_EQ(m->overrides[i].source, qemu_overrides[i].source);
        CHECK_EQ(m->overrides[i].gsi, qemu_overrides[i].gsi);
        CHECK_EQ(m->overrides[i].flags, qemu_overrides[i].flags);
    }
}

static void test_real_madts(void)
{
    for (unsigned k = 0; k < ARRAY_SIZE(machines); k++) {
        acpi_host_load(machines[k].machine);
        acpi_host_boot();
        const struct acpi_madt_info *m = &acpi_madt;
        CHECK(m->present);
        CHECK_EQ(m->lapic_addr, 0xFEE00000);
        CHECK(m->pcat_compat);
        CHECK_EQ(m->nr_cpus, machines[k].cpus);
        CHECK_EQ(m->nr_cpus_ignored, 0);
        for (unsigned i = 0; i < m->nr_cpus; i++) {
            CHECK_EQ(m->cpus[i].apic_id, i);
            CHECK_EQ(m->cpus[i].acpi_uid, i);
            CHECK(m->cpus[i].enabled);
            CHECK(!m->cpus[i].online_capable);
            CHECK(!m->cpus[i].x2apic_entry);
        }
        check_qemu_interrupts(m);
        CHECK_EQ(m->nr_lapic_nmi, 1);
        char line[128];
        snprintf(line, sizeof(line), "ACPI: CPUs: %u in the MADT (%u enabled, 0 online-capable, 0 ignored)",
                 machines[k].cpus, machines[k].cpus);
        CHECK(logged(line));
        CHECK(logged("ACPI: IOAPICs: 1 (id 0 at 0xfec00000 GSI 0)"));
        CHECK(logged("ACPI: IRQ overrides: 5 (0->2 5->5[level,high] 9->9[level,high]"));
    }
}

/* q35 -smp 4,maxcpus=8: four more entries, disabled.  From MADT revision 5
 * the Online Capable flag makes them usable later; before, it is reserved. */
static void test_online_capable(void)
{
    acpi_host_load("q35-hotplug");
    paddr_t apic = acpi_host_addr("APIC");
    for (unsigned i = 4; i < 8; i++)
        acpi_host_poke(apic, 44 + 8 * i + 4, 2, 4, true);
    acpi_host_boot();
    CHECK_EQ(acpi_madt.nr_cpus, 4);

    acpi_host_poke(apic, 8, 5, 1, true); /* revision */
    acpi_host_boot();
    CHECK_EQ(acpi_madt.nr_cpus, 8);
    for (unsigned i = 0; i < 8; i++) {
        CHECK_EQ(acpi_madt.cpus[i].apic_id, i);
        CHECK_EQ(acpi_madt.cpus[i].enabled, i < 4);
        CHECK_EQ(acpi_madt.cpus[i].online_capable, i >= 4);
    }
    CHECK(logged("(4 enabled, 4 online-capable, 0 ignored)"));

    /* Enabled and Online Capable together: enabled (the bit is reserved then). */
    acpi_host_poke(apic, 44 + 8 * 4 + 4, 3, 4, true);
    acpi_host_boot();
    CHECK(acpi_madt.cpus[4].enabled && !acpi_madt.cpus[4].online_capable);
}

static void test_bad_entries(void)
{
    acpi_host_load("q35-smp8");
    paddr_t apic = acpi_host_addr("APIC");
    uint32_t len = 0xb0;
    /* Layout: 8 local APICs (8 bytes), IOAPIC (12), 5 overrides (10), NMI (6). */
    const uint32_t ioapic = 44 + 8 * 8, nmi = len - 6;
    CHECK_EQ(acpi_host_mem(apic + 4, 1)[0], len);
    CHECK_EQ(acpi_host_mem(apic + ioapic, 1)[0], 1);
    CHECK_EQ(acpi_host_mem(apic + nmi, 1)[0], 4);

    /* Length 0 in the 4th entry: the walk stops, the first three stay. */
    acpi_host_poke(apic, 44 + 3 * 8 + 1, 0, 1, true);
    acpi_host_boot();
    CHECK(logged("MADT entry type 0 at offset 68 has a bad length 0, ignoring the rest of the MADT"));
    CHECK(acpi_madt.present);
    CHECK_EQ(acpi_madt.nr_cpus, 3);
    CHECK_EQ(acpi_madt.nr_ioapics, 0);
    CHECK_EQ(acpi_madt.nr_overrides, 0);
    acpi_host_restore();

    /* Length 1: as bad. */
    acpi_host_poke(apic, ioapic + 1, 1, 1, true);
    acpi_host_boot();
    CHECK(logged("MADT entry type 1 at offset 108 has a bad length 1"));
    CHECK_EQ(acpi_madt.nr_cpus, 8);
    CHECK_EQ(acpi_madt.nr_ioapics, 0);
    acpi_host_restore();

    /* The last entry runs past the end of the table: everything before it stays. */
    acpi_host_poke(apic, nmi + 1, 7, 1, true);
    acpi_host_boot();
    CHECK(logged("MADT entry type 4 at offset 170 has a bad length 7"));
    CHECK_EQ(acpi_madt.nr_cpus, 8);
    check_qemu_interrupts(&acpi_madt);
    CHECK_EQ(acpi_madt.nr_lapic_nmi, 0);
    acpi_host_restore();

    /* An IOAPIC entry shorter than an IOAPIC structure. */
    acpi_host_poke(apic, ioapic + 1, 8, 1, true);
    acpi_host_boot();
    CHECK(logged("MADT entry type 1 at offset 108 has a bad length 8"));
    CHECK_EQ(acpi_madt.nr_ioapics, 0);
    acpi_host_restore();

    /* The table ends one byte into the last entry. */
    acpi_host_poke(apic, 4, len - 5, 4, true);
    acpi_host_boot();
    CHECK(logged("MADT entry type 4 at offset 170 has a bad length 0"));
    CHECK_EQ(acpi_madt.nr_overrides, 5);
    acpi_host_restore();

    /* An entry type we do not know is skipped by its length. */
    acpi_host_poke(apic, ioapic, 0x7F, 1, true);
    acpi_host_boot();
    CHECK_EQ(shim_log_warnings(), 0);
    CHECK_EQ(acpi_madt.nr_ioapics, 0);
    CHECK_EQ(acpi_madt.nr_overrides, 5);
    acpi_host_restore();

    /* A repeated APIC id: the second is dropped with a warning. */
    acpi_host_poke(apic, 44 + 8 * 5 + 3, 2, 1, true);
    acpi_host_boot();
    CHECK(logged("MADT lists APIC id 2 twice (UIDs 2 and 5), ignoring the second"));
    CHECK_EQ(acpi_madt.nr_cpus, 7);
    CHECK_EQ(acpi_madt.cpus[5].apic_id, 6);
    acpi_host_restore();

    /* The broadcast id on an enabled processor, and an IOAPIC at address 0. */
    acpi_host_poke(apic, 44 + 8 * 7 + 3, 0xFF, 1, false);
    acpi_host_poke(apic, ioapic + 4, 0, 4, true);
    acpi_host_boot();
    CHECK(logged("broadcast APIC id 0xff"));
    CHECK(logged("IOAPIC 0 has address 0"));
    CHECK_EQ(acpi_madt.nr_cpus, 7);
    CHECK_EQ(acpi_madt.nr_ioapics, 0);
    acpi_host_restore();

    /* Too short for the MADT's own fields. */
    acpi_host_poke(apic, 4, 40, 4, true);
    acpi_host_boot();
    CHECK(logged("APIC (40 bytes) is not a usable MADT"));
    CHECK(!acpi_madt.present);
    CHECK_EQ(acpi_madt.nr_cpus, 0);
}

static uint8_t *entry(struct acpi_tb *t, uint8_t type, uint8_t len)
{
    uint8_t *e = acpi_tb_put(t, len);
    e[0] = type;
    e[1] = len;
    return e;
}

/* x2APIC structures, more CPUs than Keel takes, too many IOAPICs and
 * overrides, the local APIC address override and x2APIC NMIs. */
static void test_synthetic(void)
{
    static struct acpi_tb tb;
    static struct acpi_madt_info m;

    acpi_tb_init(&tb, "APIC", 5, 8);
    acpi_host_put(tb.buf + 36, 0xFEE00000, 4);
    for (uint32_t i = 0; i < 300; i++) {
        uint8_t *e = entry(&tb, 9, 16);
        acpi_host_put(e + 4, 0x100 + i, 4); /* x2APIC id */
        acpi_host_put(e + 8, i % 2 ? 1 : 2, 4);
        acpi_host_put(e + 12, 1000 + i, 4); /* UID */
    }
    for (uint32_t i = 0; i < 18; i++) {
        uint8_t *e = entry(&tb, 1, 12);
        e[2] = (uint8_t)i;
        acpi_host_put(e + 4, 0xFEC00000 + 0x1000 * i, 4);
        acpi_host_put(e + 8, 24 * i, 4);
    }
    for (uint32_t i = 0; i < 40; i++) {
        uint8_t *e = entry(&tb, 2, 10);
        e[3] = (uint8_t)i;
        acpi_host_put(e + 4, 100 + i, 4);
        acpi_host_put(e + 8, 0xF, 2);
    }
    acpi_host_put(entry(&tb, 5, 12) + 4, 0x1FEE00000ull, 8);
    entry(&tb, 0xA, 12);
    entry(&tb, 0xA, 12);
    entry(&tb, 4, 6);
    struct acpi_header *h = acpi_tb_finish(&tb);

    shim_log_clear();
    CHECK(acpi_parse_madt(h, &m));
    CHECK(m.present && !m.pcat_compat);
    CHECK_EQ(m.lapic_addr, 0x1FEE00000ull);
    CHECK_EQ(m.nr_cpus, ACPI_MAX_CPUS);
    CHECK_EQ(m.nr_cpus_ignored, 300 - ACPI_MAX_CPUS);
    CHECK(logged("MADT lists 44 processors beyond the 256 supported"));
    CHECK_EQ(m.cpus[0].apic_id, 0x100);
    CHECK_EQ(m.cpus[0].acpi_uid, 1000);
    CHECK(m.cpus[0].online_capable && !m.cpus[0].enabled && m.cpus[0].x2apic_entry);
    CHECK(m.cpus[1].enabled && !m.cpus[1].online_capable);
    CHECK_EQ(m.cpus[255].apic_id, 0x1FF);
    CHECK_EQ(m.nr_ioapics, ACPI_MAX_IOAPICS);
    CHECK(logged("more than 16 IOAPICs, ignoring IOAPIC 16"));
    CHECK_EQ(m.ioapics[15].addr, 0xFEC0F000);
    CHECK_EQ(m.ioapics[15].gsi_base, 24 * 15);
    CHECK_EQ(m.nr_overrides, ACPI_MAX_OVERRIDES);
    CHECK(logged("more than 32 interrupt source overrides, ignoring IRQ 32"));
    CHECK_EQ(m.overrides[31].gsi, 131);
    CHECK_EQ(m.overrides[31].flags, 0xF);
    CHECK_EQ(m.nr_lapic_nmi, 3);
    free(h);

    /* x2APIC broadcast id; an x2APIC id repeating an xAPIC one. */
    acpi_tb_init(&tb, "APIC", 5, 8);
    uint8_t *e = entry(&tb, 0, 8);
    e[2] = 7;
    e[3] = 3;
    acpi_host_put(e + 4, 1, 4);
    e = entry(&tb, 9, 16);
    acpi_host_put(e + 4, 0xFFFFFFFF, 4);
    acpi_host_put(e + 8, 1, 4);
    e = entry(&tb, 9, 16);
    acpi_host_put(e + 4, 3, 4);
    acpi_host_put(e + 8, 1, 4);
    h = acpi_tb_finish(&tb);
    shim_log_clear();
    CHECK(acpi_parse_madt(h, &m));
    CHECK_EQ(m.nr_cpus, 1);
    CHECK_EQ(m.cpus[0].acpi_uid, 7);
    CHECK(logged("broadcast APIC id 0xffffffff"));
    CHECK(logged("APIC id 3 twice"));
    free(h);

    /* Not a MADT at all. */
    acpi_tb_init(&tb, "APIX", 1, 8);
    h = acpi_tb_finish(&tb);
    CHECK(!acpi_parse_madt(h, &m));
    CHECK(!m.present);
    free(h);

    /* An empty MADT is a valid one. */
    acpi_tb_init(&tb, "APIC", 1, 8);
    h = acpi_tb_finish(&tb);
    shim_log_clear();
    CHECK(acpi_parse_madt(h, &m));
    CHECK_EQ(m.nr_cpus, 0);
    CHECK_EQ(shim_log_warnings(), 0);
    free(h);
}

void run_tests(void)
{
    test_real_madts();
    test_online_capable();
    test_bad_entries();
    test_synthetic();
    acpi_host_reset();
}
