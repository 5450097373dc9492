/* sources: hv/c/drivers/acpi/tables.c hv/c/drivers/acpi/fadt.c hv/c/drivers/acpi/madt.c hv/c/drivers/acpi/mcfg.c hv/c/drivers/acpi/iommu.c hv/c/drivers/acpi/setup.c hv/c/drivers/acpi/summary.c tests/unit/host/acpi_host.c */
/* Firmware garbage must never make the ACPI code read outside what it
 * mapped: random damage to QEMU's tables, checksums usually repaired so the
 * parsers see it, with ASan and UBSan watching.  Deterministic (fixed seed). */
#include <string.h>

#include "acpi_host.h"
#include "shim.h"

#define ROUNDS_PER_MACHINE 1000

/* Every acpi_map() is a heap copy: keep ASan's quarantine of freed copies
 * small, or thousands of rounds hold hundreds of MiB. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=16";
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(uint32_t bound)
{
    /* xorshift64*: plenty for picking bytes to break. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (uint32_t)(((rng_state * 0x2545F4914F6CDD1Dull) >> 32) % bound);
}

/* Values that tend to hit edge cases in length and count fields. */
static uint32_t interesting(void)
{
    static const uint32_t v[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 0x7F, 0x80, 0xFF, 0x100, 0xFFFF, 0x10000, 0x7FFFFFFF,
                                  0x80000000, 0xFFFFFFFF, 36, 44, 48 };
    return rnd(2) ? v[rnd(ARRAY_SIZE(v))] : rnd(0xFFFFFFFF);
}

static void damage(const struct acpi_host_area *a)
{
    uint32_t len = a->length;
    unsigned n = 1 + rnd(4);
    for (unsigned i = 0; i < n; i++) {
        uint32_t off = rnd(len);
        size_t size = (size_t[]){ 1, 2, 4, 8 }[rnd(4)];
        if (off + size > len)
            size = 1;
        /* Half the time aim at a header field: length, revision, or the
         * first bytes of the body where counts and entry headers live. */
        if (rnd(2)) {
            static const uint32_t hot[] = { 4, 8, 36, 40, 44, 45, 48, 50, 52 };
            off = hot[rnd(ARRAY_SIZE(hot))];
            if (off + size > len)
                continue;
        }
        acpi_host_poke(a->addr, off, interesting(), size, false);
    }
}

static void check_invariants(void)
{
    CHECK(acpi_madt.nr_cpus <= ACPI_MAX_CPUS);
    CHECK(acpi_madt.nr_ioapics <= ACPI_MAX_IOAPICS);
    CHECK(acpi_madt.nr_overrides <= ACPI_MAX_OVERRIDES);
    CHECK(acpi_mcfg.nr <= ACPI_MAX_MCFG);
    CHECK(!acpi_fadt.s5_valid || (acpi_fadt.slp_typ_s5a <= 7 && acpi_fadt.slp_typ_s5b <= 7));
    for (unsigned i = 0; i < acpi_madt.nr_cpus; i++)
        for (unsigned j = 0; j < i; j++)
            if (acpi_madt.cpus[i].apic_id == acpi_madt.cpus[j].apic_id) {
                CHECK(!"duplicate APIC id accepted");
                return;
            }
}

static void fuzz(const char *machine)
{
    struct acpi_rsdp rsdp;

    acpi_host_load(machine);
    CHECK(acpi_host_rsdp(&rsdp));
    for (unsigned round = 0; round < ROUNDS_PER_MACHINE; round++) {
        const struct acpi_host_area *a = &acpi_host_areas[rnd(acpi_host_nr_areas)];
        bool low = !strcmp(a->name, "rsdp") || !strcmp(a->name, "bda") || !strcmp(a->name, "ebda");
        damage(a);
        if (!strcmp(a->name, "rsdp"))
            acpi_host_fix_rsdp(a->addr);
        else if (!low && rnd(8)) {
            uint32_t len;
            memcpy(&len, acpi_host_mem(a->addr + 4, 4), 4);
            if (acpi_host_mapped(a->addr, len))
                acpi_host_fix_checksum(a->addr);
        }
        /* The RSDP search (and its 128 KiB BIOS-area scan) only when the
         * damage is in low memory. */
        if (low)
            acpi_host_boot();
        else
            acpi_host_boot_from(&rsdp);
        check_invariants();
        acpi_host_restore();
    }
}

void run_tests(void)
{
    for (unsigned m = 0; m < acpi_host_nr_machines; m++)
        fuzz(acpi_host_machines[m]);
    acpi_host_reset();
}
