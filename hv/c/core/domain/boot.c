/*
 * Domains started at boot: the ones a boot manifest lists, or, without a
 * manifest, the first module as the control domain with the second as its
 * ramdisk (Xen's rule).
 */
#include <keel/boot.h>
#include <keel/cmdline.h>
#include <keel/domain.h>
#include <keel/heap.h>
#include <keel/lib.h>
#include <keel/manifest.h>
#include <keel/mm.h>
#include <keel/printk.h>
#include <keel/sched.h>
#include <asm/hvm.h>
#include <asm/page.h>
#include <asm/percpu.h>

static uint64_t opt_dom0_mem;            /* bytes; 0 = automatic */
static uint64_t opt_dom0_max_vcpus = 1;
size_param("dom0_mem", opt_dom0_mem);
integer_param("dom0_max_vcpus", opt_dom0_max_vcpus);

#define MAX_BOOT_DOMAINS 4096

static struct domain **started;
static unsigned nr_started;
static bool boot_done;

bool domain_boot_done(void)
{
    return READ_ONCE(boot_done);
}

/* A module's name: the first word of its string, without any directory. */
static void module_name(const struct boot_module *m, char *out, size_t size)
{
    const char *s = m->cmdline;
    while (*s == ' ')
        s++;
    const char *end = s, *base = s;
    while (*end && *end != ' ') {
        if (*end == '/')
            base = end + 1;
        end++;
    }
    size_t n = MIN((size_t)(end - base), size - 1);
    memcpy(out, base, n);
    out[n] = '\0';
}

static const struct boot_module *find_module(const char *name)
{
    char have[64];
    for (unsigned i = 0; i < boot_info.nr_mods; i++) {
        module_name(&boot_info.mods[i], have, sizeof(have));
        if (!strcmp(have, name))
            return &boot_info.mods[i];
    }
    return NULL;
}

static int start_domain(const struct domain_config *cfg, const struct domain_image *src, struct domain **out)
{
    struct domain *d;
    int rc = domain_create(cfg, 0, &d);
    if (rc)
        return rc;
    struct domain_image *img = kmalloc(sizeof(*img));
    if (!img) {
        domain_destroy(d);
        return -ENOMEM;
    }
    *img = *src;
    rc = domain_build_pvh(d, img);
    if (rc) {
        kfree(img);
        domain_destroy(d);
        return rc;
    }
    d->image = img;
    if (started && nr_started < MAX_BOOT_DOMAINS)
        started[nr_started++] = d;
    *out = d;
    return 0;
}

struct manifest_state {
    unsigned errors;
};

static void manifest_error(unsigned line, const char *msg, void *ctx)
{
    struct manifest_state *st = ctx;
    st->errors++;
    pr_err("manifest line %u: %s; skipped\n", line, msg);
}

static void manifest_domain(const struct manifest_entry *e, void *ctx)
{
    struct manifest_state *st = ctx;
    const struct boot_module *k = find_module(e->kernel);
    const struct boot_module *r = e->ramdisk[0] ? find_module(e->ramdisk) : NULL;
    if (!k) {
        manifest_error(e->line, "kernel module not found", st);
        pr_err("manifest line %u: (no module named '%s')\n", e->line, e->kernel);
        return;
    }
    if (e->ramdisk[0] && !r) {
        manifest_error(e->line, "ramdisk module not found", st);
        pr_err("manifest line %u: (no module named '%s')\n", e->line, e->ramdisk);
        return;
    }
    /* cpus= may name only CPUs this machine lacks: such a domain could
     * never run where it is allowed to. */
    cpumask_t allowed = e->cfg.affinity;
    if (!sched_online_only(&allowed)) {
        char msg[120];
        snprintf(msg, sizeof(msg), "domain '%s': its cpus name no online CPU (%u online)", e->cfg.name,
                 nr_cpus_online);
        manifest_error(e->line, msg, st);
        return;
    }
    uint64_t free_bytes = frame_free_pages() << PAGE_SHIFT;
    if (e->cfg.memory + MiB(1) > free_bytes) {
        char msg[120];
        snprintf(msg, sizeof(msg), "domain '%s' needs %lu MiB but only %lu MiB are free", e->cfg.name,
                 (unsigned long)(e->cfg.memory >> 20), (unsigned long)(free_bytes >> 20));
        manifest_error(e->line, msg, st);
        return;
    }
    static struct domain_image img;
    memset(&img, 0, sizeof(img));
    img.kernel = phys_to_virt(k->start);
    img.kernel_size = k->end - k->start;
    if (r) {
        img.ramdisk = phys_to_virt(r->start);
        img.ramdisk_size = r->end - r->start;
    }
    strlcpy(img.cmdline, e->cmdline, sizeof(img.cmdline));
    img.vcpus_online = e->vcpus;
    struct domain *d;
    int rc = start_domain(&e->cfg, &img, &d);
    if (rc) {
        char msg[120];
        snprintf(msg, sizeof(msg), "domain '%s' could not be built (error %d)", e->cfg.name, rc);
        manifest_error(e->line, msg, st);
    }
}

