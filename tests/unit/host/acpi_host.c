/* Host stand-in for physical memory backed by QEMU table dumps. */
#define _POSIX_C_SOURCE 200809L /* readlink, PATH_MAX */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi_host.h"
#include "shim.h"

#define MAX_WINDOWS 8
#define LOW_WINDOW 0x100000 /* the first MiB: BDA, EBDA and BIOS area */
#define MAX_SPAN (16u << 20)

static struct window {
    paddr_t addr;
    size_t len;
    uint8_t *mem;
} windows[MAX_WINDOWS];
static unsigned nr_windows;

const char *const acpi_host_machines[] = { "pc-smp4",         "q35-smp8",      "q35-hotplug",
                                           "q35-intel-iommu", "q35-amd-iommu", "q35-ovmf" };
const unsigned acpi_host_nr_machines = sizeof(acpi_host_machines) / sizeof(acpi_host_machines[0]);

struct acpi_host_area acpi_host_areas[ACPI_HOST_MAX_AREAS];
unsigned acpi_host_nr_areas;

/* The pristine data of the last machine loaded, per area. */
static uint8_t *pristine[ACPI_HOST_MAX_AREAS];

static _Noreturn void die(const char *what, const char *detail)
{
    fprintf(stderr, "acpi_host: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    exit(2);
}

static uint8_t *window_ptr(paddr_t p, size_t len)
{
    for (unsigned i = 0; i < nr_windows; i++) {
        const struct window *w = &windows[i];
        if (p >= w->addr && len <= w->len && p - w->addr <= w->len - len)
            return w->mem + (p - w->addr);
    }
    return NULL;
}

/* Every mapping is a fresh heap copy of exactly the bytes asked for, so ASan
 * reports any read past what the code mapped, even where the dumped tables
 * lie back to back.  Copies live until the next acpi_host_boot(). */
static uint8_t **copies;
static size_t nr_copies, max_copies;

static void free_copies(void)
{
    for (size_t i = 0; i < nr_copies; i++)
        free(copies[i]);
    nr_copies = 0;
}

const void *acpi_map(paddr_t p, size_t len)
{
    const uint8_t *src = window_ptr(p, len);
    if (!src)
        return NULL;
    if (nr_copies == max_copies) {
        max_copies = max_copies ? 2 * max_copies : 256;
        copies = realloc(copies, max_copies * sizeof(*copies));
        if (!copies)
            die("out of memory", NULL);
    }
    uint8_t *c = malloc(len ? len : 1);
    if (!c)
        die("out of memory", NULL);
    memcpy(c, src, len);
    copies[nr_copies++] = c;
    return c;
}

bool acpi_host_mapped(paddr_t addr, size_t len)
{
    return window_ptr(addr, len) != NULL;
}

void acpi_host_reset(void)
{
    free_copies();
    for (unsigned i = 0; i < nr_windows; i++)
        free(windows[i].mem);
    nr_windows = 0;
}

uint8_t *acpi_host_window(paddr_t addr, size_t len)
{
    if (nr_windows == MAX_WINDOWS)
        die("too many windows", NULL);
    struct window *w = &windows[nr_windows++];
    w->addr = addr;
    w->len = len;
    w->mem = calloc(1, len);
    if (!w->mem)
        die("out of memory", NULL);
    return w->mem;
}

uint8_t *acpi_host_mem(paddr_t addr, size_t len)
{
    uint8_t *p = window_ptr(addr, len);
    if (!p) {
        char what[64];
        snprintf(what, sizeof(what), "%#lx+%#zx", (unsigned long)addr, len);
        die("address not in any window", what);
    }
    return p;
}

/* snprintf that refuses to truncate a path. */
static void __attribute__((format(printf, 3, 4))) path_fmt(char *out, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, size, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= size)
        die("path too long", fmt);
}

/* data/acpi next to this file's source: KEEL_ACPI_DATA if set, else found
 * from the program's path, build/host/<program> in the repository. */
static void data_dir(char *out, size_t size)
{
    const char *env = getenv("KEEL_ACPI_DATA");
    if (env) {
        path_fmt(out, size, "%s", env);
        return;
    }
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        die("cannot read /proc/self/exe; set KEEL_ACPI_DATA", NULL);
    exe[n] = '\0';
    for (int up = 0; up < 3; up++) {
        char *slash = strrchr(exe, '/');
        if (!slash)
            die("unexpected program path; set KEEL_ACPI_DATA", exe);
        *slash = '\0';
    }
    path_fmt(out, size, "%s/tests/unit/host/data/acpi", exe);
}

static uint8_t *read_file(const char *path, size_t want)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die("cannot open", path);
    uint8_t *buf = malloc(want);
    if (!buf || fread(buf, 1, want, f) != want || fgetc(f) != EOF)
        die("wrong size", path);
    fclose(f);
    return buf;
}

