/* sources: hv/c/drivers/acpi/tables.c hv/c/drivers/acpi/fadt.c hv/c/drivers/acpi/madt.c hv/c/drivers/acpi/mcfg.c hv/c/drivers/acpi/iommu.c hv/c/drivers/acpi/setup.c hv/c/drivers/acpi/summary.c tests/unit/host/acpi_host.c */
/* FADT and \_S5, MCFG, DMAR and IVRS on QEMU's tables and damaged copies. */
#include <stdlib.h>
#include <string.h>

#include "acpi_host.h"
#include "shim.h"

static bool logged(const char *s)
{
    if (strstr(shim_log(), s))
        return true;
    fprintf(stderr, "expected in the log: '%s'; the log:\n%s", s, shim_log());
    return false;
}

static void test_fadt(void)
{
    for (unsigned k = 0; k < acpi_host_nr_machines; k++) {
        bool pc = !strcmp(acpi_host_machines[k], "pc-smp4");
        acpi_host_load(acpi_host_machines[k]);
        acpi_host_boot();
        const struct acpi_fadt_info *f = &acpi_fadt;
        CHECK(f->present);
        /* QEMU's PIIX4 and ICH9 PM blocks both sit at 0x600 (piix4 PM_IO_BASE,
         * ICH9_PMIO_BASE): event block at +0, control at +4, timer at +8. */
        CHECK_EQ(f->pm1a_evt, 0x600);
        CHECK_EQ(f->pm1a_cnt, 0x604);
        CHECK_EQ(f->pm1b_cnt, 0);
        CHECK_EQ(f->pm_tmr, 0x608);
        CHECK(!f->pm_tmr_32bit);
        CHECK_EQ(f->sci_int, 9);
        CHECK_EQ(f->smi_cmd, 0xB2);
        CHECK_EQ(f->acpi_enable, pc ? 0xF1 : 0x02);
        CHECK(!f->hw_reduced);
        CHECK_EQ(f->dsdt, acpi_host_addr("DSDT"));
        CHECK(f->s5_valid);
        CHECK_EQ(f->slp_typ_s5a, 0);
        CHECK_EQ(f->slp_typ_s5b, 0);
        /* The pc FADT is revision 1 (116 bytes): no reset register. */
        CHECK_EQ(f->reset_supported, !pc);
        if (!pc) {
            CHECK_EQ(f->reset_reg.space_id, 1);
            CHECK_EQ(f->reset_reg.address, 0xCF9);
            CHECK_EQ(f->reset_value, 0xF);
        }
        CHECK(logged("ACPI: PM timer: port 0x608, 24-bit"));
        CHECK(logged(pc ? "ACPI: reset register: none" : "ACPI: reset register: I/O port 0xcf9, value 0xf"));
        CHECK(logged("ACPI: S5 power-off: SLP_TYP 0/0, PM1a control port 0x604"));
    }
}

static size_t find(const uint8_t *p, size_t len, const char *what)
{
    for (size_t i = 0; i + strlen(what) <= len; i++)
        if (!memcmp(p + i, what, strlen(what)))
            return i;
    return 0;
}

static void test_s5_in_dsdt(void)
{
    acpi_host_load("q35-smp8");
    paddr_t dsdt = acpi_host_addr("DSDT");
    uint32_t len;
    memcpy(&len, acpi_host_mem(dsdt + 4, 4), 4);
    size_t s5 = find(acpi_host_mem(dsdt, len), len, "_S5_");
    CHECK(s5 > 36);

    /* Name(_S5, Package(4) {...}): "_S5_" PackageOp PkgLength NumElements,
     * then the elements, 7 bytes after the name. */
    static const uint8_t five_six[] = { 0x0A, 5, 0x0A, 6 };
    memcpy(acpi_host_mem(dsdt + s5 + 7, 4), five_six, 4);
    acpi_host_fix_checksum(dsdt);
    acpi_host_boot();
    CHECK(acpi_fadt.s5_valid);
    CHECK_EQ(acpi_fadt.slp_typ_s5a, 5);
    CHECK_EQ(acpi_fadt.slp_typ_s5b, 6);

    /* SLP_TYP is three bits: 9 would write SLP_EN and beyond. */
    acpi_host_poke(dsdt, s5 + 8, 9, 1, true);
    acpi_host_boot();
    CHECK(!acpi_fadt.s5_valid);
    CHECK(logged("ACPI: S5 power-off: unsupported"));
    acpi_host_restore();

    /* No \_S5 at all. */
    acpi_host_poke(dsdt, s5 + 2, 'X', 1, true);
    acpi_host_boot();
    CHECK(!acpi_fadt.s5_valid);
}

