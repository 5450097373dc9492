/*
 * Hypercall fuzzing.  count= random hypercalls (count_vmx= instead on Intel
 * VT-x, i.e. under Bochs, where each exit costs far more; seed= for the
 * generator), made directly with VMCALL/VMMCALL so that every number
 * reaches the hypervisor:
 *  - numbers: mostly those the ABI knows (and physdev_op), also any of
 *    0..63 and a few large ones (64, 128, 1000, 0xFFFFFFFF, random);
 *  - sub-operations: mostly known ones, also random;
 *  - arguments: small and "interesting" values, domain ids (ours, the
 *    neighbour's, reserved, random), random values, and pointers: NULL, the
 *    unmapped page, memory that is not RAM, a not-present guard page,
 *    non-canonical and high-half addresses (64-bit), MMIO addresses
 *    (32-bit), and our own scratch pages filled with random bytes (mostly
 *    random, sometimes plausible) before each call.
 * Then it checks it is still healthy (hypercalls, shared info, an event
 * through its upcall) and reports the results by error code.  It must
 * survive its own calls: the verdict is its own Test result, the
 * neighbour's (heartbeat.c, which keeps working and reports progress
 * before and after) and a clean power-off of Keel (no panic).
 *
 * What it leaves out, because a correct hypervisor would end or freeze the
 * domain, or let it damage itself:
 *  - SCHEDOP_shutdown (ends it), SCHEDOP_block (nothing may ever wake it:
 *    interrupts stay off), VCPUOP_down of its only vCPU (Xen: poweroff);
 *  - SCHEDOP_poll gets a timeout already past (poll without one, or far
 *    ahead, could block for ever);
 *  - no pointer, nor any field the hypervisor keeps or writes through
 *    (memory_map buffer, setup_table frame list, runstate area), may point
 *    into its own image (code, stacks, page tables): random ones are moved
 *    to the scratch pages; frames it would replace (add_to_physmap gpfn,
 *    map_grant_ref host_addr) likewise stay out of the image;
 *  - register_vcpu_info always names a frame that is not RAM (a vcpu_info
 *    in the scratch pages would hide events from the runtime afterwards);
 *  - console_io writes at most 8 bytes (the log has a line budget).
 *  - SCHEDOP_shutdown_code records only poweroff (or gets an invalid
 *    reason): the final shutdown reports a recorded reason, and suspend,
 *    watchdog or soft_reset would leave the domain waiting for a control
 *    domain there is none of.
 * Remote shutdown, domctl and sysctl are in: they must give -EPERM.
 */
#include "keel_test.h"

#define SCRATCH_SIZE (64 * 1024)
#define MS 1000000ULL

