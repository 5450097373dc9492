/*
 * alloc_pages(): a bump allocator over the RAM entries of the memory map,
 * in map order, from 1 MiB to 4 GiB (the identity map), stepping over the
 * image, the modules and the boot data wherever they are.  Nothing is ever
 * freed: tests are short.
 */
#include "rt.h"

#define LOW_LIMIT 0x100000ULL     /* leave the first MiB to the boot data */
#define HIGH_LIMIT 0x100000000ULL /* the identity map ends here */
#define MAX_RESERVED 64

struct range {
    uint64_t start, end;
};

static struct range reserved[MAX_RESERVED];
static unsigned nr_reserved;
static bool reserved_ready;
static unsigned region;  /* memory map entry being carved */
static uint64_t cursor;  /* lowest free address in it */
static struct spinlock alloc_lock;

static void reserve(uint64_t start, uint64_t size)
{
    if (size && nr_reserved < MAX_RESERVED)
        reserved[nr_reserved++] = (struct range){ start, start + size };
}

static void reserve_string(const char *s)
{
    if (*s)
        reserve((uintptr_t)s, strlen(s) + 1);
}

static void collect_reserved(void)
{
    reserve((uintptr_t)__image_start, (uintptr_t)__image_end - (uintptr_t)__image_start);
    reserve((uintptr_t)start_info, sizeof(*start_info));
    reserve_string(test_cmdline);
    reserve(start_info->memmap_paddr, (uint64_t)memmap_entries() * sizeof(struct hvm_memmap_table_entry));
    reserve(start_info->modlist_paddr, (uint64_t)nr_modules() * sizeof(struct hvm_modlist_entry));
    for (unsigned i = 0; i < nr_modules(); i++) {
        reserve(module_entry(i)->paddr, module_entry(i)->size);
        reserve_string(module_cmdline(i));
    }
    reserved_ready = true;
}

/* The end of a reserved range overlapping [p, p + n), or 0. */
static uint64_t overlap_end(uint64_t p, uint64_t n)
{
    for (unsigned i = 0; i < nr_reserved; i++)
        if (p < reserved[i].end && reserved[i].start < p + n)
            return reserved[i].end;
    return 0;
}

void *alloc_pages(size_t bytes, size_t align)
{
    void *result = NULL;

    if (!memmap_entries() || !bytes)
        return NULL;
    if (align < PAGE_SIZE)
        align = PAGE_SIZE;
    bytes = ALIGN_UP(bytes, (size_t)PAGE_SIZE);

    spin_lock(&alloc_lock);
    if (!reserved_ready)
        collect_reserved();
    for (; region < memmap_entries(); region++, cursor = 0) {
        const struct hvm_memmap_table_entry *e = memmap_entry(region);
        if (e->type != XEN_HVM_MEMMAP_TYPE_RAM)
            continue;
        uint64_t lo = e->addr, hi = e->addr + e->size;
        if (lo < LOW_LIMIT)
            lo = LOW_LIMIT;
        if (lo < cursor)
            lo = cursor;
        if (hi > HIGH_LIMIT)
            hi = HIGH_LIMIT;
        uint64_t p = ALIGN_UP(lo, (uint64_t)align);
        while (p + bytes <= hi) {
            uint64_t skip = overlap_end(p, bytes);
            if (!skip) {
                cursor = p + bytes;
                result = (void *)(uintptr_t)p;
                break;
            }
            p = ALIGN_UP(skip, (uint64_t)align);
        }
        if (result)
            break;
    }
    spin_unlock(&alloc_lock);
    if (result)
        memset(result, 0, bytes);
    return result;
}
