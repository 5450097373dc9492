/* What the loader handed over: the PVH start info, the command line and its
 * key=value options, modules, the memory map, and pages of free RAM. */
#ifndef RT_BOOT_H
#define RT_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel_guest_abi.h"

/* The validated start info, or NULL (wrong magic in EBX). */
extern const struct hvm_start_info *start_info;

/* The command line; "" when there is none (never NULL). */
extern const char *test_cmdline;

/* Options are blank-separated words "key" or "key=value".  The last
 * occurrence of a key wins. */
bool cmdline_has(const char *key);
/* Copies the value into buf (truncating to len - 1 bytes); false if absent.
 * A bare "key" has the value "". */
bool cmdline_str(const char *key, char *buf, size_t len);
/* Decimal or 0x-hex; def when absent or not a number. */
unsigned long long cmdline_ull(const char *key, unsigned long long def);
/* "1", "yes", "on", "true" or a bare "key" are true; "0", "no", "off",
 * "false" are false; def otherwise. */
bool cmdline_bool(const char *key, bool def);

/* Boot modules (0 without start info). */
unsigned nr_modules(void);
const struct hvm_modlist_entry *module_entry(unsigned i);
const char *module_cmdline(unsigned i); /* "" when it has none */

/* Memory map (0 entries without start info). */
unsigned memmap_entries(void);
const struct hvm_memmap_table_entry *memmap_entry(unsigned i);
uint64_t ram_bytes(void); /* sum of the RAM entries */

/* Physically contiguous, zeroed memory from the RAM entries of the memory
 * map, above the image and clear of the modules and boot data, below 4 GiB
 * (identity-mapped).  align is a power of two (at least PAGE_SIZE is used).
 * Never freed.  NULL when nothing fits or there is no memory map. */
void *alloc_pages(size_t bytes, size_t align);

/* The image as linked (for tests that poke at their own memory). */
extern char __image_start[], __image_end[], __bss_start[], __bss_end[];

/* A page of the image the page tables leave unmapped: any access faults
 * (#PF) in both flavours.  The 64-bit flavour also maps nothing above
 * 4 GiB. */
extern char unmapped_page[];

#endif
