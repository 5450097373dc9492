/*
 * Control-domain tests: this kernel runs as dom0 (booted without a manifest:
 * first module = this kernel, second module = its ramdisk = the child image,
 * tests/ctlchild.c) and drives Keel's control interface (domctl 36, sysctl
 * 35) with a small PVH domain builder of its own (ELF program headers, the
 * docs/pvh-layout.md layout, hvm_start_info from the generated structs).
 *
 * Sections, each selected by a command line option (0 turns one off):
 *
 *   build=N      create, populate, copy, set context, unpause, read the
 *                child's output from the log (sysctl readconsole), check its
 *                shutdown reason (poweroff, reboot, crash in turn), destroy:
 *                N times, free memory back exactly to the baseline
 *   lifecycle=N  the same cycle N times, lean (no console check)
 *   badreq=1     bad requests get clean errors and leak nothing
 *   hotplug=N    an N-vCPU child (default 32) goes 1 -> N -> hotplug_low= (4)
 *   pinned=N     a pinned vCPU never runs elsewhere: N getvcpuinfo samples,
 *                1 ms apart, of a 2-vCPU child pinned to CPU 1, then to CPU 2
 *   poweroff=N   on_poweroff=destroy removes the domain (-ESRCH), N times
 *   exits=1      per-reason exit counters and their names
 *   child_mem=M  MiB per child (default 4)
 *
 * Each section prints "ctl: section NAME" first and "ctl: section NAME done"
 * last; its checks are PASS/FAIL lines starting with "NAME:".  The Python
 * side (tests/guests/test_control.py) reads them and cross-checks the
 * hypervisor's own log lines.
 */
#include "keel_test.h"

#define VERSION KEEL_DOMCTL_INTERFACE_VERSION
#define START_INFO 0x6000
#define MEMMAP 0x6040
#define STRINGS 0x7000
#define LOW_RAM_END 0xA0000ULL
#define HIGH_RAM 0x100000ULL
#define MAX_SEGS 8
#define NO_DOMAIN 0x7000 /* an id no test creates */

static uint64_t khz;          /* TSC ticks per millisecond */
static unsigned child_mem;    /* MiB */
static unsigned nr_cpus;

static uint64_t ms_tsc(uint64_t ms)
{
    return ms * khz;
}

/* --- Hypercall helpers ------------------------------------------------- */

static long domctl(uint32_t cmd, void *arg, uint16_t dom)
{
    struct keel_ctl_header *h = arg;
    h->interface_version = VERSION;
    h->domain = dom;
    return HYPERVISOR_domctl(cmd, arg);
}

static long sysctl(uint32_t cmd, void *arg)
{
    struct keel_ctl_header *h = arg;
    h->interface_version = KEEL_SYSCTL_INTERFACE_VERSION;
    h->domain = 0;
    return HYPERVISOR_sysctl(cmd, arg);
}

static struct keel_sysctl_physinfo physinfo(void)
{
    struct keel_sysctl_physinfo p;
    memset(&p, 0, sizeof(p));
    if (sysctl(KEEL_SYSCTL_physinfo, &p))
        test_error("sysctl physinfo failed");
    return p;
}

static uint64_t free_pages(void)
{
    return physinfo().free_pages;
}

static long getinfo(uint16_t dom, struct keel_domaininfo *out)
{
    struct keel_domctl_getdomaininfo g;
    memset(&g, 0, sizeof(g));
    long rc = domctl(KEEL_DOMCTL_getdomaininfo, &g, dom);
    if (!rc && out)
        *out = g.info;
    return rc;
}

static long vcpuinfo(uint16_t id, unsigned vcpu, struct keel_domctl_vcpuinfo *i);

static long simple(uint32_t cmd, uint16_t dom)
{
    struct keel_ctl_header h;
    return domctl(cmd, &h, dom);
}

/* The domain list as "id:name id:name ..." for before/after comparisons. */
static struct keel_domaininfo list_buf[64];

