/* sources: hv/c/drivers/acpi/tables.c hv/c/drivers/acpi/fadt.c hv/c/drivers/acpi/madt.c hv/c/drivers/acpi/mcfg.c hv/c/drivers/acpi/iommu.c hv/c/drivers/acpi/setup.c hv/c/drivers/acpi/summary.c tests/unit/host/acpi_host.c */
/* RSDP discovery, the root tables and the table directory, on QEMU's real
 * tables and on corrupted copies of them. */
#include <stdlib.h>
#include <string.h>

#include "acpi_host.h"
#include "shim.h"

#define XSDT_ADDR 0x40000000ull

static bool is_table(const struct acpi_host_area *a)
{
    return strcmp(a->name, "bda") && strcmp(a->name, "ebda") && strcmp(a->name, "rsdp");
}

static unsigned dumped_tables(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < acpi_host_nr_areas; i++)
        n += is_table(&acpi_host_areas[i]);
    return n;
}

static bool logged(const char *s)
{
    if (strstr(shim_log(), s))
        return true;
    fprintf(stderr, "expected in the log: '%s'; the log:\n%s", s, shim_log());
    return false;
}

/* The log must name the table and its address. */
static bool logged_at(const char *fmt, paddr_t addr)
{
    char s[160];
    snprintf(s, sizeof(s), fmt, (unsigned long)addr);
    return logged(s);
}

static void test_real_tables(void)
{
    for (unsigned m = 0; m < acpi_host_nr_machines; m++) {
        acpi_host_load(acpi_host_machines[m]);
        /* With an XSDT, the RSDT (dumped for the tests below) goes unused. */
        bool xsdt = acpi_host_has("XSDT");
        unsigned n = acpi_host_boot();
        CHECK_EQ(n, dumped_tables() - xsdt);
        CHECK_EQ(shim_log_warnings(), 0);
        /* Under UEFI the RSDP comes from the loader, not a scan. */
        paddr_t rsdp = acpi_host_addr("rsdp");
        CHECK_EQ(acpi_rsdp_phys, rsdp < 0x100000 ? rsdp : 0);
        for (unsigned i = 0; i < acpi_host_nr_areas; i++) {
            const struct acpi_host_area *a = &acpi_host_areas[i];
            if (!is_table(a))
                continue;
            if (xsdt && !strcmp(a->name, "RSDT")) {
                CHECK_EQ(acpi_table("RSDT", 0), 0);
                continue;
            }
            /* "SSDT.1" is the second SSDT. */
            unsigned index = a->name[4] == '.' ? (unsigned)atoi(a->name + 5) : 0;
            CHECK_EQ(acpi_table(a->name, index), a->addr);
            const struct acpi_header *h = acpi_table_map(a->name, index);
            CHECK(h && h->length == a->length && !memcmp(h, acpi_host_mem(a->addr, a->length), a->length));
        }
        if (!xsdt)
            CHECK_EQ(acpi_table("XSDT", 0), 0);
        CHECK_EQ(acpi_table("APIC", 1), 0);
        CHECK(logged("ACPI: CPUs: "));
        CHECK(logged("ACPI: IOMMU: "));
    }
}