/* acpi_find_s5 on every prefix of some AML, each in a buffer of exactly that
 * size so ASan catches a read past the end. */
static void check_s5(const uint8_t *aml, size_t len, bool valid, uint8_t a, uint8_t b)
{
    for (size_t n = 0; n <= len; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        memcpy(copy, aml, n);
        uint8_t ta = 0xEE, tb = 0xEE;
        bool ok = acpi_find_s5(copy, n, &ta, &tb);
        if (n == len) {
            CHECK_EQ(ok, valid);
            if (valid) {
                CHECK_EQ(ta, a);
                CHECK_EQ(tb, b);
            }
        }
        free(copy);
    }
}

static void test_find_s5(void)
{
    static const uint8_t bytes[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0A, 0x05, 0x0A, 0x07, 0, 0 };
    static const uint8_t rooted[] = { 0x10, 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x01, 0x00, 0, 0 };
    static const uint8_t words[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x0A, 0x02, 0x0B, 0x03, 0x00, 0x0C, 0x02, 0, 0, 0 };
    static const uint8_t wide[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x0A, 0x02, 0x0B, 0x03, 0x01, 0x0C, 0x02, 0, 0, 0 };
    static const uint8_t only_a[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x03, 0x01, 0x0A, 0x03, 0xFF };
    static const uint8_t no_name_op[] = { 0x09, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0, 0 };
    static const uint8_t method[] = { 0x08, '_', 'S', '5', '_', 0x14, 0x06, 0x04, 0, 0, 0, 0, 0 };
    static const uint8_t not_int[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x0D, 'a', 0, 0, 0 };
    /* A 2-byte PkgLength (lead byte bits 7:6 = 1). */
    static const uint8_t long_pkg[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x46, 0x00, 0x04, 0x0A, 0x02, 0x00, 0, 0 };

    check_s5(bytes, sizeof(bytes), true, 5, 7);
    check_s5(rooted, sizeof(rooted), true, 1, 0);
    check_s5(words, sizeof(words), true, 3, 2);
    check_s5(wide, sizeof(wide), false, 0, 0);
    check_s5(only_a, sizeof(only_a), true, 3, 0);
    check_s5(no_name_op, sizeof(no_name_op), false, 0, 0);
    check_s5(method, sizeof(method), false, 0, 0);
    check_s5(not_int, sizeof(not_int), false, 0, 0);
    check_s5(long_pkg, sizeof(long_pkg), true, 2, 0);
}

static void test_fadt_damage(void)
{
    static struct acpi_tb tb;
    struct acpi_fadt_info f;

    /* Shorter than the ACPI 1.0 FADT: not parsed. */
    acpi_tb_init(&tb, "FACP", 1, 115 - 36);
    struct acpi_header *h = acpi_tb_finish(&tb);
    CHECK(!acpi_parse_fadt(h, &f));
    free(h);

    /* 116 bytes and nothing set: present, no ports, no reset. */
    acpi_tb_init(&tb, "FACP", 1, 116 - 36);
    h = acpi_tb_finish(&tb);
    CHECK(acpi_parse_fadt(h, &f));
    CHECK(f.present && !f.pm_tmr && !f.reset_supported && !f.dsdt);
    free(h);

    /* The extended (GAS) blocks win over the 32-bit ones when in I/O space;
     * a memory-space GAS is ignored for port access. */
    acpi_host_load("q35-smp8");
    paddr_t facp = acpi_host_addr("FACP");
    acpi_host_poke(facp, 172, 1, 1, false);           /* X_PM1a_CNT: I/O */
    acpi_host_poke(facp, 172 + 4, 0x1804, 8, false);
    acpi_host_poke(facp, 208, 0, 1, false);           /* X_PM_TMR: memory */
    acpi_host_poke(facp, 208 + 4, 0xFED00000, 8, false);
    acpi_host_poke(facp, 112, 0x84a5 | 0x100, 4, true); /* TMR_VAL_EXT */
    acpi_host_boot();
    CHECK_EQ(acpi_fadt.pm1a_cnt, 0x1804);
    CHECK_EQ(acpi_fadt.pm_tmr, 0x608);
    CHECK(acpi_fadt.pm_tmr_32bit);
    CHECK(logged("ACPI: PM timer: port 0x608, 32-bit"));
    acpi_host_restore();

    /* A PM timer block length other than 4 means no timer (ACPI 6.4 5.2.9). */
    acpi_host_poke(facp, 91, 3, 1, true);
    acpi_host_boot();
    CHECK_EQ(acpi_fadt.pm_tmr, 0);
    CHECK(logged("ACPI: PM timer: none"));
}