static unsigned domain_list(char *out, size_t len)
{
    struct keel_sysctl_domainlist l;
    memset(&l, 0, sizeof(l));
    l.first_domain = 0;
    l.max = ARRAY_SIZE(list_buf);
    l.buffer = (uintptr_t)list_buf;
    if (sysctl(KEEL_SYSCTL_domainlist, &l))
        test_error("sysctl domainlist failed");
    size_t n = 0;
    out[0] = '\0';
    for (unsigned i = 0; i < l.num && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%u:%s ", list_buf[i].domid, (const char *)list_buf[i].name);
    return l.num;
}

/* --- The hypervisor log (sysctl readconsole) ---------------------------- */

static uint64_t con_index = ~0ULL; /* past the end: the first read starts at the head */
static char con_chunk[4096];
static char con_line[600];
static size_t con_len;
static uint64_t con_lost;

typedef void (*line_fn)(unsigned domid, const char *text, void *arg);

/* Feed every complete new log line written by a domain ("(dN) text") to fn. */
static void con_poll(line_fn fn, void *arg)
{
    for (;;) {
        struct keel_sysctl_readconsole r;
        memset(&r, 0, sizeof(r));
        r.count = sizeof(con_chunk);
        r.index = con_index;
        r.buffer = (uintptr_t)con_chunk;
        long rc = sysctl(KEEL_SYSCTL_readconsole, &r);
        if (rc)
            test_error("sysctl readconsole: %ld", rc);
        con_lost += r.lost;
        con_index = r.index;
        for (uint32_t i = 0; i < r.count; i++) {
            char c = con_chunk[i];
            if (c != '\n') {
                if (con_len < sizeof(con_line) - 1)
                    con_line[con_len++] = c;
                continue;
            }
            con_line[con_len] = '\0';
            con_len = 0;
            /* "[   1.234567] (dN) text" */
            const char *p = strchr(con_line, ']');
            if (!p || p[1] != ' ' || p[2] != '(' || p[3] != 'd')
                continue;
            const char *end;
            unsigned long long id = parse_ull(p + 4, &end);
            if (end == p + 4 || end[0] != ')' || end[1] != ' ')
                continue;
            if (fn)
                fn((unsigned)id, end + 2, arg);
        }
        if (r.count < sizeof(con_chunk))
            return;
    }
}

static bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* Collects one domain's lines of interest. */
struct watch {
    unsigned domid;
    const char *want;       /* a line starting with this counts as found */
    bool found;
    bool result_success;
    unsigned fails;
    char last_fail[120];
};

static void watch_line(unsigned domid, const char *text, void *arg)
{
    struct watch *w = arg;
    if (domid != w->domid)
        return;
    if (w->want && starts_with(text, w->want))
        w->found = true;
    if (starts_with(text, "Test result: SUCCESS"))
        w->result_success = true;
    if (starts_with(text, "FAIL")) {
        w->fails++;
        snprintf(w->last_fail, sizeof(w->last_fail), "%s", text);
    }
}

/* Poll the log until w->want shows up (or timeout). */
static bool wait_line(struct watch *w, uint64_t timeout_ms)
{
    uint64_t t0 = rdtsc();
    for (;;) {
        con_poll(watch_line, w);
        if (w->found)
            return true;
        if (rdtsc() - t0 > ms_tsc(timeout_ms))
            return false;
        tsc_spin(khz / 4);
    }
}

/* --- The domain builder ------------------------------------------------- */

struct seg {
    uint64_t paddr, offset, filesz, memsz;
};

static struct {
    const uint8_t *image;
    size_t size;
    unsigned nr;
    struct seg seg[MAX_SEGS];
    uint32_t entry;
    uint64_t highest;
} elf;

static uint64_t rd(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    memcpy(&v, p, bytes);
    return v;
}

static bool in_image(uint64_t off, uint64_t len)
{
    return off <= elf.size && len <= elf.size - off;
}

/* The ELF program headers of the child image (ELF32 or ELF64) and its
 * XEN_ELFNOTE_PHYS32_ENTRY note. */
static bool elf_load(const uint8_t *img, size_t size)
{
    elf.image = img;
    elf.size = size;
    if (size < 64 || memcmp(img, "\x7f" "ELF", 4) || (img[4] != 1 && img[4] != 2))
        return false;
    bool is64 = img[4] == 2;
    uint64_t phoff = is64 ? rd(img + 32, 8) : rd(img + 28, 4);
    unsigned phentsize = (unsigned)rd(img + (is64 ? 54 : 42), 2);
    unsigned phnum = (unsigned)rd(img + (is64 ? 56 : 44), 2);
    if (!in_image(phoff, (uint64_t)phentsize * phnum))
        return false;
    bool have_entry = false;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (uint64_t)i * phentsize;
        uint32_t type = (uint32_t)rd(ph, 4);
        uint64_t off = is64 ? rd(ph + 8, 8) : rd(ph + 4, 4);
        uint64_t paddr = is64 ? rd(ph + 24, 8) : rd(ph + 12, 4);
        uint64_t filesz = is64 ? rd(ph + 32, 8) : rd(ph + 16, 4);
        uint64_t memsz = is64 ? rd(ph + 40, 8) : rd(ph + 20, 4);
        if (!in_image(off, filesz))
            return false;
        if (type == 4) { /* PT_NOTE */
            for (uint64_t n = off; n + 12 <= off + filesz;) {
                uint32_t namesz = (uint32_t)rd(img + n, 4), descsz = (uint32_t)rd(img + n + 4, 4);
                uint32_t ntype = (uint32_t)rd(img + n + 8, 4);
                uint64_t desc = n + 12 + ALIGN_UP((uint64_t)namesz, 4);
                if (namesz == 4 && !memcmp(img + n + 12, "Xen", 4) && ntype == XEN_ELFNOTE_PHYS32_ENTRY) {
                    elf.entry = (uint32_t)rd(img + desc, 4);
                    have_entry = true;
                }
                n = desc + ALIGN_UP((uint64_t)descsz, 4);
            }
        } else if (type == 1 && memsz) { /* PT_LOAD */
            if (elf.nr == MAX_SEGS)
                return false;
            elf.seg[elf.nr++] = (struct seg){ paddr, off, filesz, memsz };
            if (paddr + memsz > elf.highest)
                elf.highest = paddr + memsz;
        }
    }
    return have_entry && elf.nr;
}

struct child_cfg {
    const char *name;
    unsigned max_vcpus;
    unsigned mem_mib;
    uint64_t cpumap0;  /* CPUs 0-63; 0 = all */
    unsigned weight;
    uint32_t on_poweroff, on_reboot, on_crash;
};

static void child_defaults(struct child_cfg *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->name = name;
    c->max_vcpus = 1;
    c->mem_mib = child_mem;
    c->weight = 256;
    c->on_poweroff = c->on_reboot = c->on_crash = KEEL_ACTION_PRESERVE;
}

static long create(const struct child_cfg *c, uint16_t *id)
{
    struct keel_domctl_createdomain cd;
    memset(&cd, 0, sizeof(cd));
    cd.max_vcpus = c->max_vcpus;
    cd.max_memory = (uint64_t)c->mem_mib << 20;
    cd.weight = c->weight;
    cd.on_poweroff = c->on_poweroff;
    cd.on_reboot = c->on_reboot;
    cd.on_crash = c->on_crash;
    if (c->cpumap0) {
        cd.cpumap[0] = c->cpumap0;
    } else {
        for (unsigned w = 0; w < KEEL_CPUMAP_WORDS; w++)
            cd.cpumap[w] = ~0ULL;
    }
    snprintf((char *)cd.name, sizeof(cd.name), "%s", c->name);
    long rc = domctl(KEEL_DOMCTL_createdomain, &cd, 0);
    if (!rc)
        *id = cd.hdr.domain;
    return rc;
}

static long populate(uint16_t id, uint64_t gfn, uint64_t count)
{
    struct keel_domctl_populate p;
    memset(&p, 0, sizeof(p));
    p.gfn = gfn;
    p.count = count;
    return domctl(KEEL_DOMCTL_populate, &p, id);
}