/* OVMF's own XSDT, damaged: Keel falls back to OVMF's RSDT. */
static void test_real_xsdt_fallback(void)
{
    acpi_host_load("q35-ovmf");
    unsigned all = dumped_tables() - 1;
    paddr_t xsdt = acpi_host_addr("XSDT");

    acpi_host_mem(xsdt, 10)[9] ^= 0xFF;
    CHECK_EQ(acpi_host_boot(), all);
    CHECK(logged_at("table XSDT at %#lx has a bad checksum, not trusted", xsdt));
    CHECK(logged("XSDT unusable, falling back to the RSDT"));
    CHECK_EQ(acpi_table("XSDT", 0), 0);
    CHECK_EQ(acpi_table("RSDT", 0), acpi_host_addr("RSDT"));
    CHECK_EQ(acpi_table("BGRT", 0), acpi_host_addr("BGRT"));
    CHECK(acpi_madt.present && acpi_fadt.s5_valid && acpi_mcfg.nr == 1);
    acpi_host_restore();

    /* The XSDT's length cut below its header. */
    acpi_host_poke(xsdt, 4, 35, 4, false);
    CHECK_EQ(acpi_host_boot(), all);
    CHECK(logged_at("table XSDT at %#lx has a bad length 35", xsdt));
    CHECK_EQ(acpi_table("RSDT", 0), acpi_host_addr("RSDT"));
    acpi_host_restore();

    /* The loader's copy of the RSDP damaged: nothing in the BIOS areas
     * under UEFI, so no ACPI, cleanly. */
    acpi_host_mem(acpi_host_addr("rsdp"), 36)[8] ^= 1;
    CHECK_EQ(acpi_host_boot(), 0);
    CHECK(logged("the loader's RSDP copy is invalid"));
}

static void test_rsdp(void)
{
    struct acpi_rsdp r;
    uint8_t copy[36];

    acpi_host_load("q35-smp8");
    paddr_t at = acpi_host_addr("rsdp");
    memcpy(copy, acpi_host_mem(at, 36), 36);

    /* A good loader copy is used as is. */
    shim_log_clear();
    CHECK(acpi_find_rsdp(copy, true, &r));
    CHECK_EQ(acpi_rsdp_phys, 0);
    CHECK_EQ(r.rsdt_address, acpi_host_addr("RSDT"));

    /* A bad loader copy: warn, then scan the BIOS areas. */
    copy[8] ^= 1;
    shim_log_clear();
    CHECK(acpi_find_rsdp(copy, true, &r));
    CHECK(logged("the loader's RSDP copy is invalid"));
    CHECK_EQ(acpi_rsdp_phys, at);

    /* The RSDP may live in the first KiB of the EBDA, which is searched first. */
    paddr_t ebda = acpi_host_addr("ebda");
    memcpy(acpi_host_mem(ebda + 0x30, 36), acpi_host_mem(at, 36), 36);
    CHECK(acpi_find_rsdp(NULL, false, &r));
    CHECK_EQ(acpi_rsdp_phys, ebda + 0x30);
    acpi_host_restore();

    /* Not on a 16-byte boundary: not found there (ACPI 6.4 5.2.5.1). */
    memmove(acpi_host_mem(at + 4, 36), acpi_host_mem(at, 36), 36);
    CHECK(!acpi_find_rsdp(NULL, false, &r));
    acpi_host_restore();

    /* A bad checksum in the only RSDP: no RSDP, cleanly. */
    acpi_host_poke(at, 8, acpi_host_mem(at, 9)[8] ^ 0x40, 1, false);
    shim_log_clear();
    CHECK(!acpi_find_rsdp(copy, true, &r));
    CHECK(logged("the loader's RSDP copy is invalid"));
    CHECK(!acpi_find_rsdp(NULL, false, &r));
    acpi_host_restore();

    /* Revision 2 with a bad extended checksum is rejected as a whole. */
    struct acpi_rsdp *p = (struct acpi_rsdp *)acpi_host_mem(at, 36);
    p->revision = 2;
    p->length = 36;
    acpi_host_fix_rsdp(at);
    CHECK(acpi_find_rsdp(NULL, false, &r));
    p->extended_checksum ^= 1;
    CHECK(!acpi_find_rsdp(NULL, false, &r));
    acpi_host_restore();

    /* The BDA's EBDA pointer aims at unmapped memory: skip it, still find the
     * RSDP in the BIOS area. */
    acpi_host_poke(0x40E, 0, 0xFFFF, 2, false); /* 0xFFFF0: its KiB crosses 1 MiB */
    CHECK(acpi_find_rsdp(NULL, false, &r));
    CHECK_EQ(acpi_rsdp_phys, at);

    /* Nothing mapped at all. */
    acpi_host_reset();
    CHECK(!acpi_find_rsdp(NULL, false, &r));
}

