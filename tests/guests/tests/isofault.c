/*
 * Guests that misbehave, for the isolation and life-cycle tests
 * (tests/guests/test_core.py).  Each waits delay_ms= (yielding its CPU)
 * first, so its neighbours are running when it goes wrong.
 *
 *   mode=oob      write to a guest-physical address far beyond its RAM (the
 *                 page tables map 0-4 GiB): Keel must crash the domain and
 *                 log the address.  Reaching the next line is a FAILURE.
 *   mode=triple   load an empty IDT and execute UD2: #UD, #DF and then a
 *                 triple fault, which must crash this domain only.
 *   mode=restart  with on_crash=restart: crash (SCHEDOP_shutdown, crash) when
 *                 running as domain crash_domid=, else report the restart
 *                 and pass.
 */
#include "keel_test.h"

static uint64_t tsc_khz(void)
{
    struct cpuid_regs r = cpuid_count(hypervisor.base + 3, 0);
    return hypervisor.present && r.ecx ? r.ecx : 1000000;
}

static unsigned my_domid(void)
{
    struct cpuid_regs r = cpuid(hypervisor.base + 4);
    return (r.eax & XEN_HVM_CPUID_DOMID_PRESENT) ? r.ecx : ~0u;
}

static void delay(void)
{
    uint64_t ticks = tsc_khz() * cmdline_ull("delay_ms", 0), t0 = rdtsc();
    while (rdtsc() - t0 < ticks)
        sched_yield();
}

static uint64_t ram_end(void)
{
    uint64_t end = 0;
    for (unsigned i = 0; i < memmap_entries(); i++) {
        const struct hvm_memmap_table_entry *e = memmap_entry(i);
        if (e->type == XEN_HVM_MEMMAP_TYPE_RAM && e->addr + e->size > end)
            end = e->addr + e->size;
    }
    return end;
}

struct __attribute__((packed)) idt_ptr {
    uint16_t limit;
    uintptr_t base;
};

void test_main(const struct hvm_start_info *si)
{
    char mode[16] = "";
    (void)si;
    cmdline_str("mode", mode, sizeof(mode));
    if (!hypervisor.present) {
        report_skip("needs a hypervisor");
        return;
    }
    if (!strcmp(mode, "oob")) {
        uint64_t end = ram_end();
        uint64_t addr = 0x40000000ULL; /* 1 GiB: mapped by the page tables, not by Keel */
        if (end + 0x1000000 > addr)
            addr = (end + 0x2000000) & ~0xFFFFFULL;
        printf("oob: RAM ends at %#llx; writing to %#llx\n", (unsigned long long)end, (unsigned long long)addr);
        delay();
        *(volatile uint32_t *)(uintptr_t)addr = 0x4b45454c;
        report_fail("oob: the write to %#llx outside the domain's memory went through", (unsigned long long)addr);
    } else if (!strcmp(mode, "triple")) {
        static const struct idt_ptr empty = { 0, 0 };
        printf("triple: loading an empty IDT, then UD2\n");
        delay();
        cli();
        __asm__ volatile("lidt %0; ud2" : : "m"(empty));
        report_fail("triple: survived UD2 with an empty IDT");
    } else if (!strcmp(mode, "restart")) {
        unsigned me = my_domid(), victim = (unsigned)cmdline_ull("crash_domid", 1);
        if (me == victim) {
            printf("restart: crashing as domain %u\n", me);
            delay();
            sched_shutdown(SHUTDOWN_crash);
            report_fail("restart: SCHEDOP_shutdown(crash) returned");
        } else {
            report(me != ~0u, "restart: running as domain %u after domain %u crashed", me, victim);
        }
    } else {
        test_error("unknown mode '%s'", mode);
    }
}