static long copy_in(uint16_t id, uint64_t gpa, const void *src, uint64_t len)
{
    struct keel_domctl_copy c;
    while (len) {
        uint64_t n = len < KEEL_COPY_MAX ? len : KEEL_COPY_MAX;
        memset(&c, 0, sizeof(c));
        c.gpa = gpa;
        c.len = n;
        c.buffer = (uintptr_t)src;
        long rc = domctl(KEEL_DOMCTL_copy_to_guest, &c, id);
        if (rc)
            return rc;
        gpa += n;
        src = (const uint8_t *)src + n;
        len -= n;
    }
    return 0;
}

static void pvh_context(struct vcpu_hvm_context *ctx)
{
    struct vcpu_hvm_x86_32 *r = &ctx->cpu_regs.x86_32;
    memset(ctx, 0, sizeof(*ctx));
    ctx->mode = VCPU_HVM_MODE_32B;
    r->eip = elf.entry;
    r->ebx = START_INFO;
    r->eflags = 0x2;
    r->cr0 = 0x11; /* PE | ET */
    r->cs_limit = r->ds_limit = r->ss_limit = r->es_limit = 0xFFFFFFFF;
    r->cs_ar = 0xC9B; /* Xen's packing: access byte, then AVL L D/B G */
    r->ds_ar = r->ss_ar = r->es_ar = 0xC93;
    r->tr_limit = 0x67;
    r->tr_ar = 0x8B;
}

/* Memory, kernel, start info and vCPU 0 of a created (paused) domain. */
static long load(uint16_t id, unsigned mem_mib, const char *cmdline)
{
    uint64_t mem = (uint64_t)mem_mib << 20;
    uint64_t ram_end = mem + (HIGH_RAM - LOW_RAM_END);
    long rc;
    if ((rc = populate(id, 0, LOW_RAM_END >> 12)) || (rc = populate(id, HIGH_RAM >> 12, (ram_end - HIGH_RAM) >> 12)))
        return rc;
    for (unsigned i = 0; i < elf.nr; i++) {
        const struct seg *s = &elf.seg[i];
        if (s->paddr < HIGH_RAM || s->paddr + s->memsz > ram_end)
            return -E2BIG;
        if ((rc = copy_in(id, s->paddr, elf.image + s->offset, s->filesz)))
            return rc;
        /* p_memsz - p_filesz: already zero (populate gives zeroed frames). */
    }
    struct hvm_memmap_table_entry map[3] = {
        { 0, LOW_RAM_END, XEN_HVM_MEMMAP_TYPE_RAM, 0 },
        { LOW_RAM_END, HIGH_RAM - LOW_RAM_END, XEN_HVM_MEMMAP_TYPE_RESERVED, 0 },
        { HIGH_RAM, ram_end - HIGH_RAM, XEN_HVM_MEMMAP_TYPE_RAM, 0 },
    };
    struct hvm_start_info si;
    memset(&si, 0, sizeof(si));
    si.magic = XEN_HVM_START_MAGIC_VALUE;
    si.version = 1;
    si.memmap_paddr = MEMMAP;
    si.memmap_entries = 3;
    size_t n = strlen(cmdline);
    if (n) {
        si.cmdline_paddr = STRINGS;
        if ((rc = copy_in(id, STRINGS, cmdline, n + 1)))
            return rc;
    }
    if ((rc = copy_in(id, MEMMAP, map, sizeof(map))) || (rc = copy_in(id, START_INFO, &si, sizeof(si))))
        return rc;
    struct keel_domctl_vcpucontext vc;
    memset(&vc, 0, sizeof(vc));
    vc.vcpu = 0;
    pvh_context(&vc.ctx);
    return domctl(KEEL_DOMCTL_setvcpucontext, &vc, id);
}

/* create + load; 0 or -errno (the domain is destroyed again on failure). */
static long build(const struct child_cfg *c, const char *cmdline, uint16_t *id)
{
    long rc = create(c, id);
    if (rc)
        return rc;
    rc = load(*id, c->mem_mib, cmdline);
    if (rc)
        simple(KEEL_DOMCTL_destroydomain, *id);
    return rc;
}

/* Poll getdomaininfo until the domain reaches state (0), is gone (-ESRCH)
 * or the time is up (-ETIMEDOUT). */
static long wait_state(uint16_t id, uint32_t state, uint64_t timeout_ms, struct keel_domaininfo *info)
{
    uint64_t t0 = rdtsc();
    struct keel_domaininfo tmp;
    if (!info)
        info = &tmp;
    for (;;) {
        long rc = getinfo(id, info);
        if (rc)
            return rc;
        if (info->state == state)
            return 0;
        if (rdtsc() - t0 > ms_tsc(timeout_ms))
            return -ETIMEDOUT;
        tsc_spin(khz / 10);
    }
}

static const char *reason_name(uint32_t r)
{
    static const char *const names[] = { "poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset" };
    return r < ARRAY_SIZE(names) ? names[r] : "?";
}

/* --- build=N: the whole cycle with the child's console ------------------ */