/* Give the RSDP revision 2 and an XSDT (at XSDT_ADDR) listing the RSDT's
 * tables with 64-bit entries, plus extra entries if asked. */
static void make_xsdt(const uint64_t *extra, unsigned nr_extra)
{
    static struct acpi_tb tb;
    paddr_t rsdt = acpi_host_addr("RSDT");
    uint32_t len;
    memcpy(&len, acpi_host_mem(rsdt + 4, 4), 4);
    const uint8_t *ents = acpi_host_mem(rsdt + 36, len - 36);

    acpi_tb_init(&tb, "XSDT", 1, 0);
    for (uint32_t off = 0; off + 4 <= len - 36; off += 4) {
        uint32_t e;
        memcpy(&e, ents + off, 4);
        acpi_host_put(acpi_tb_put(&tb, 8), e, 8);
    }
    for (unsigned i = 0; i < nr_extra; i++)
        acpi_host_put(acpi_tb_put(&tb, 8), extra[i], 8);
    struct acpi_header *h = acpi_tb_finish(&tb);
    memcpy(acpi_host_window(XSDT_ADDR, 0x10000), h, h->length);
    free(h);

    paddr_t at = acpi_host_addr("rsdp");
    struct acpi_rsdp *p = (struct acpi_rsdp *)acpi_host_mem(at, 36);
    p->revision = 2;
    p->length = 36;
    p->xsdt_address = XSDT_ADDR;
    acpi_host_fix_rsdp(at);
}

static void test_xsdt(void)
{
    acpi_host_load("q35-smp8");
    unsigned all = dumped_tables(); /* with the RSDT: replaced by the XSDT below */

    make_xsdt(NULL, 0);
    CHECK_EQ(acpi_host_boot(), all);
    CHECK_EQ(shim_log_warnings(), 0);
    CHECK_EQ(acpi_table("XSDT", 0), XSDT_ADDR);
    CHECK_EQ(acpi_table("RSDT", 0), 0);
    CHECK_EQ(acpi_table("APIC", 0), acpi_host_addr("APIC"));
    CHECK(acpi_madt.present && acpi_fadt.s5_valid);

    /* A bad XSDT checksum: fall back to the RSDT. */
    acpi_host_mem(XSDT_ADDR, 40)[36] ^= 1;
    CHECK_EQ(acpi_host_boot(), all);
    CHECK(logged_at("table XSDT at %#lx has a bad checksum", XSDT_ADDR));
    CHECK(logged("XSDT unusable, falling back to the RSDT"));
    CHECK_EQ(acpi_table("XSDT", 0), 0);
    CHECK_EQ(acpi_table("RSDT", 0), acpi_host_addr("RSDT"));
    CHECK_EQ(acpi_table("APIC", 0), acpi_host_addr("APIC"));

    /* ... and without an RSDT to fall back to, nothing (and no read of 0). */
    struct acpi_rsdp *p = (struct acpi_rsdp *)acpi_host_mem(acpi_host_addr("rsdp"), 36);
    p->rsdt_address = 0;
    acpi_host_fix_rsdp(acpi_host_addr("rsdp"));
    CHECK_EQ(acpi_host_boot(), 0);
    CHECK(logged("no usable tables"));
    CHECK(!acpi_fadt.present && !acpi_madt.present);

    /* An XSDT pointer to unmapped memory, and XSDT entries beyond it. */
    acpi_host_load("q35-smp8");
    uint64_t far[] = { 0x123456789000ull, 0xFFFFFFFFFFFFFFF0ull };
    make_xsdt(far, 2);
    CHECK_EQ(acpi_host_boot(), all);
    CHECK(logged("table at 0x123456789000 cannot be mapped"));
    CHECK(logged("table at 0xfffffffffffffff0 cannot be mapped"));
    p = (struct acpi_rsdp *)acpi_host_mem(acpi_host_addr("rsdp"), 36);
    p->xsdt_address = 0x123456789000ull;
    acpi_host_fix_rsdp(acpi_host_addr("rsdp"));
    CHECK_EQ(acpi_host_boot(), all);
    CHECK(logged("falling back to the RSDT"));
}