static void test_mcfg(void)
{
    static struct acpi_tb tb;
    static struct acpi_mcfg_info m;

    acpi_host_load("q35-smp8");
    acpi_host_boot();
    CHECK_EQ(acpi_mcfg.nr, 1);
    CHECK_EQ(acpi_mcfg.seg[0].base, 0xB0000000);
    CHECK_EQ(acpi_mcfg.seg[0].segment, 0);
    CHECK_EQ(acpi_mcfg.seg[0].bus_start, 0);
    CHECK_EQ(acpi_mcfg.seg[0].bus_end, 255);
    CHECK(logged("ACPI: MCFG: 1 segment (0000 buses 00-ff at 0xb0000000)"));

    /* Start bus after end bus: the entry is dropped. */
    paddr_t mcfg = acpi_host_addr("MCFG");
    CHECK_EQ(acpi_host_mem(mcfg + 4, 1)[0], 44 + 16);
    acpi_host_poke(mcfg, 44 + 10, 0x80, 1, false);
    acpi_host_poke(mcfg, 44 + 11, 0x7F, 1, true);
    acpi_host_boot();
    CHECK_EQ(acpi_mcfg.nr, 0);
    CHECK(logged("MCFG entry segment 0 buses 128-127 at 0xb0000000 is invalid"));
    CHECK(logged("ACPI: MCFG: none"));
    acpi_host_restore();

    /* A base that is not 1 MiB aligned. */
    acpi_host_poke(mcfg, 44, 0xB0001000, 8, true);
    acpi_host_boot();
    CHECK_EQ(acpi_mcfg.nr, 0);
    acpi_host_restore();

    acpi_host_load("pc-smp4");
    acpi_host_boot();
    CHECK_EQ(acpi_mcfg.nr, 0);
    CHECK(logged("ACPI: MCFG: none"));

    /* Synthetic: 18 entries, one overlapping another, a partial one at the end. */
    acpi_tb_init(&tb, "MCFG", 1, 8);
    for (unsigned i = 0; i < 18; i++) {
        uint8_t *e = acpi_tb_put(&tb, 16);
        acpi_host_put(e, 0xC0000000ull + MiB(256) * i, 8);
        acpi_host_put(e + 8, i == 3 ? 2 : i, 2); /* segment 2 twice */
        e[10] = i == 3 ? 0x80 : 0;
        e[11] = 0xFF;
    }
    acpi_tb_put(&tb, 8);
    struct acpi_header *h = acpi_tb_finish(&tb);
    shim_log_clear();
    CHECK(acpi_parse_mcfg(h, &m));
    CHECK_EQ(m.nr, ACPI_MAX_MCFG);
    CHECK(logged("leaves a partial entry"));
    CHECK(logged("segment 2 buses 128-255 at 0xf0000000 is invalid or overlaps another"));
    CHECK(logged("more than 16 MCFG entries"));
    CHECK_EQ(m.seg[3].segment, 4);
    free(h);

    /* Too short, wrong signature. */
    acpi_tb_init(&tb, "MCFG", 1, 4);
    h = acpi_tb_finish(&tb);
    CHECK(!acpi_parse_mcfg(h, &m));
    free(h);
}