static void section_build(unsigned n)
{
    static const uint32_t reasons[] = { SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_crash };
    char before[512], after[512];
    unsigned ok = 0, seen_output = 0, right_reason = 0;
    printf("ctl: section build\n");
    domain_list(before, sizeof(before));
    uint64_t base = free_pages();
    for (unsigned i = 0; i < n; i++) {
        char name[32], cmd[96];
        struct child_cfg c;
        uint16_t id;
        uint32_t want = reasons[i % 3];
        snprintf(name, sizeof(name), "build-%u", i);
        snprintf(cmd, sizeof(cmd), "mode=hello tag=b%u%s%s", i, want == SHUTDOWN_poweroff ? "" : " reason=",
                 want == SHUTDOWN_poweroff ? "" : reason_name(want));
        child_defaults(&c, name);
        long rc = build(&c, cmd, &id);
        if (!check(rc == 0, "build: child %u: build failed: %ld", i, rc))
            break;
        con_poll(NULL, NULL); /* skip what was logged before the child ran */
        if (!check(simple(KEEL_DOMCTL_unpausedomain, id) == 0, "build: unpause %u", id))
            break;
        struct keel_domaininfo info;
        rc = wait_state(id, KEEL_DOMSTATE_SHUTDOWN, 30000, &info);
        if (!check(rc == 0, "build: child %u (domain %u) did not shut down: %ld", i, id, rc))
            break;
        char want_line[64];
        snprintf(want_line, sizeof(want_line), "ctlchild: hello tag=b%u domid=%u", i, id);
        struct watch w = { .domid = id, .want = want_line };
        con_poll(watch_line, &w);
        seen_output += w.found && (want != SHUTDOWN_poweroff || w.result_success);
        right_reason += info.shutdown_reason == want;
        check(w.found, "build: child %u (domain %u): no '%s' line in the log", i, id, want_line);
        check(want != SHUTDOWN_poweroff || w.result_success, "build: child %u: no 'Test result: SUCCESS'", i);
        check(info.shutdown_reason == want, "build: child %u: shutdown reason %s, expected %s", i,
              reason_name(info.shutdown_reason), reason_name(want));
        if (!check(simple(KEEL_DOMCTL_destroydomain, id) == 0, "build: destroy %u", id))
            break;
        check(getinfo(id, NULL) == -ESRCH, "build: domain %u still there after destroy", id);
        ok++;
    }
    uint64_t end = free_pages();
    domain_list(after, sizeof(after));
    report(ok == n, "build: %u of %u children built, run and destroyed", ok, n);
    report(seen_output == n, "build: %u of %u children's output read back from the log", seen_output, n);
    report(right_reason == n, "build: %u of %u shutdown reasons right (poweroff, reboot, crash)", right_reason, n);
    report(end == base, "build: free pages %llu before, %llu after", (unsigned long long)base,
           (unsigned long long)end);
    report(!strcmp(before, after), "build: domain list unchanged: [%s]", after);
    report(con_lost == 0, "build: log bytes lost while reading: %llu", (unsigned long long)con_lost);
    printf("ctl: section build done\n");
}

/* --- lifecycle=N --------------------------------------------------------- */

static void section_lifecycle(unsigned n)
{
    char before[512], after[512];
    unsigned ok = 0;
    printf("ctl: section lifecycle\n");
    domain_list(before, sizeof(before));
    uint64_t base = free_pages();
    uint64_t low = base;
    for (unsigned i = 0; i < n; i++) {
        char name[32], cmd[32];
        struct child_cfg c;
        uint16_t id;
        snprintf(name, sizeof(name), "lc-%u", i);
        snprintf(cmd, sizeof(cmd), "tag=lc%u", i);
        child_defaults(&c, name);
        long rc = build(&c, cmd, &id);
        if (!check(rc == 0, "lifecycle: child %u: build failed: %ld", i, rc))
            break;
        uint64_t f = free_pages();
        low = f < low ? f : low;
        if (!check(simple(KEEL_DOMCTL_unpausedomain, id) == 0, "lifecycle: unpause %u", id))
            break;
        struct keel_domaininfo info;
        rc = wait_state(id, KEEL_DOMSTATE_SHUTDOWN, 30000, &info);
        if (!check(rc == 0 && info.shutdown_reason == SHUTDOWN_poweroff,
                   "lifecycle: child %u (domain %u): rc %ld, reason %u", i, id, rc, info.shutdown_reason))
            break;
        if (!check(simple(KEEL_DOMCTL_destroydomain, id) == 0, "lifecycle: destroy %u", id))
            break;
        ok++;
    }
    con_poll(NULL, NULL);
    uint64_t end = free_pages();
    domain_list(after, sizeof(after));
    report(ok == n, "lifecycle: %u of %u domains created, run and destroyed", ok, n);
    report(base - low >= ((uint64_t)child_mem << 20) / 4096,
           "lifecycle: a child took %llu pages while it existed", (unsigned long long)(base - low));
    report(end == base, "lifecycle: free pages %llu before, %llu after %u domains", (unsigned long long)base,
           (unsigned long long)end, ok);
    report(!strcmp(before, after), "lifecycle: domain list unchanged: [%s]", after);
    printf("ctl: section lifecycle done\n");
}

/* --- poweroff=N: on_poweroff=destroy --------------------------------------- */

static void section_poweroff(unsigned n)
{
    char before[512], after[512];
    unsigned gone = 0;
    printf("ctl: section poweroff\n");
    domain_list(before, sizeof(before));
    uint64_t base = free_pages();
    for (unsigned i = 0; i < n; i++) {
        char name[32];
        struct child_cfg c;
        uint16_t id;
        snprintf(name, sizeof(name), "pd-%u", i);
        child_defaults(&c, name);
        c.on_poweroff = KEEL_ACTION_DESTROY;
        long rc = build(&c, "tag=pd", &id);
        if (!check(rc == 0, "poweroff: build: %ld", rc))
            break;
        if (!check(simple(KEEL_DOMCTL_unpausedomain, id) == 0, "poweroff: unpause"))
            break;
        /* Poll hard while the hypervisor destroys it (on another CPU): a
         * hypervisor that frees the domain under the lookup reads freed
         * memory here, or crashes. */
        uint64_t t0 = rdtsc();
        struct keel_domaininfo info;
        struct keel_domctl_vcpuinfo vi;
        bool sane = true;
        char list[256];
        for (unsigned k = 0; (rc = getinfo(id, &info)) == 0 && rdtsc() - t0 < ms_tsc(30000); k++) {
            if (info.domid != id || info.max_vcpus != 1)
                sane = false;
            if (k % 4 == 1)
                domain_list(list, sizeof(list));
            else if (k % 4 == 3 && vcpuinfo(id, 0, &vi) == 0 && vi.cpu >= nr_cpus)
                sane = false;
        }
        check(sane, "poweroff: getdomaininfo reported garbage for domain %u while it was destroyed", id);
        if (!check(rc == -ESRCH, "poweroff: domain %u after powering off: getdomaininfo %ld (state %u)", id, rc,
                   info.state))
            break;
        gone++;
    }
    uint64_t end = free_pages();
    domain_list(after, sizeof(after));
    report(gone == n, "poweroff: %u of %u on_poweroff=destroy domains gone (getdomaininfo -ESRCH)", gone, n);
    report(end == base, "poweroff: free pages %llu before, %llu after", (unsigned long long)base,
           (unsigned long long)end);
    report(!strcmp(before, after), "poweroff: domain list unchanged: [%s]", after);
    printf("ctl: section poweroff done\n");
}

