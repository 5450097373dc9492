/*
 * Multiboot 1 and 2 information parsing (Multiboot Specification 0.6.96 and
 * 2.0).  Everything is copied into boot_info; the loader's structures may
 * be overwritten once the frame allocator runs.
 */
#include <keel/boot.h>
#include <keel/lib.h>
#include <asm/page.h>

#define MB1_BOOTLOADER_MAGIC 0x2BADB002
#define MB2_BOOTLOADER_MAGIC 0x36D76289

#define MB1_INFO_MEM (1 << 0)
#define MB1_INFO_CMDLINE (1 << 2)
#define MB1_INFO_MODS (1 << 3)
#define MB1_INFO_MMAP (1 << 6)
#define MB1_INFO_LOADER_NAME (1 << 9)

struct mb1_info {
    uint32_t flags;
    uint32_t mem_lower, mem_upper;
    uint32_t boot_device;
    uint32_t cmdline;
    uint32_t mods_count, mods_addr;
    uint32_t syms[4];
    uint32_t mmap_length, mmap_addr;
    uint32_t drives_length, drives_addr;
    uint32_t config_table;
    uint32_t boot_loader_name;
} __packed;

struct mb1_module {
    uint32_t start, end, cmdline, pad;
} __packed;

struct mb1_mmap {
    uint32_t size;
    uint64_t addr, len;
    uint32_t type;
} __packed;

struct mb2_tag {
    uint32_t type, size;
};

enum {
    MB2_TAG_END = 0,
    MB2_TAG_CMDLINE = 1,
    MB2_TAG_LOADER_NAME = 2,
    MB2_TAG_MODULE = 3,
    MB2_TAG_MEMINFO = 4,
    MB2_TAG_MMAP = 6,
    MB2_TAG_ACPI_OLD = 14,
    MB2_TAG_ACPI_NEW = 15,
    MB2_TAG_EFI_MMAP = 17,
};

struct boot_info boot_info;
static char strpool[BOOT_STRPOOL_SIZE];
static size_t strpool_used;

static const char *keep_string(paddr_t p, size_t max)
{
    const char *s = phys_to_virt(p);
    size_t n = strnlen(s, max);
    if (strpool_used + n + 1 > sizeof(strpool))
        return "";
    char *d = strpool + strpool_used;
    memcpy(d, s, n);
    d[n] = '\0';
    strpool_used += n + 1;
    return d;
}

static void add_region(struct boot_info *bi, uint64_t base, uint64_t size, uint32_t type)
{
    if (size == 0 || bi->nr_mem >= BOOT_MAX_MEMMAP)
        return;
    if (type < MEM_RAM || type > MEM_UNUSABLE)
        type = MEM_RESERVED;
    bi->mem[bi->nr_mem++] = (struct boot_mem_region){ base, size, type };
}

static void add_module(struct boot_info *bi, paddr_t start, paddr_t end, paddr_t cmdline)
{
    if (bi->nr_mods >= BOOT_MAX_MODULES || end < start)
        return;
    bi->mods[bi->nr_mods++] = (struct boot_module){ start, end, cmdline ? keep_string(cmdline, 4096) : "" };
}

/* Multiboot 1 command lines (GRUB, QEMU -kernel) start with the image
 * path: skip the first word unless it is clearly an option. */
static void set_cmdline(struct boot_info *bi, const char *s, bool skip_image)
{
    while (*s == ' ')
        s++;
    if (skip_image) {
        const char *w = s;
        bool option = false;
        while (*w && *w != ' ')
            option |= *w++ == '=';
        if (!option)
            s = w;
    }
    while (*s == ' ')
        s++;
    strlcpy(bi->cmdline, s, sizeof(bi->cmdline));
}