static uint8_t scratch[SCRATCH_SIZE + PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t *guard; /* the page after the scratch area: not present */
static uint16_t peer;
static uint64_t unpop; /* guest-physical frames with no RAM behind them */
static uint64_t ram_end;

/* --- Random numbers (xorshift64*) ----------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1DULL;
}

static unsigned below(unsigned n)
{
    return (unsigned)(rnd() % n);
}

/* --- Arguments ------------------------------------------------------------ */

static bool in_image(uint64_t v)
{
    return v >= (uintptr_t)__image_start && v < (uintptr_t)__image_end;
}

static bool in_scratch(uint64_t v)
{
    return v >= (uintptr_t)scratch && v < (uintptr_t)scratch + SCRATCH_SIZE;
}

/* Whether a structure of `size` bytes at v lies in the scratch area. */
static bool fits(uint64_t v, size_t size)
{
    return in_scratch(v) && v + size <= (uintptr_t)scratch + SCRATCH_SIZE;
}

/* A pointer to somewhere in the first half of the scratch area (batches of
 * up to 512 grant operations, 16 KiB, stay inside). */
static unsigned long scratch_ptr(void)
{
    unsigned off = below(SCRATCH_SIZE / 2);
    if (below(4))
        off &= ~7u;
    return (uintptr_t)scratch + off;
}

static unsigned long rand_ptr(void)
{
    switch (below(12)) {
    case 0:
        return 0;
    case 1:
        return (uintptr_t)unmapped_page + below(PAGE_SIZE);
    case 2:
        return (unsigned long)unpop + below(16 * PAGE_SIZE);
    case 3:
        return (uintptr_t)guard + below(PAGE_SIZE);
    case 4:
        return (uintptr_t)guard - 1 - below(8); /* runs into the guard page */
#if defined(__x86_64__)
    case 5:
        return 0x0000800000000000UL + (rnd() & 0x7FFFFFFFFFFFUL); /* non-canonical */
    case 6:
        return 0xFFFF800000000000UL | rnd(); /* high half: no guest mapping */
#else
    case 5:
        return 0xFEE00000UL + below(PAGE_SIZE); /* the local APIC's MMIO page */
    case 6:
        return 0xFFFFF000UL + below(PAGE_SIZE);
#endif
    case 7:
        return (unsigned long)rnd();
    default:
        return scratch_ptr();
    }
}

static unsigned long rand_domid(void)
{
    static const unsigned long ids[] = { DOMID_SELF, DOMID_IO, DOMID_XEN, DOMID_INVALID, DOMID_IDLE, 0, 0x7FEF, 0xFFFF };
    switch (below(4)) {
    case 0:
        return hypervisor.domid;
    case 1:
        return peer;
    case 2:
        return ids[below(ARRAY_SIZE(ids))];
    default:
        return rnd() & 0xFFFF;
    }
}

static unsigned long rand_arg(void)
{
    static const unsigned long interesting[] = {
        0, 1, 2, 3, 7, 8, 0x10, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF, 0x8000, 0xFFFF, 0x10000,
        0x7FFFFFFF, 0x80000000UL, 0xFFFFFFFFUL, PAGE_SIZE, PAGE_SIZE - 1, (unsigned long)-1L, (unsigned long)-4096L,
    };
    switch (below(8)) {
    case 0:
        return below(9);
    case 1:
        return interesting[below(ARRAY_SIZE(interesting))];
    case 2:
        return rand_domid();
    case 3:
    case 4:
        return rand_ptr();
    case 5:
        return (uint32_t)rnd();
    default:
        return (unsigned long)rnd();
    }
}

/* Random contents at p (in the scratch area): mostly random bytes, now and
 * then mostly zeroes with a few plausible fields. */
static void fill(unsigned long p, unsigned bytes)
{
    uint8_t *b = (uint8_t *)p;
    if (!in_scratch(p))
        return;
    if (p + bytes > (uintptr_t)scratch + SCRATCH_SIZE)
        bytes = (unsigned)((uintptr_t)scratch + SCRATCH_SIZE - p);
    if (below(4)) {
        unsigned i = 0;
        for (; i + 8 <= bytes; i += 8) {
            uint64_t v = rnd();
            memcpy(b + i, &v, 8);
        }
        for (; i < bytes; i++)
            b[i] = (uint8_t)rnd();
        return;
    }
    memset(b, 0, bytes);
    for (unsigned i = 0; i + 8 <= bytes && i < 64; i += 8) {
        unsigned long v = below(3) ? below(9) : rand_arg();
        memcpy(b + i, &v, sizeof(v));
    }
    if (below(2) && bytes >= 2) {
        uint16_t self = DOMID_SELF;
        memcpy(b, &self, 2);
    }
}

/* Whether the hypervisor cannot read all of [p, p + size): some page of it
 * is not present (the unmapped and guard pages), not RAM, or not mapped. */
static bool faults(unsigned long p, size_t size)
{
    for (uint64_t a = p & ~(uint64_t)(PAGE_SIZE - 1); a < (uint64_t)p + size; a += PAGE_SIZE) {
        if (a == (uintptr_t)unmapped_page || a == (uintptr_t)guard || a >= ram_end)
            return true;
    }
    return false;
}

/* A value the hypervisor may dereference must not lead into our image. */
static unsigned long safe(unsigned long v)
{
    return in_image(v) && !in_scratch(v) ? scratch_ptr() : v;
}

static uint64_t safe_gfn(uint64_t gfn)
{
    uint64_t lo = (uintptr_t)__image_start / PAGE_SIZE, hi = ((uintptr_t)__image_end + PAGE_SIZE - 1) / PAGE_SIZE;
    return gfn >= lo && gfn < hi ? ram_end / PAGE_SIZE + below(64) : gfn;
}

/* --- One call --------------------------------------------------------------- */

struct call {
    unsigned long nr, a[5];
};

static const unsigned long known_numbers[] = { 12, 15, 17, 18, 20, 24, 29, 32, 33, 34, 35, 36 };

static unsigned long pick_subop(unsigned long nr)
{
    if (below(10) < 7) {
        unsigned n = 0, k;
        for (k = 0; k < ABI_NR_SUBOPS; k++)
            n += abi_all_subops[k].hypercall == nr;
        if (n) {
            unsigned want = below(n);
            for (k = 0; k < ABI_NR_SUBOPS; k++)
                if (abi_all_subops[k].hypercall == nr && want-- == 0)
                    return abi_all_subops[k].number;
        }
    }
    return below(2) ? below(40) : rand_arg();
}

/* Returns false for a call left out (see the top of the file). */
static bool make_call(struct call *c)
{
    unsigned r = below(100);
    if (r < 80)
        c->nr = known_numbers[below(ARRAY_SIZE(known_numbers))];
    else if (r < 95)
        c->nr = below(64);
    else {
        static const unsigned long big[] = { 64, 127, 128, 1000, 0xFFFFFFFFUL };
        c->nr = below(2) ? big[below(ARRAY_SIZE(big))] : (unsigned long)rnd();
    }
    for (unsigned i = 0; i < 5; i++)
        c->a[i] = rand_arg();
    c->a[0] = pick_subop(c->nr);
    uint32_t cmd = (uint32_t)c->a[0];

    /* The argument layouts: (cmd, arg) for most; these differ. */
    switch (c->nr) {
    case __HYPERVISOR_vcpu_op:
        c->a[1] = below(4) ? below(3) : rand_arg(); /* vcpuid */
        c->a[2] = rand_ptr();
        break;
    case __HYPERVISOR_grant_table_op:
        c->a[1] = rand_ptr();
        c->a[2] = below(10) ? below(5) : below(600); /* count */
        break;
    case __HYPERVISOR_console_io:
        c->a[1] = below(9); /* count: the log's line budget */
        c->a[2] = rand_ptr();
        break;
    case __HYPERVISOR_set_timer_op:
        break;
    default:
        c->a[1] = rand_ptr();
    }
    for (unsigned i = 0; i < 5; i++)
        c->a[i] = safe(c->a[i]);

    /* Fill what the pointers show with random contents. */
    unsigned long p = c->nr == __HYPERVISOR_vcpu_op || c->nr == __HYPERVISOR_console_io ? c->a[2] : c->a[1];
    unsigned span = c->nr == __HYPERVISOR_grant_table_op ? 32 * (unsigned)(c->a[2] < 512 ? c->a[2] + 1 : 512) : 256;
    fill(p, span);
    if (c->nr == __HYPERVISOR_console_io && fits(p, 9))
        for (unsigned i = 0; i < 9; i++)
            ((uint8_t *)p)[i] = (uint8_t)(' ' + below(95)); /* printable, no newline */

    /* The operations whose structure says what the hypervisor keeps,
     * writes through, replaces or waits for: their structure must be one
     * we control (in the scratch area) or one it cannot read at all. */
    size_t need = 0;
    if (c->nr == __HYPERVISOR_sched_op && (cmd == SCHEDOP_poll || cmd == SCHEDOP_shutdown_code))
        need = sizeof(struct sched_poll);
    else if (c->nr == __HYPERVISOR_vcpu_op &&
             (cmd == VCPUOP_register_vcpu_info || cmd == VCPUOP_register_runstate_memory_area))
        need = sizeof(struct vcpu_register_vcpu_info);
    else if (c->nr == __HYPERVISOR_memory_op && (cmd == XENMEM_add_to_physmap || cmd == XENMEM_memory_map))
        need = sizeof(struct xen_add_to_physmap);
    else if (c->nr == __HYPERVISOR_grant_table_op && (cmd == GNTTABOP_map_grant_ref || cmd == GNTTABOP_setup_table))
        need = sizeof(struct gnttab_map_grant_ref) * (c->a[2] < 512 ? c->a[2] : 512);
    if (need && !fits(p, need) && !faults(p, need)) {
        p = scratch_ptr();
        if (c->nr == __HYPERVISOR_vcpu_op)
            c->a[2] = p;
        else
            c->a[1] = p;
        fill(p, span);
    }

    /* Exclusions and nested pointers (for the structures that lie in the
     * scratch area; one that runs into the guard page faults in the
     * hypervisor before anything is used). */
    bool s;
    switch (c->nr) {
    case __HYPERVISOR_sched_op:
        if (cmd == SCHEDOP_shutdown || cmd == SCHEDOP_block)
            return false;
        if (cmd == SCHEDOP_shutdown_code && fits(p, sizeof(struct sched_shutdown))) {
            /* Only poweroff or invalid reasons: a recorded suspend, watchdog
             * or soft_reset would make the final shutdown keep the domain
             * (for a control domain that does not exist here). */
            struct sched_shutdown *sd = (void *)p;
            if (sd->reason != SHUTDOWN_poweroff && sd->reason <= SHUTDOWN_MAX)
                sd->reason = below(2) ? SHUTDOWN_poweroff : SHUTDOWN_MAX + 1 + below(1000);
        }
        s = fits(p, sizeof(struct sched_poll));
        if (cmd == SCHEDOP_poll && s) {
            struct sched_poll *sp = (void *)p;
            sp->timeout = 1 + below(1 << 20); /* ns after boot: long past */
        }
        break;
    case __HYPERVISOR_vcpu_op:
        if (cmd == VCPUOP_down && (uint32_t)c->a[1] == 0)
            return false;
        if (cmd == VCPUOP_register_runstate_memory_area && fits(p, sizeof(struct vcpu_register_runstate_memory_area)))
            ((struct vcpu_register_runstate_memory_area *)p)->addr = safe(rand_ptr());
        s = fits(p, sizeof(struct vcpu_register_vcpu_info));
        if (cmd == VCPUOP_register_vcpu_info && s)
            ((struct vcpu_register_vcpu_info *)p)->mfn = below(2) ? unpop / PAGE_SIZE + below(16) : (rnd() | (1ULL << 40));

        break;
    case __HYPERVISOR_memory_op:
        if (cmd == XENMEM_add_to_physmap && fits(p, sizeof(struct xen_add_to_physmap))) {
            struct xen_add_to_physmap *x = (void *)p;
            x->gpfn = (unsigned long)safe_gfn(below(2) ? x->gpfn : x->gpfn % (ram_end / PAGE_SIZE + 4096));
        }
        if (cmd == XENMEM_memory_map && fits(p, sizeof(struct xen_memory_map)))
            ((struct xen_memory_map *)p)->buffer = (void *)safe(rand_ptr());
        break;
    case __HYPERVISOR_grant_table_op: {
        unsigned n = (unsigned)c->a[2] < 512 ? (unsigned)c->a[2] : 512;
        s = in_scratch(p);
        for (unsigned i = 0; s && i < n; i++) {
            if (cmd == GNTTABOP_map_grant_ref && p + (i + 1) * sizeof(struct gnttab_map_grant_ref) <= (uintptr_t)scratch + SCRATCH_SIZE) {
                struct gnttab_map_grant_ref *m = (struct gnttab_map_grant_ref *)p + i;
                m->host_addr = safe_gfn(m->host_addr / PAGE_SIZE) * PAGE_SIZE + (m->host_addr & (PAGE_SIZE - 1));
            }
            if (cmd == GNTTABOP_setup_table && p + (i + 1) * sizeof(struct gnttab_setup_table) <= (uintptr_t)scratch + SCRATCH_SIZE) {
                struct gnttab_setup_table *t = (struct gnttab_setup_table *)p + i;
                t->frame_list = (void *)safe(rand_ptr());
            }
        }
        break;
    }
    default:
        break;
    }
    return true;
}

/* --- Results ---------------------------------------------------------------- */

static const struct {
    long rc;
    const char *name;
} codes[] = {
    { 0, "0" }, { -EPERM, "EPERM" }, { -ENOENT, "ENOENT" }, { -ESRCH, "ESRCH" }, { -EFAULT, "EFAULT" },
    { -EBUSY, "EBUSY" }, { -EEXIST, "EEXIST" }, { -EINVAL, "EINVAL" }, { -ENOSPC, "ENOSPC" }, { -ENOSYS, "ENOSYS" },
    { -EOPNOTSUPP, "EOPNOTSUPP" }, { -ETIME, "ETIME" }, { -ENOMEM, "ENOMEM" },
};
static unsigned long hist[ARRAY_SIZE(codes) + 2]; /* + positive, + other negative */
static uint64_t cycles[64], calls[64];

static void count_rc(long rc)
{
    for (unsigned i = 0; i < ARRAY_SIZE(codes); i++)
        if (rc == codes[i].rc) {
            hist[i]++;
            return;
        }
    hist[ARRAY_SIZE(codes) + (rc < 0)]++;
}

/* --- After the storm -------------------------------------------------------- */

static volatile unsigned ipi_hits;

static void on_ipi(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
    ipi_hits++;
}

static void health_check(void)
{
    hypercall_set_mode(HYPERCALL_PAGE);
    report(HYPERVISOR_xen_version(XENVER_version, NULL) == (long)hypervisor.version, "xen_version still answers");
    /* Undo what the calls may have set up. */
    HYPERVISOR_set_timer_op(0);
    HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL);
    unsigned closed = 0;
    for (uint32_t p = 1; p < EVTCHN_NR_PORTS; p++)
        closed += evtchn_close(p) == 0;
    printf("fuzz: closed %u event channels it had opened\n", closed);
    long rc = evtchn_init(0xF0);
    report(rc == 0, "shared info and the callback vector set up again: %ld", rc);
    struct vcpu_time_info t;
    report(pvclock_snapshot(&t) && t.tsc_to_system_mul && !(t.version & 1), "pvclock valid");
    uint32_t port;
    rc = evtchn_bind_ipi(0, &port);
    evtchn_bind_handler(port, on_ipi, NULL);
    long rc2 = evtchn_send(port);
    sti();
    uint64_t end = pvclock_ns() + 5000 * MS;
    while (!ipi_hits && pvclock_ns() < end)
        cpu_relax();
    report(rc == 0 && rc2 == 0 && ipi_hits == 1, "an event through the upcall still works");
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    /* Everything from the command line first: the calls may overwrite low
     * memory, where the start info lives. */
    unsigned long count = (unsigned long)cmdline_ull(hypervisor.intel ? "count_vmx" : "count", 100000);
    uint64_t seed = cmdline_ull("seed", 1);
    peer = cmdline_peer("peer", 1);
    ram_end = 0;
    for (unsigned i = 0; i < memmap_entries(); i++)
        if (memmap_entry(i)->addr + memmap_entry(i)->size > ram_end)
            ram_end = memmap_entry(i)->addr + memmap_entry(i)->size;
    unpop = (uintptr_t)alloc_unpopulated(16 * PAGE_SIZE);
    guard = scratch + SCRATCH_SIZE;
    if (!pte_modify(guard, 0, PTE_PRESENT) || !unpop)
        test_error("setting up the pointers");
    rng_state = seed * 0x9E3779B97F4A7C15ULL + 1;
    printf("fuzz: %lu calls, seed %llu, domain %u, neighbour %u\n", count, (unsigned long long)seed, hypervisor.domid,
           peer);

    hypercall_mode_direct();
    cli();
    unsigned long made = 0, skipped = 0;
    uint64_t tsc0 = rdtsc();
    while (made < count) {
        struct call c;
        if (!make_call(&c)) {
            skipped++;
            continue;
        }
        uint64_t t = rdtsc();
        long rc = keel_hypercall(c.nr, c.a[0], c.a[1], c.a[2], c.a[3], c.a[4]);
        t = rdtsc() - t;
        if (c.nr < 64) {
            cycles[c.nr] += t;
            calls[c.nr]++;
        }
        count_rc(rc);
        made++;
        if (made % 20000 == 0)
            printf("\nfuzz: %lu calls\n", made);
    }
    uint64_t tsc = rdtsc() - tsc0;
    printf("\nfuzz: %lu calls made (%lu left out) in %llu TSC cycles\n", made, skipped, (unsigned long long)tsc);
    char line[256];
    int n = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(codes); i++)
        if (hist[i])
            n += snprintf(line + n, sizeof(line) - (size_t)n, " %s %lu", codes[i].name, hist[i]);
    n += snprintf(line + n, sizeof(line) - (size_t)n, " positive %lu other %lu", hist[ARRAY_SIZE(codes)],
                  hist[ARRAY_SIZE(codes) + 1]);
    printf("fuzz: results:%s\n", line);
    for (unsigned i = 0; i < 64 && cmdline_bool("timing", false); i++)
        if (calls[i] > 100)
            printf("fuzz: hypercall %u: %llu calls, %llu TSC cycles each\n", i, (unsigned long long)calls[i],
                   (unsigned long long)(cycles[i] / calls[i]));
    report(made == count, "fuzz: %lu hypercalls made and the domain survived them", made);
    health_check();
}