static bool boot_from_manifest(void)
{
    for (unsigned i = 0; i < boot_info.nr_mods; i++) {
        const struct boot_module *m = &boot_info.mods[i];
        const char *text = phys_to_virt(m->start);
        size_t len = m->end - m->start;
        if (!manifest_detect(text, len))
            continue;
        struct manifest_state st = { 0 };
        pr_info("Boot manifest found in module %u\n", i);
        unsigned valid = manifest_parse(text, len, manifest_domain, manifest_error, &st);
        pr_info("Boot manifest: %u domains started, %u lines rejected\n", nr_started, st.errors);
        (void)valid;
        return true;
    }
    return false;
}

static void boot_dom0(void)
{
    const struct boot_module *k = &boot_info.mods[0];
    static struct domain_image img;
    struct domain_config cfg;

    memset(&img, 0, sizeof(img));
    memset(&cfg, 0, sizeof(cfg));
    img.kernel = phys_to_virt(k->start);
    img.kernel_size = k->end - k->start;
    if (boot_info.nr_mods > 1) {
        img.ramdisk = phys_to_virt(boot_info.mods[1].start);
        img.ramdisk_size = boot_info.mods[1].end - boot_info.mods[1].start;
    }
    /* Multiboot 1 module strings start with the file name. */
    const char *args = k->cmdline;
    if (boot_info.multiboot == 1) {
        while (*args == ' ')
            args++;
        while (*args && *args != ' ')
            args++;
    }
    while (*args == ' ')
        args++;
    strlcpy(img.cmdline, args, sizeof(img.cmdline));

    uint64_t free_bytes = frame_free_pages() << PAGE_SHIFT;
    uint64_t mem = opt_dom0_mem ? opt_dom0_mem : MIN(MiB(512), ALIGN_DOWN(free_bytes / 2, MiB(1)));
    mem = ALIGN_DOWN(mem, MiB(1));
    strlcpy(cfg.name, "Domain-0", sizeof(cfg.name));
    cfg.is_control = true;
    cfg.max_vcpus = (unsigned)MAX(1ULL, MIN(opt_dom0_max_vcpus, (uint64_t)DOMAIN_MAX_VCPUS));
    cfg.memory = cfg.max_memory = mem;
    cfg.weight = 256;
    cfg.on_poweroff = ACTION_DESTROY;
    cfg.on_reboot = ACTION_RESTART;
    cfg.on_crash = ACTION_DESTROY;
    cpumask_fill(&cfg.affinity);
    img.vcpus_online = cfg.max_vcpus;
    struct domain *d;
    int rc = start_domain(&cfg, &img, &d);
    if (rc)
        pr_err("Domain-0 could not be started (error %d)\n", rc);
}

/* Returns the number of domains started (they are still paused). */
unsigned boot_domains(void)
{
    if (!hvm_available()) {
        pr_info("Keel: no domains: this machine cannot run guests\n");
        return 0;
    }
    started = kzalloc(sizeof(*started) * MAX_BOOT_DOMAINS);
    if (!started)
        return 0;
    if (!boot_from_manifest() && boot_info.nr_mods)
        boot_dom0();
    return nr_started;
}

void boot_domains_unpause(void)
{
    for (unsigned i = 0; i < nr_started; i++)
        domain_unpause(started[i]);
    kfree(started);
    started = NULL;
    nr_started = 0;
    boot_done = true;
}