static void test_dmar(void)
{
    acpi_host_load("q35-intel-iommu");
    acpi_host_boot();
    CHECK(acpi_iommu.dmar && !acpi_iommu.ivrs);
    CHECK_EQ(acpi_iommu.dmar_haw, 39);
    CHECK_EQ(acpi_iommu.nr_drhd, 1);
    CHECK(logged("ACPI: IOMMU: DMAR 1 unit (39-bit DMA)"));

    /* QEMU's DRHD is the first structure (offset 48), 0x48 bytes long. */
    paddr_t dmar = acpi_host_addr("DMAR");
    CHECK_EQ(acpi_host_mem(dmar + 48, 4)[0], 0);
    CHECK_EQ(acpi_host_mem(dmar + 48, 4)[2], 0x48);
    acpi_host_poke(dmar, 48 + 2, 8, 2, true); /* shorter than a DRHD */
    acpi_host_boot();
    CHECK(acpi_iommu.dmar);
    CHECK_EQ(acpi_iommu.nr_drhd, 0);
    CHECK(logged("DMAR structure at offset 48 has a bad length 8"));
    acpi_host_poke(dmar, 48 + 2, 0x100, 2, true); /* past the end */
    acpi_host_boot();
    CHECK_EQ(acpi_iommu.nr_drhd, 0);
    CHECK(logged("bad length 256"));
    acpi_host_poke(dmar, 48 + 2, 0, 2, true);
    acpi_host_boot();
    CHECK(logged("bad length 0"));
    acpi_host_restore();

    /* A DMAR shorter than its fixed part. */
    acpi_host_poke(dmar, 4, 40, 4, true);
    acpi_host_boot();
    CHECK(!acpi_iommu.dmar);
    CHECK(logged("DMAR (40 bytes) is not a usable DMAR"));
    CHECK(logged("ACPI: IOMMU: none"));
}

static void ivhd(struct acpi_tb *t, uint8_t type, uint16_t len)
{
    uint8_t *b = acpi_tb_put(t, len);
    b[0] = type;
    acpi_host_put(b + 2, len, 2);
}

static void test_ivrs(void)
{
    static struct acpi_tb tb;
    static struct acpi_iommu_info io;

    acpi_host_load("q35-amd-iommu");
    acpi_host_boot();
    CHECK(acpi_iommu.ivrs && !acpi_iommu.dmar);
    CHECK_EQ(acpi_iommu.nr_ivhd, 1);
    CHECK(logged("ACPI: IOMMU: IVRS 1 unit"));

    /* QEMU's IVHD (type 10h) at offset 48 running past the end. */
    paddr_t ivrs = acpi_host_addr("IVRS");
    CHECK_EQ(acpi_host_mem(ivrs + 48, 4)[0], 0x10);
    CHECK_EQ(acpi_host_mem(ivrs + 48, 4)[2], 0x3c);
    acpi_host_poke(ivrs, 48 + 2, 0x3d, 2, true);
    acpi_host_boot();
    CHECK(acpi_iommu.ivrs);
    CHECK_EQ(acpi_iommu.nr_ivhd, 0);
    CHECK(logged("IVRS block type 0x10 at offset 48 has a bad length 61"));
    acpi_host_restore();

    /* Two IOMMUs, each described by a 10h and an 11h block, plus an IVMD. */
    acpi_tb_init(&tb, "IVRS", 2, 12);
    ivhd(&tb, 0x10, 24);
    ivhd(&tb, 0x11, 40);
    ivhd(&tb, 0x20, 32);
    ivhd(&tb, 0x10, 28);
    ivhd(&tb, 0x11, 44);
    struct acpi_header *h = acpi_tb_finish(&tb);
    shim_log_clear();
    CHECK(acpi_parse_ivrs(h, &io));
    CHECK_EQ(io.nr_ivhd, 2);
    CHECK_EQ(shim_log_warnings(), 0);
    free(h);

    /* Type 40h wins over 10h; a truncated 40h block stops the walk. */
    acpi_tb_init(&tb, "IVRS", 2, 12);
    ivhd(&tb, 0x10, 24);
    ivhd(&tb, 0x40, 40);
    ivhd(&tb, 0x40, 24);
    h = acpi_tb_finish(&tb);
    shim_log_clear();
    CHECK(acpi_parse_ivrs(h, &io));
    CHECK_EQ(io.nr_ivhd, 1);
    CHECK(logged("IVRS block type 0x40 at offset 112 has a bad length 24"));
    free(h);

    /* Two bytes left at the end: too short for a block header. */
    acpi_tb_init(&tb, "IVRS", 2, 12);
    ivhd(&tb, 0x10, 24);
    acpi_tb_put(&tb, 2)[0] = 0x10;
    h = acpi_tb_finish(&tb);
    shim_log_clear();
    CHECK(acpi_parse_ivrs(h, &io));
    CHECK_EQ(io.nr_ivhd, 1);
    CHECK(logged("at offset 72 has a bad length 0"));
    free(h);
}

void run_tests(void)
{
    test_fadt();
    test_s5_in_dsdt();
    test_find_s5();
    test_fadt_damage();
    test_mcfg();
    test_dmar();
    test_ivrs();
    acpi_host_reset();
}