/* --- exits=1 --------------------------------------------------------------- */

static uint64_t counts[256];

static void section_exits(void)
{
    struct child_cfg c;
    uint16_t id;
    printf("ctl: section exits\n");
    child_defaults(&c, "exits");
    if (!check(build(&c, "tag=exits", &id) == 0, "exits: build") ||
        !check(simple(KEEL_DOMCTL_unpausedomain, id) == 0, "exits: unpause") ||
        !check(wait_state(id, KEEL_DOMSTATE_SHUTDOWN, 30000, NULL) == 0, "exits: child did not shut down"))
        return;

    struct keel_domctl_exit_counters e;
    memset(&e, 0, sizeof(e));
    memset(counts, 0xA5, sizeof(counts));
    e.nr = 1; /* capacity 1: only counts[0] may be written */
    e.counts = (uintptr_t)counts;
    long rc = domctl(KEEL_DOMCTL_exit_counters, &e, id);
    unsigned nr = e.nr;
    report(rc == 0 && nr > 1 && nr <= ARRAY_SIZE(counts) && counts[1] == 0xA5A5A5A5A5A5A5A5ULL,
           "exits: capacity 1: rc %ld, %u reasons, nothing written beyond", rc, nr);
    if (nr > ARRAY_SIZE(counts))
        nr = ARRAY_SIZE(counts);
    memset(&e, 0, sizeof(e));
    e.nr = nr;
    e.counts = (uintptr_t)counts;
    rc = domctl(KEEL_DOMCTL_exit_counters, &e, id);
    check(rc == 0, "exits: exit_counters: %ld", rc);

    char line[400];
    size_t n = (size_t)snprintf(line, sizeof(line), "ctl: exits d=%u:", id);
    uint64_t total = 0;
    unsigned named = 0, used = 0;
    for (unsigned r = 0; r < nr; r++) {
        if (!counts[r])
            continue;
        struct keel_sysctl_exit_name en;
        memset(&en, 0, sizeof(en));
        en.reason = r;
        check(sysctl(KEEL_SYSCTL_exit_name, &en) == 0, "exits: exit_name(%u)", r);
        used++;
        named += en.name[0] != 0;
        total += counts[r];
        n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %llu", en.name[0] ? (const char *)en.name : "?",
                              (unsigned long long)counts[r]);
    }
    printf("%s\n", line);
    report(total > 0 && named == used, "exits: %llu exits under %u reasons, all named", (unsigned long long)total,
           used);
    struct keel_sysctl_exit_name en;
    memset(&en, 0, sizeof(en));
    en.reason = e.nr;
    rc = sysctl(KEEL_SYSCTL_exit_name, &en);
    report(rc == 0 && en.name[0] == 0, "exits: exit_name(%u), beyond the last reason, is empty", e.nr);
    check(simple(KEEL_DOMCTL_destroydomain, id) == 0, "exits: destroy");
    printf("ctl: section exits done\n");
}

/* --- pinned=N ------------------------------------------------------------- */

static long vcpuinfo(uint16_t id, unsigned vcpu, struct keel_domctl_vcpuinfo *i)
{
    memset(i, 0, sizeof(*i));
    i->vcpu = vcpu;
    return domctl(KEEL_DOMCTL_getvcpuinfo, i, id);
}

/* Sample both vCPUs n times: how often each was seen off cpu, running. */
static void sample_pinned(uint16_t id, unsigned cpu, unsigned n, unsigned *off, unsigned *running,
                          uint64_t *time_ns)
{
    struct keel_domctl_vcpuinfo vi;
    *off = *running = 0;
    for (unsigned s = 0; s < n; s++) {
        for (unsigned v = 0; v < 2; v++) {
            if (vcpuinfo(id, v, &vi)) {
                (*off)++;
                continue;
            }
            if (vi.cpu != cpu) {
                if (*off < 3)
                    printf("pinned: sample %u: vCPU %u on CPU %u (pinned to %u), running %u\n", s, v, vi.cpu, cpu,
                           vi.running);
                (*off)++;
            }
            *running += vi.running;
            time_ns[v] = vi.cpu_time_ns;
        }
        tsc_spin(khz); /* 1 ms: the samples span several time slices */
    }
}

static long set_affinity(uint16_t id, unsigned vcpu, uint64_t map0)
{
    struct keel_domctl_vcpuaffinity a;
    memset(&a, 0, sizeof(a));
    a.vcpu = vcpu;
    a.cpumap[0] = map0;
    return domctl(KEEL_DOMCTL_setvcpuaffinity, &a, id);
}