static void test_root_table_damage(void)
{
    acpi_host_load("q35-smp8");
    paddr_t rsdt = acpi_host_addr("RSDT");
    unsigned all = dumped_tables();

    /* RSDT with a bad checksum: no tables, a warning, no crash. */
    acpi_host_mem(rsdt, 10)[9] ^= 0x80;
    CHECK_EQ(acpi_host_boot(), 0);
    CHECK(logged_at("table RSDT at %#lx has a bad checksum, not trusted", rsdt));
    CHECK(logged("ACPI: no usable tables"));
    acpi_host_restore();

    /* The RSDP's RSDT pointer aims at another table. */
    struct acpi_rsdp *p = (struct acpi_rsdp *)acpi_host_mem(acpi_host_addr("rsdp"), 36);
    p->rsdt_address = (uint32_t)acpi_host_addr("FACP");
    acpi_host_fix_rsdp(acpi_host_addr("rsdp"));
    CHECK_EQ(acpi_host_boot(), 0);
    CHECK(logged("is 'FACP', expected 'RSDT'"));
    acpi_host_restore();

    /* QEMU's q35 RSDT: FACP, APIC, HPET, MCFG, WAET. */
    CHECK_EQ(acpi_host_mem(rsdt + 36 + 4 * 2, 4)[0], acpi_host_addr("HPET") & 0xFF);
    CHECK_EQ(acpi_host_mem(rsdt + 36 + 4 * 4, 4)[0], acpi_host_addr("WAET") & 0xFF);

    /* A table listed twice is recorded once, quietly; a null entry is skipped. */
    acpi_host_poke(rsdt, 36 + 4 * 4, acpi_host_addr("FACP"), 4, true); /* the 5th entry (WAET) */
    acpi_host_poke(rsdt, 36 + 4 * 2, 0, 4, true);                      /* the 3rd (HPET) */
    CHECK_EQ(acpi_host_boot(), all - 2);
    CHECK_EQ(shim_log_warnings(), 0);
    CHECK_EQ(acpi_table("WAET", 0), 0);
    CHECK_EQ(acpi_table("HPET", 0), 0);
    CHECK_EQ(acpi_table("FACP", 1), 0);
    acpi_host_restore();

    /* An RSDT length that cuts the last entry in half drops that entry. */
    uint32_t len;
    memcpy(&len, acpi_host_mem(rsdt + 4, 4), 4);
    acpi_host_poke(rsdt, 4, len - 2, 4, true);
    CHECK_EQ(acpi_host_boot(), all - 1);
    CHECK_EQ(acpi_table("WAET", 0), 0);
    CHECK_EQ(acpi_table("APIC", 0), acpi_host_addr("APIC"));
}