static bool parse_mb1(paddr_t info, struct boot_info *bi)
{
    const struct mb1_info *mb = phys_to_virt(info);
    bi->multiboot = 1;
    if (mb->flags & MB1_INFO_CMDLINE)
        set_cmdline(bi, phys_to_virt(mb->cmdline), true);
    if (mb->flags & MB1_INFO_LOADER_NAME)
        bi->loader_name = keep_string(mb->boot_loader_name, 128);
    if (mb->flags & MB1_INFO_MODS) {
        const struct mb1_module *m = phys_to_virt(mb->mods_addr);
        for (uint32_t i = 0; i < mb->mods_count; i++)
            add_module(bi, m[i].start, m[i].end, m[i].cmdline);
    }
    if (mb->flags & MB1_INFO_MMAP) {
        paddr_t p = mb->mmap_addr, end = (paddr_t)mb->mmap_addr + mb->mmap_length;
        while (p < end) {
            const struct mb1_mmap *e = phys_to_virt(p);
            add_region(bi, e->addr, e->len, e->type);
            p += e->size + 4;
        }
    } else if (mb->flags & MB1_INFO_MEM) {
        add_region(bi, 0, (uint64_t)mb->mem_lower << 10, MEM_RAM);
        add_region(bi, MiB(1), (uint64_t)mb->mem_upper << 10, MEM_RAM);
    }
    return bi->nr_mem > 0;
}

/* EFI memory types (UEFI spec 7.2) folded into E820 types. */
static uint32_t efi_type(uint32_t t)
{
    switch (t) {
    case 1: case 2: case 3: case 4: case 7: /* loader, boot services, conventional */
        return MEM_RAM;
    case 9:
        return MEM_ACPI;
    case 10:
        return MEM_NVS;
    case 8:
        return MEM_UNUSABLE;
    default:
        return MEM_RESERVED;
    }
}

static bool parse_mb2(paddr_t info, struct boot_info *bi)
{
    const uint8_t *base = phys_to_virt(info);
    uint32_t total = *(const uint32_t *)base;
    bool have_mmap = false;
    const uint8_t *efi_map = NULL;
    uint32_t efi_size = 0, efi_desc = 0;

    bi->multiboot = 2;
    for (uint32_t off = 8; off + 8 <= total;) {
        const struct mb2_tag *t = (const void *)(base + off);
        const uint8_t *body = (const uint8_t *)(t + 1);
        if (t->type == MB2_TAG_END || t->size < 8)
            break;
        switch (t->type) {
        case MB2_TAG_CMDLINE:
            set_cmdline(bi, (const char *)body, false);
            break;
        case MB2_TAG_LOADER_NAME:
            bi->loader_name = keep_string(virt_to_phys(body), 128);
            break;
        case MB2_TAG_MODULE: {
            const uint32_t *m = (const uint32_t *)body;
            add_module(bi, m[0], m[1], virt_to_phys(&m[2]));
            break;
        }
        case MB2_TAG_MMAP: {
            uint32_t esize = ((const uint32_t *)body)[0];
            if (esize < 24)
                break;
            for (uint32_t p = 8; p + esize <= t->size - 8; p += esize) {
                const uint8_t *e = body + p;
                add_region(bi, *(const uint64_t *)e, *(const uint64_t *)(e + 8), *(const uint32_t *)(e + 16));
            }
            have_mmap = true;
            break;
        }
        case MB2_TAG_ACPI_OLD:
        case MB2_TAG_ACPI_NEW: {
            size_t n = MIN((size_t)(t->size - 8), sizeof(bi->rsdp));
            /* Prefer the ACPI 2.0+ copy when both are present. */
            if (!bi->have_rsdp || t->type == MB2_TAG_ACPI_NEW) {
                memset(bi->rsdp, 0, sizeof(bi->rsdp));
                memcpy(bi->rsdp, body, n);
                bi->have_rsdp = true;
            }
            break;
        }
        case MB2_TAG_EFI_MMAP:
            efi_desc = ((const uint32_t *)body)[0];
            efi_size = t->size - 16;
            efi_map = body + 8;
            bi->efi = true;
            break;
        default:
            break;
        }
        off += (t->size + 7) & ~7u;
    }
    if (efi_map && efi_desc >= 40) {
        bi->efi_mmap_entries = efi_size / efi_desc;
        if (!have_mmap) {
            for (uint32_t p = 0; p + efi_desc <= efi_size; p += efi_desc) {
                const uint8_t *d = efi_map + p;
                add_region(bi, *(const uint64_t *)(d + 8), *(const uint64_t *)(d + 24) << 12,
                           efi_type(*(const uint32_t *)d));
            }
        }
    }
    return bi->nr_mem > 0;
}

bool multiboot_parse(uint32_t magic, paddr_t info, struct boot_info *bi)
{
    if (magic == MB1_BOOTLOADER_MAGIC)
        return parse_mb1(info, bi);
    if (magic == MB2_BOOTLOADER_MAGIC)
        return parse_mb2(info, bi);
    return false;
}