static void section_pinned(unsigned samples)
{
    struct child_cfg c;
    uint16_t id;
    printf("ctl: section pinned\n");
    if (nr_cpus < 3) {
        report_skip("pinned: needs 3 CPUs, the host has %u", nr_cpus);
        return;
    }
    /* The sampler (this domain) stays off the CPUs it watches: a vCPU of
     * the child can only be seen running while this one runs elsewhere.
     * (The last CPU, not CPU 0: see the report on tests/guests/
     * test_control.py::test_hotplug for what follows dom0 having CPU 0 to
     * itself under QEMU.) */
    unsigned home = nr_cpus - 1;
    check(set_affinity(DOMID_SELF, 0, 1ULL << home) == 0, "pinned: pin the control domain to CPU %u", home);
    child_defaults(&c, "pinned");
    c.max_vcpus = 2;
    c.cpumap0 = 1ULL << 1; /* both vCPUs on CPU 1: one is always waiting there */
    if (!check(build(&c, "mode=spin vcpus=2", &id) == 0, "pinned: build"))
        return;
    struct watch w = { .domid = id, .want = "ctlchild: spinning" };
    check(simple(KEEL_DOMCTL_unpausedomain, id) == 0, "pinned: unpause");
    if (!check(wait_line(&w, 30000), "pinned: the child never started spinning"))
        return;

    unsigned off, running;
    uint64_t t1[2], t2[2];
    sample_pinned(id, 1, samples, &off, &running, t1);
    report(off == 0 && running > 0, "pinned: %u samples x 2 vCPUs pinned to CPU 1: %u elsewhere, %u running",
           samples, off, running);
    report(t1[0] > 0 && t1[1] > 0, "pinned: the two vCPUs share CPU 1 (CPU time %llu and %llu ns)",
           (unsigned long long)t1[0], (unsigned long long)t1[1]);

    /* Move both to CPU 2: after the move they never show up anywhere else. */
    check(set_affinity(id, 0, 1ULL << 2) == 0 && set_affinity(id, 1, 1ULL << 2) == 0, "pinned: setvcpuaffinity");
    uint64_t t0 = rdtsc();
    struct keel_domctl_vcpuinfo a, b;
    do {
        vcpuinfo(id, 0, &a);
        vcpuinfo(id, 1, &b);
    } while ((a.cpu != 2 || b.cpu != 2) && rdtsc() - t0 < ms_tsc(5000));
    check(a.cpu == 2 && b.cpu == 2, "pinned: vCPUs still on CPUs %u and %u after moving to CPU 2", a.cpu, b.cpu);
    check(a.cpumap[0] == 1ULL << 2, "pinned: getvcpuinfo cpumap %#llx", (unsigned long long)a.cpumap[0]);
    sample_pinned(id, 2, samples, &off, &running, t2);
    report(off == 0 && running > 0, "pinned: after setvcpuaffinity to CPU 2: %u samples elsewhere, %u running", off,
           running);
    report(t2[0] > t1[0] && t2[1] > t1[1], "pinned: both vCPUs ran (CPU time %llu -> %llu, %llu -> %llu ns)",
           (unsigned long long)t1[0], (unsigned long long)t2[0], (unsigned long long)t1[1],
           (unsigned long long)t2[1]);
    report(set_affinity(id, 0, 0) == -EINVAL, "pinned: an empty CPU map is refused with -EINVAL");
    check(simple(KEEL_DOMCTL_destroydomain, id) == 0, "pinned: destroy");
    check(set_affinity(DOMID_SELF, 0, ~0ULL) == 0, "pinned: unpin the control domain");
    printf("ctl: section pinned done\n");
}

/* --- hotplug=N ------------------------------------------------------------ */

static long set_online(uint16_t id, uint32_t n)
{
    struct keel_domctl_vcpus_online o;
    memset(&o, 0, sizeof(o));
    o.online = n;
    return domctl(KEEL_DOMCTL_vcpus_online, &o, id);
}

static void section_hotplug(unsigned maxv, unsigned low)
{
    struct child_cfg c;
    uint16_t id;
    char cmd[64];
    printf("ctl: section hotplug\n");
    uint64_t base = free_pages();
    child_defaults(&c, "hotplug");
    c.max_vcpus = maxv;
    c.mem_mib = child_mem < 8 ? 8 : child_mem;
    snprintf(cmd, sizeof(cmd), "mode=hotplug maxvcpus=%u", maxv);
    if (!check(create(&c, &id) == 0, "hotplug: create"))
        return;
    report(set_online(id, 1) == 0, "hotplug: vcpus_online 1 before the start");
    if (!check(load(id, c.mem_mib, cmd) == 0, "hotplug: load"))
        return;
    report(set_online(id, maxv + 1) == -EINVAL && set_online(id, 0) == -EINVAL,
           "hotplug: vcpus_online %u and 0 are refused with -EINVAL", maxv + 1);
    check(simple(KEEL_DOMCTL_unpausedomain, id) == 0, "hotplug: unpause");

    struct watch w = { .domid = id, .want = "ctlchild: hotplug ready" };
    if (!check(wait_line(&w, 60000), "hotplug: the child never got ready"))
        goto out;
    struct keel_domaininfo info;
    getinfo(id, &info);
    report(info.vcpus_online == 1, "hotplug: 1 vCPU online at the start (getdomaininfo: %u)", info.vcpus_online);

    report(set_online(id, maxv) == 0, "hotplug: vcpus_online %u", maxv);
    snprintf(cmd, sizeof(cmd), "ctlchild: hotplug %u running", maxv);
    w.want = cmd;
    w.found = false;
    if (!check(wait_line(&w, 120000), "hotplug: the child did not report %u running vCPUs", maxv))
        goto out;
    getinfo(id, &info);
    report(info.vcpus_online == maxv, "hotplug: getdomaininfo says %u online", info.vcpus_online);

    report(set_online(id, low) == 0, "hotplug: vcpus_online %u", low);
    long rc = wait_state(id, KEEL_DOMSTATE_SHUTDOWN, 120000, &info);
    check(rc == 0, "hotplug: the child did not finish: %ld", rc);
    con_poll(watch_line, &w);
    report(info.vcpus_online == low, "hotplug: getdomaininfo says %u online after going down to %u",
           info.vcpus_online, low);
    struct keel_domctl_vcpuinfo vi;
    vcpuinfo(id, maxv - 1, &vi);
    report(vi.online == 0, "hotplug: vCPU %u offline (getvcpuinfo)", maxv - 1);
    report(w.result_success && w.fails == 0, "hotplug: the child's verdict: %s, %u failures%s%s",
           w.result_success ? "SUCCESS" : "not SUCCESS", w.fails, w.fails ? ", last: " : "", w.last_fail);
out:
    check(simple(KEEL_DOMCTL_destroydomain, id) == 0, "hotplug: destroy");
    uint64_t end = free_pages();
    report(end == base, "hotplug: free pages %llu before, %llu after", (unsigned long long)base,
           (unsigned long long)end);
    printf("ctl: section hotplug done\n");
}

/* --- badreq=1 -------------------------------------------------------------- */

static uint8_t argbuf[512];

/* Every domctl and sysctl sub-operation of the spec, with a wrong
 * interface version, against a real domain: -EACCES and nothing done. */
