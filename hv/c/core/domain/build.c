/* Building a PVH domain from an ELF kernel, following docs/pvh-layout.md. */
#include <abi.h>
#include <keel/domain.h>
#include <keel/elf.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

#define LOW_RAM_END 0xA0000ULL
#define HIGH_RAM_START 0x100000ULL
#define START_INFO 0x6000ULL
#define MEMMAP 0x6040ULL
#define MODLIST 0x6800ULL
#define STRINGS 0x7000ULL
#define STRINGS_SIZE 0x2000ULL

struct layout {
    uint64_t ram_end;       /* end of the RAM above 1 MiB */
    uint64_t ramdisk_at;
};

static int fail(struct domain *d, int rc, const char *fmt, ...) __printf(3, 4);

static int fail(struct domain *d, int rc, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pr_err("Domain %u (%s): cannot build: %s\n", d->id, d->name, msg);
    return rc;
}

static int plan(struct domain *d, const struct domain_image *img, const struct elf_info *e, struct layout *l)
{
    uint64_t mem = d->config.memory;
    l->ram_end = mem + (HIGH_RAM_START - LOW_RAM_END);
    for (unsigned i = 0; i < e->nr_segments; i++) {
        const struct elf_segment *s = &e->seg[i];
        if (s->paddr < HIGH_RAM_START || s->paddr + s->memsz > l->ram_end)
            return fail(d, -EINVAL, "kernel segment %#lx-%#lx is outside the guest's RAM (1 MiB - %#lx)",
                        (unsigned long)s->paddr, (unsigned long)(s->paddr + s->memsz), (unsigned long)l->ram_end);
    }
    if (e->phys32_entry < e->lowest || e->phys32_entry >= e->highest)
        return fail(d, -EINVAL, "entry point %#x is not inside the kernel", e->phys32_entry);
    l->ramdisk_at = ALIGN_UP(e->highest, MiB(2));
    if (img->ramdisk_size && l->ramdisk_at + ALIGN_UP(img->ramdisk_size, PAGE_SIZE) > MIN(l->ram_end, GiB(4)))
        return fail(d, -ENOMEM, "the ramdisk (%lu bytes) does not fit in %lu MiB", (unsigned long)img->ramdisk_size,
                    (unsigned long)(mem >> 20));
    size_t cmd = strnlen(img->cmdline, sizeof(img->cmdline));
    if (cmd + 1 > STRINGS_SIZE)
        return fail(d, -E2BIG, "command line too long");
    return 0;
}

static int write_start_info(struct domain *d, const struct domain_image *img, const struct layout *l)
{
    struct hvm_memmap_table_entry map[3] = {
        { 0, LOW_RAM_END, XEN_HVM_MEMMAP_TYPE_RAM, 0 },
        { LOW_RAM_END, HIGH_RAM_START - LOW_RAM_END, XEN_HVM_MEMMAP_TYPE_RESERVED, 0 },
        { HIGH_RAM_START, l->ram_end - HIGH_RAM_START, XEN_HVM_MEMMAP_TYPE_RAM, 0 },
    };
    struct hvm_start_info si = {
        .magic = XEN_HVM_START_MAGIC_VALUE,
        .version = 1,
        .flags = d->is_control ? (SIF_INITDOMAIN | SIF_PRIVILEGED) : 0,
        .memmap_paddr = MEMMAP,
        .memmap_entries = ARRAY_SIZE(map),
    };
    size_t cmd = strnlen(img->cmdline, sizeof(img->cmdline));
    if (cmd) {
        si.cmdline_paddr = STRINGS;
        if (copy_to_gpa(d, STRINGS, img->cmdline, cmd + 1))
            return -EFAULT;
    }
    if (img->ramdisk_size) {
        struct hvm_modlist_entry m = { l->ramdisk_at, img->ramdisk_size, 0, 0 };
        si.nr_modules = 1;
        si.modlist_paddr = MODLIST;
        if (copy_to_gpa(d, MODLIST, &m, sizeof(m)))
            return -EFAULT;
    }
    if (copy_to_gpa(d, MEMMAP, map, sizeof(map)) || copy_to_gpa(d, START_INFO, &si, sizeof(si)))
        return -EFAULT;
    return 0;
}

int domain_build_pvh(struct domain *d, const struct domain_image *img)
{
    struct elf_info e;
    struct layout l = { 0, 0 };
    char err[96];

    int rc = elf_parse(img->kernel, img->kernel_size, &e, err, sizeof(err));
    if (rc)
        return fail(d, rc, "kernel: %s", err);
    rc = plan(d, img, &e, &l);
    if (rc)
        return rc;
    if (p2m_populate(&d->p2m, 0, LOW_RAM_END >> PAGE_SHIFT) ||
        p2m_populate(&d->p2m, HIGH_RAM_START >> PAGE_SHIFT, (l.ram_end - HIGH_RAM_START) >> PAGE_SHIFT))
        return fail(d, -ENOMEM, "out of memory for %lu MiB", (unsigned long)(d->config.memory >> 20));
    for (unsigned i = 0; i < e.nr_segments; i++) {
        const struct elf_segment *s = &e.seg[i];
        if (copy_to_gpa(d, s->paddr, (const uint8_t *)img->kernel + s->offset, s->filesz))
            return fail(d, -EFAULT, "cannot load segment %u", i);
    }
    if (img->ramdisk_size && copy_to_gpa(d, l.ramdisk_at, img->ramdisk, img->ramdisk_size))
        return fail(d, -EFAULT, "cannot load the ramdisk");
    if (write_start_info(d, img, &l))
        return fail(d, -EFAULT, "cannot write the start info");

    struct vcpu *v = d->vcpu[0];
    struct hvm_context c;
    hvm_context_pvh(&c, e.phys32_entry);
    hvm->set_context(v, &c);
    memset(&v->regs, 0, sizeof(v->regs));
    v->regs.rbx = START_INFO;
    v->initialised = true;
    vcpu_pause_flags_clear(v, VPF_DOWN);
    d->vcpus_online = img->vcpus_online ? MIN(img->vcpus_online, d->max_vcpus) : 1;
    pr_info("Domain %u (%s): %lu MiB, %u/%u vCPUs, %s PVH kernel, entry %#x%s\n", d->id, d->name,
            (unsigned long)(d->config.memory >> 20), d->vcpus_online, d->max_vcpus, e.is64 ? "64-bit" : "32-bit",
            e.phys32_entry, d->is_control ? ", control domain" : "");
    return 0;
}