static void test_table_damage(void)
{
    acpi_host_load("q35-smp8");
    unsigned all = dumped_tables();
    paddr_t apic = acpi_host_addr("APIC"), facp = acpi_host_addr("FACP"), dsdt = acpi_host_addr("DSDT");

    /* Bad checksum: that table alone is rejected, and named. */
    acpi_host_mem(apic, 40)[38] ^= 0x10;
    CHECK_EQ(acpi_host_boot(), all - 1);
    CHECK(logged_at("table APIC at %#lx has a bad checksum, not trusted", apic));
    CHECK_EQ(shim_log_warnings(), 1);
    CHECK_EQ(acpi_table("APIC", 0), 0);
    CHECK(!acpi_madt.present);
    CHECK(acpi_fadt.present && acpi_fadt.s5_valid);
    CHECK(logged("ACPI: no MADT"));
    acpi_host_restore();

    /* A length smaller than the header: the FADT is unusable, and the DSDT,
     * reached only through it, is never looked at. */
    acpi_host_poke(facp, 4, 20, 4, false);
    CHECK_EQ(acpi_host_boot(), all - 2);
    CHECK(logged_at("table FACP at %#lx has a bad length 20, not trusted", facp));
    CHECK(!acpi_fadt.present);
    CHECK_EQ(acpi_table("DSDT", 0), 0);
    CHECK(logged("ACPI: no FADT"));
    CHECK(acpi_madt.present);
    acpi_host_restore();

    /* A length running past the mapped data (8 MiB), and an absurd one. */
    acpi_host_poke(dsdt, 4, 8u << 20, 4, false);
    CHECK_EQ(acpi_host_boot(), all - 1);
    CHECK(logged_at("table DSDT at %#lx (length 8388608) runs past mapped memory, not trusted", dsdt));
    CHECK(acpi_fadt.present && !acpi_fadt.s5_valid);
    CHECK(logged("S5 power-off: unsupported"));
    acpi_host_poke(dsdt, 4, 0xFFFFFFF0u, 4, false);
    CHECK_EQ(acpi_host_boot(), all - 1);
    CHECK(logged_at("table DSDT at %#lx has a bad length 4294967280", dsdt));
    acpi_host_restore();

    /* The FADT's DSDT pointer aims at the MADT. */
    acpi_host_poke(facp, 140, apic, 8, true); /* X_DSDT */
    CHECK_EQ(acpi_host_boot(), all - 1);
    CHECK(logged_at("table at %#lx is 'APIC', expected 'DSDT'", apic));
    CHECK(!acpi_fadt.s5_valid);
    acpi_host_restore();

    /* Two tables overlapping: the FADT grown by 4 bytes reaches into the
     * MADT, which QEMU places right after it.  Neither is trusted, nor the
     * DSDT found through the FADT. */
    CHECK_EQ(facp + 0xf4, apic);
    acpi_host_poke(facp, 4, 0xf4 + 4, 4, true);
    CHECK_EQ(acpi_host_boot(), all - 3);
    CHECK(logged("overlaps"));
    CHECK_EQ(acpi_table("FACP", 0), 0);
    CHECK_EQ(acpi_table("APIC", 0), 0);
    CHECK_EQ(acpi_table("DSDT", 0), 0);
    CHECK(!acpi_fadt.present && !acpi_madt.present);
    acpi_host_restore();

    /* The DSDT grown into the FADT after it: found only once the FADT is
     * accepted, it still takes the FADT down with it. */
    CHECK_EQ(dsdt + 0x22f1, facp);
    acpi_host_poke(dsdt, 4, 0x22f1 + 1, 4, true);
    CHECK_EQ(acpi_host_boot(), all - 2);
    CHECK(logged("DSDT"));
    CHECK(logged("overlaps FACP"));
    CHECK(!acpi_fadt.present);
}

/* More tables than the directory holds: the extra ones are reported. */
static void test_many_tables(void)
{
    enum { N = 70 };
    static struct acpi_tb tb;
    uint64_t addrs[N];

    acpi_host_load("pc-smp4");
    uint8_t *w = acpi_host_window(0x50000000, N * 64);
    for (unsigned i = 0; i < N; i++) {
        acpi_tb_init(&tb, "TEST", 1, 4);
        acpi_host_put(tb.buf + 36, i, 4);
        struct acpi_header *h = acpi_tb_finish(&tb);
        memcpy(w + i * 64, h, h->length);
        free(h);
        addrs[i] = 0x50000000 + i * 64;
    }
    make_xsdt(addrs, N);
    CHECK_EQ(acpi_host_boot(), 64);
    CHECK(logged("more than 64 tables, 12 ignored")); /* 11 TEST and the DSDT */
    CHECK(acpi_table("TEST", 0) == 0x50000000);
    /* Directory order is table order: the core tables came first. */
    CHECK(acpi_fadt.present && acpi_madt.present);
}

void run_tests(void)
{
    test_real_tables();
    test_real_xsdt_fallback();
    test_rsdp();
    test_xsdt();
    test_root_table_damage();
    test_table_damage();
    test_many_tables();
    acpi_host_reset();
}