static unsigned wrong_version_all(uint16_t victim)
{
    unsigned bad = 0, tried = 0;
    for (unsigned i = 0; i < ABI_NR_SUBOPS; i++) {
        const struct abi_guest_subop *s = &abi_all_subops[i];
        if (s->hypercall != __HYPERVISOR_domctl && s->hypercall != __HYPERVISOR_sysctl)
            continue;
        memset(argbuf, 0, sizeof(argbuf));
        struct keel_ctl_header *h = (struct keel_ctl_header *)argbuf;
        h->interface_version = VERSION - 1;
        h->domain = s->hypercall == __HYPERVISOR_domctl ? victim : 0;
        long rc = s->hypercall == __HYPERVISOR_domctl ? HYPERVISOR_domctl(s->number, argbuf)
                                                       : HYPERVISOR_sysctl(s->number, argbuf);
        tried++;
        if (rc != -EACCES) {
            bad++;
            report_fail("badreq: %s with interface version %#x: %ld, expected -EACCES", s->name, VERSION - 1, rc);
        }
    }
    report(bad == 0 && tried >= 20, "badreq: %u domctl/sysctl operations with a wrong version: -EACCES", tried);
    return bad;
}

static void section_badreq(void)
{
    char before[512], after[512], mid[512];
    struct child_cfg c;
    uint16_t victim, dup;
    long rc;
    printf("ctl: section badreq\n");
    domain_list(before, sizeof(before));
    uint64_t base = free_pages();
    struct keel_sysctl_physinfo pi = physinfo();

    /* Unknown domain. */
    report(getinfo(NO_DOMAIN, NULL) == -ESRCH && simple(KEEL_DOMCTL_destroydomain, NO_DOMAIN) == -ESRCH &&
               simple(KEEL_DOMCTL_pausedomain, NO_DOMAIN) == -ESRCH &&
               simple(KEEL_DOMCTL_unpausedomain, NO_DOMAIN) == -ESRCH,
           "badreq: unknown domain %u: -ESRCH", NO_DOMAIN);

    /* A victim domain for the per-domain requests. */
    child_defaults(&c, "victim");
    if (!check(create(&c, &victim) == 0, "badreq: create victim"))
        return;

    /* Populate twice; copy outside the domain. */
    rc = populate(victim, 0x100, 256);
    long again = populate(victim, 0x100, 256), overlap = populate(victim, 0x1FF, 2);
    report(rc == 0 && again == -EEXIST && overlap == -EEXIST, "badreq: populate twice: %ld then %ld, overlapping %ld",
           rc, again, overlap);
    uint64_t f_ref = free_pages();
    struct keel_domaininfo vinfo;
    getinfo(victim, &vinfo);
    report(vinfo.memory_pages == 256, "badreq: the victim owns %llu pages", (unsigned long long)vinfo.memory_pages);

    /* Memory beyond the host. */
    struct child_cfg big;
    uint16_t id;
    child_defaults(&big, "too-big");
    big.mem_mib = (unsigned)((pi.total_pages * 4096 >> 20) + 64);
    rc = create(&big, &id);
    report(rc == -ENOMEM, "badreq: %u MiB on a %llu MiB host: %ld (-ENOMEM)", big.mem_mib,
           (unsigned long long)(pi.total_pages >> 8), rc);
    /* As much as the host has, then more than is free: populate fails. */
    big.mem_mib = (unsigned)(pi.total_pages >> 8);
    rc = create(&big, &id);
    if (check(rc == 0, "badreq: create %u MiB (the host's size): %ld", big.mem_mib, rc)) {
        uint64_t f0 = free_pages();
        uint64_t want = pi.total_pages < KEEL_POPULATE_MAX ? pi.total_pages : KEEL_POPULATE_MAX;
        rc = populate(id, 0x100, want);
        uint64_t f1 = free_pages();
        report(rc == -ENOMEM && f1 == f0, "badreq: populating %llu pages with %llu free: %ld, free pages %llu -> %llu",
               (unsigned long long)want, (unsigned long long)f0, rc, (unsigned long long)f0,
               (unsigned long long)f1);
        check(simple(KEEL_DOMCTL_destroydomain, id) == 0, "badreq: destroy too-big");
    }
    rc = populate(victim, 0x200, (uint64_t)child_mem << 8);
    report(rc == -ENOMEM, "badreq: populate beyond the domain's maximum: %ld (-ENOMEM)", rc);

    /* vCPUs beyond the maximum. */
    struct child_cfg many;
    child_defaults(&many, "too-many");
    many.max_vcpus = KEEL_MAX_VCPUS + 1;
    rc = create(&many, &id);
    long rc0;
    many.max_vcpus = 0;
    rc0 = create(&many, &id);
    report(rc == -EINVAL && rc0 == -EINVAL, "badreq: %u vCPUs: %ld, 0 vCPUs: %ld (-EINVAL)", KEEL_MAX_VCPUS + 1, rc,
           rc0);
    report(set_online(victim, 2) == -EINVAL, "badreq: vcpus_online 2 on a 1-vCPU domain: -EINVAL");
    struct keel_domctl_vcpucontext vc;
    memset(&vc, 0, sizeof(vc));
    vc.vcpu = 1;
    pvh_context(&vc.ctx);
    rc = domctl(KEEL_DOMCTL_setvcpucontext, &vc, victim);
    report(rc == -EINVAL, "badreq: setvcpucontext for vCPU 1 of a 1-vCPU domain: %ld (-EINVAL)", rc);
    struct keel_domctl_vcpuinfo vi;
    report(vcpuinfo(victim, 1, &vi) == -EINVAL, "badreq: getvcpuinfo for vCPU 1: -EINVAL");

    /* Wrong interface version, every operation. */
    wrong_version_all(victim);
    report(getinfo(victim, NULL) == 0, "badreq: the victim survived every wrong-version request");

    /* Copy outside the domain. */
    static const char data[64] = "keel";
    long out1 = copy_in(victim, 0x200000, data, sizeof(data));          /* not populated */
    long out2 = copy_in(victim, 0x1FFFE0, data, sizeof(data));          /* straddles the end */
    long out3 = copy_in(victim, 0x10000000000ULL, data, sizeof(data));  /* beyond any guest memory */
    long in1 = copy_in(victim, 0x100000, data, sizeof(data));
    report(out1 == -EFAULT && out2 == -EFAULT && out3 == -EFAULT && in1 == 0,
           "badreq: copy outside the domain: %ld, %ld, %ld (-EFAULT); inside: %ld", out1, out2, out3, in1);
    struct keel_domctl_copy cp;
    memset(&cp, 0, sizeof(cp));
    cp.gpa = 0x100000;
    cp.len = 64;
    cp.buffer = (uintptr_t)unmapped_page;
    rc = domctl(KEEL_DOMCTL_copy_to_guest, &cp, victim);
    report(rc == -EFAULT, "badreq: copy from an unmapped source: %ld (-EFAULT)", rc);
    cp.len = KEEL_COPY_MAX + 1;
    cp.buffer = (uintptr_t)data;
    rc = domctl(KEEL_DOMCTL_copy_to_guest, &cp, victim);
    report(rc == -E2BIG, "badreq: copy of KEEL_COPY_MAX + 1 bytes: %ld (-E2BIG)", rc);

    /* Duplicate names; bad names; the control flag. */
    child_defaults(&c, "victim");
    rc = create(&c, &dup);
    child_defaults(&c, "Domain-0");
    long rc2 = create(&c, &dup);
    report(rc == -EEXIST && rc2 == -EEXIST, "badreq: duplicate names 'victim' and 'Domain-0': %ld, %ld (-EEXIST)",
           rc, rc2);
    child_defaults(&c, "two\nlines");
    rc = create(&c, &dup);
    child_defaults(&c, "");
    rc2 = create(&c, &dup);
    report(rc == -EINVAL && rc2 == -EINVAL, "badreq: names 'two\\nlines' and '': %ld, %ld (-EINVAL)", rc, rc2);
    struct keel_domctl_createdomain cd;
    memset(&cd, 0, sizeof(cd));
    cd.flags = KEEL_DOMFLAG_CONTROL;
    cd.max_vcpus = 1;
    cd.max_memory = 4 << 20;
    cd.weight = 256;
    cd.cpumap[0] = ~0ULL;
    snprintf((char *)cd.name, sizeof(cd.name), "second-dom0");
    rc = domctl(KEEL_DOMCTL_createdomain, &cd, 0);
    report(rc == -EINVAL, "badreq: a second control domain: %ld (-EINVAL)", rc);

    /* Misuse of the life cycle. */
    report(simple(KEEL_DOMCTL_unpausedomain, victim) == -EINVAL, "badreq: unpause without a vCPU context: -EINVAL");
    report(simple(KEEL_DOMCTL_destroydomain, 0) == -EINVAL && simple(KEEL_DOMCTL_destroydomain, DOMID_SELF) == -EINVAL,
           "badreq: destroying the control domain: -EINVAL");
    report(domctl(KEEL_DOMCTL_copy_to_guest, &cp, NO_DOMAIN) == -ESRCH, "badreq: copy to an unknown domain: -ESRCH");
    uint32_t bogus = 0x7777;
    report(HYPERVISOR_domctl(bogus, argbuf) == -ENOSYS && HYPERVISOR_sysctl(bogus, argbuf) == -ENOSYS,
           "badreq: unknown sub-operation %#x: -ENOSYS", bogus);

    domain_list(mid, sizeof(mid));
    uint64_t f = free_pages();
    getinfo(victim, &vinfo);
    report(f == f_ref && vinfo.memory_pages == 256,
           "badreq: the failed requests took nothing: free pages %llu -> %llu, the victim owns %llu pages",
           (unsigned long long)f_ref, (unsigned long long)f, (unsigned long long)vinfo.memory_pages);
    check(simple(KEEL_DOMCTL_destroydomain, victim) == 0, "badreq: destroy victim");
    uint64_t end = free_pages();
    domain_list(after, sizeof(after));
    report(end == base, "badreq: free pages %llu before, %llu after", (unsigned long long)base,
           (unsigned long long)end);
    report(!strcmp(before, after), "badreq: domain list unchanged: [%s] (during: [%s])", after, mid);
    printf("ctl: section badreq done\n");
}