static void read_manifest(const char *dir)
{
    char path[PATH_MAX], line[256];
    path_fmt(path, sizeof(path), "%s/tables.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f)
        die("no dump (run tests/unit/host/data/acpi/dump.py)", path);
    for (unsigned i = 0; i < acpi_host_nr_areas; i++)
        free(pristine[i]);
    acpi_host_nr_areas = 0;
    while (fgets(line, sizeof(line), f)) {
        struct acpi_host_area *a = &acpi_host_areas[acpi_host_nr_areas];
        unsigned long addr, len;
        if (line[0] == '#' || line[0] == '\n')
            continue;
        if (acpi_host_nr_areas == ACPI_HOST_MAX_AREAS || sscanf(line, "%15s %lx %lx", a->name, &addr, &len) != 3)
            die("bad manifest line", line);
        a->addr = addr;
        a->length = (uint32_t)len;
        char bin[PATH_MAX];
        path_fmt(bin, sizeof(bin), "%s/%s.bin", dir, a->name);
        pristine[acpi_host_nr_areas++] = read_file(bin, len);
    }
    fclose(f);
}

void acpi_host_restore(void)
{
    for (unsigned i = 0; i < acpi_host_nr_areas; i++) {
        const struct acpi_host_area *a = &acpi_host_areas[i];
        memcpy(acpi_host_mem(a->addr, a->length), pristine[i], a->length);
    }
}

void acpi_host_load(const char *machine)
{
    char dir[PATH_MAX], mdir[PATH_MAX];
    data_dir(dir, sizeof(dir));
    path_fmt(mdir, sizeof(mdir), "%s/%s", dir, machine);
    read_manifest(mdir);

    /* The first MiB, then one window over every area above it, page-rounded. */
    acpi_host_reset();
    acpi_host_window(0, LOW_WINDOW);
    paddr_t lo = ~0ull, hi = 0;
    for (unsigned i = 0; i < acpi_host_nr_areas; i++) {
        const struct acpi_host_area *a = &acpi_host_areas[i];
        if (a->addr + a->length <= LOW_WINDOW)
            continue;
        if (a->addr < LOW_WINDOW)
            die("area straddles 1 MiB", a->name);
        lo = a->addr < lo ? a->addr : lo;
        hi = a->addr + a->length > hi ? a->addr + a->length : hi;
    }
    if (hi) {
        lo &= ~0xFFFull;
        hi = (hi + 0xFFF) & ~0xFFFull;
        if (hi - lo > MAX_SPAN)
            die("tables spread over more than 16 MiB", machine);
        acpi_host_window(lo, hi - lo);
    }
    acpi_host_restore();
}

bool acpi_host_has(const char *name)
{
    for (unsigned i = 0; i < acpi_host_nr_areas; i++)
        if (!strcmp(acpi_host_areas[i].name, name))
            return true;
    return false;
}

paddr_t acpi_host_addr(const char *name)
{
    for (unsigned i = 0; i < acpi_host_nr_areas; i++)
        if (!strcmp(acpi_host_areas[i].name, name))
            return acpi_host_areas[i].addr;
    die("no such area in the dump", name);
}

void acpi_host_fix_checksum(paddr_t table)
{
    struct acpi_header *h = (struct acpi_header *)acpi_host_mem(table, sizeof(*h));
    uint32_t len = h->length;
    h = (struct acpi_header *)acpi_host_mem(table, len);
    h->checksum = 0;
    h->checksum = (uint8_t)(0x100 - acpi_checksum(h, len));
}

void acpi_host_put(uint8_t *p, uint64_t val, size_t size)
{
    for (size_t i = 0; i < size; i++)
        p[i] = (uint8_t)(val >> (8 * i));
}

void acpi_host_poke(paddr_t table, size_t off, uint64_t val, size_t size, bool fix_checksum)
{
    acpi_host_put(acpi_host_mem(table + off, size), val, size);
    if (fix_checksum)
        acpi_host_fix_checksum(table);
}

void acpi_host_fix_rsdp(paddr_t rsdp)
{
    struct acpi_rsdp *r = (struct acpi_rsdp *)acpi_host_mem(rsdp, sizeof(*r));
    r->checksum = 0;
    r->checksum = (uint8_t)(0x100 - acpi_checksum(r, 20));
    if (r->revision >= 2) {
        r->extended_checksum = 0;
        r->extended_checksum = (uint8_t)(0x100 - acpi_checksum(r, sizeof(*r)));
    }
}

void acpi_tb_init(struct acpi_tb *t, const char sig[4], uint8_t revision, size_t fixed)
{
    struct acpi_header h = { .revision = revision };
    memcpy(h.signature, sig, 4);
    memcpy(h.oem_id, "KEELTS", 6);
    memcpy(h.oem_table_id, "HOSTTEST", 8);
    memset(t->buf, 0, sizeof(t->buf));
    memcpy(t->buf, &h, sizeof(h));
    t->len = sizeof(h) + fixed;
}

uint8_t *acpi_tb_put(struct acpi_tb *t, size_t n)
{
    if (t->len + n > sizeof(t->buf))
        die("table builder overflow", NULL);
    uint8_t *p = t->buf + t->len;
    t->len += n;
    return p;
}

struct acpi_header *acpi_tb_finish(struct acpi_tb *t)
{
    struct acpi_header *h = malloc(t->len);
    if (!h)
        die("out of memory", NULL);
    acpi_host_put(t->buf + 4, t->len, 4);
    t->buf[9] = 0;
    t->buf[9] = (uint8_t)(0x100 - acpi_checksum(t->buf, t->len));
    memcpy(h, t->buf, t->len);
    return h;
}

unsigned acpi_host_boot_from(const struct acpi_rsdp *rsdp)
{
    free_copies();
    shim_log_clear();
    return acpi_load(rsdp);
}

bool acpi_host_rsdp(struct acpi_rsdp *out)
{
    for (unsigned i = 0; i < acpi_host_nr_areas; i++) {
        const struct acpi_host_area *a = &acpi_host_areas[i];
        if (!strcmp(a->name, "rsdp") && a->addr >= LOW_WINDOW) {
            uint8_t copy[36];
            memcpy(copy, acpi_host_mem(a->addr, sizeof(copy)), sizeof(copy));
            return acpi_find_rsdp(copy, true, out);
        }
    }
    return acpi_find_rsdp(NULL, false, out);
}

unsigned acpi_host_boot(void)
{
    struct acpi_rsdp rsdp;
    free_copies();
    shim_log_clear();
    if (!acpi_host_rsdp(&rsdp))
        return 0;
    return acpi_load(&rsdp);
}
