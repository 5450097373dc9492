/* What the boot loader told us, copied out of the loader's structures
 * before any of that memory is reused. */
#ifndef KEEL_BOOT_H
#define KEEL_BOOT_H

#include <keel/types.h>

#define BOOT_MAX_MEMMAP 256
#define BOOT_MAX_MODULES 64
#define BOOT_CMDLINE_MAX 2048
#define BOOT_STRPOOL_SIZE (32 * 1024)

/* E820-style region types (ACPI spec "Address Range Types"). */
enum mem_type {
    MEM_RAM = 1,
    MEM_RESERVED = 2,
    MEM_ACPI = 3,
    MEM_NVS = 4,
    MEM_UNUSABLE = 5,
};

struct boot_mem_region {
    uint64_t base;
    uint64_t size;
    uint32_t type;
};

struct boot_module {
    paddr_t start;
    paddr_t end; /* exclusive */
    const char *cmdline;
};

struct boot_info {
    unsigned multiboot; /* 1 or 2 */
    const char *loader_name;
    char cmdline[BOOT_CMDLINE_MAX];
    struct boot_mem_region mem[BOOT_MAX_MEMMAP];
    unsigned nr_mem;
    struct boot_module mods[BOOT_MAX_MODULES];
    unsigned nr_mods;
    /* ACPI RSDP as handed over by the loader (multiboot2 tags 14/15);
     * under UEFI there is no BIOS area to scan for it. */
    uint8_t rsdp[36];
    bool have_rsdp;
    bool efi;             /* booted through UEFI (EFI memory map present) */
    unsigned efi_mmap_entries;
    uint64_t entry_tsc;   /* TSC at the first C instruction */
};

extern struct boot_info boot_info;

/* Parse multiboot information at physical address info (magic from EAX). */
bool multiboot_parse(uint32_t magic, paddr_t info, struct boot_info *bi);

/* Arch-independent entry, after the boot CPU's basics are up. */
__noreturn void keel_main(void);

#endif