/* ------------------------------------------------------------------------- */

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    if (!hypervisor.present) {
        report_skip("needs a hypervisor");
        return;
    }
    if (!si || !(si->flags & SIF_INITDOMAIN)) {
        report_skip("needs to be the control domain");
        return;
    }
    khz = cpuid_count(hypervisor.base + 3, 0).ecx;
    if (!khz)
        khz = 1000000;
    child_mem = (unsigned)cmdline_ull("child_mem", 4);
    struct keel_sysctl_physinfo pi = physinfo();
    nr_cpus = pi.nr_cpus;
    printf("ctl: %u CPUs, %llu of %llu pages free, %s, TSC %llu kHz\n", pi.nr_cpus,
           (unsigned long long)pi.free_pages, (unsigned long long)pi.total_pages, (const char *)pi.hypervisor,
           (unsigned long long)khz);

    if (!check(nr_modules() >= 1, "no child image: boot with a ramdisk module"))
        return;
    const struct hvm_modlist_entry *m = module_entry(0);
    if (!check(elf_load((const uint8_t *)(uintptr_t)m->paddr, (size_t)m->size), "the child image is not a PVH ELF"))
        return;
    printf("ctl: child image %llu bytes, %u segments, entry %#x\n", (unsigned long long)m->size, elf.nr, elf.entry);
    con_poll(NULL, NULL);

    /* The sections that depend least on preempting running vCPUs first, so
     * that a hypervisor that cannot (a backend in progress) still gets the
     * others checked before it hangs. */
    unsigned n;
    if ((n = (unsigned)cmdline_ull("badreq", 1)))
        section_badreq();
    if ((n = (unsigned)cmdline_ull("exits", 1)))
        section_exits();
    if ((n = (unsigned)cmdline_ull("poweroff", 30)))
        section_poweroff(n);
    if ((n = (unsigned)cmdline_ull("build", 100)))
        section_build(n);
    if ((n = (unsigned)cmdline_ull("lifecycle", 200)))
        section_lifecycle(n);
    if ((n = (unsigned)cmdline_ull("pinned", 200)))
        section_pinned(n);
    if ((n = (unsigned)cmdline_ull("hotplug", 32)))
        section_hotplug(n, (unsigned)cmdline_ull("hotplug_low", 4));
}
