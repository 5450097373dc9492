/*
 * kmalloc/kfree: size-class slabs for small objects, whole frame-allocator
 * blocks for large ones (see keel/heap.h).
 *
 * A slab is one 4 KiB frame holding objects of one class back to back; its
 * bookkeeping lives in the frame's descriptor, not in the page, so a page
 * holds exactly 4096 / size objects (two of 2048 bytes, none wasted on a
 * header).  While the heap owns a frame, the descriptor's owner fields say:
 *   priv16      TAG_SLAB | class, or TAG_LARGE on the head of a large block
 *   priv        slab: first free object's offset (low 16 bits), objects in use (high 16)
 *   next, prev  slab: links of its class's list of pages with a free object
 * kfree finds all of it from the pointer alone: the frame's descriptor says
 * what the pointer is, and a large block's order is the allocator's.
 *
 * Free objects are chained through their first bytes and carry a magic
 * word; kfree of an object whose magic is set looks it up on its page's
 * free list (at most 256 entries), so double frees are caught exactly and
 * the common path stays O(1).
 */
#include <keel/heap.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/panic.h>
#include <asm/page.h>

#include "frame_internal.h"
#include "mm_lock.h"

#define HEAP_MAX_SMALL 2048
#define TAG_MASK 0xFF00
#define TAG_SLAB 0x5100 /* | class index */
#define TAG_LARGE 0x5200
#define FREE_END 0xFFFF
#define FREE_MAGIC 0x6565726620706165ULL /* "eap free" */

/* Multiples of 16 for the alignment; 1536 is left out because a 4 KiB
 * page holds two objects of it, no more than of 2048. */
static const uint16_t class_size[] = { 16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, HEAP_MAX_SMALL };
#define NR_CLASSES ARRAY_SIZE(class_size)

struct free_obj {
    uint16_t next; /* offset of the next free object in the page, FREE_END */
    uint16_t pad[3];
    uint64_t magic;
};

static spinlock_t heap_lock = SPINLOCK_INIT;
static struct frame_desc *partial[NR_CLASSES]; /* slab pages with a free object */
static struct heap_stats stats;

/* List links are descriptor indices plus one, so that 0 ends a list. */
static struct frame_desc *link_get(uint32_t v)
{
    return v ? frame_desc_at(v - 1) : NULL;
}

static uint32_t link_of(const struct frame_desc *d)
{
    return d ? frame_desc_index(d) + 1 : 0;
}

static void partial_add(unsigned c, struct frame_desc *d)
{
    d->next = link_of(partial[c]);
    d->prev = 0;
    if (partial[c])
        partial[c]->prev = link_of(d);
    partial[c] = d;
}

static void partial_del(unsigned c, struct frame_desc *d)
{
    struct frame_desc *prev = link_get(d->prev), *next = link_get(d->next);
    if (prev)
        prev->next = d->next;
    else
        partial[c] = next;
    if (next)
        next->prev = d->prev;
}

static unsigned class_for(size_t size)
{
    unsigned c = 0;
    while (class_size[c] < size)
        c++;
    return c;
}

static unsigned slab_objects(unsigned c)
{
    return PAGE_SIZE / class_size[c];
}

static struct frame_desc *new_slab(unsigned c)
{
    unsigned size = class_size[c], n = slab_objects(c);
    paddr_t pa = frame_alloc(0, 0);
    if (!pa)
        return NULL;
    char *page = phys_to_virt(pa);
    for (unsigned i = 0; i < n; i++) {
        struct free_obj *o = (struct free_obj *)(page + i * size);
        o->next = i + 1 < n ? (uint16_t)((i + 1) * size) : FREE_END;
        o->magic = FREE_MAGIC;
    }
    struct frame_desc *d = frame_desc_of(pa);
    d->priv16 = (uint16_t)(TAG_SLAB | c);
    d->priv = 0; /* first free object at offset 0, none in use */
    partial_add(c, d);
    stats.pages_in_use++;
    return d;
}

static void *large_alloc(size_t size)
{
    if (size > (PAGE_SIZE << FRAME_MAX_ORDER))
        return NULL;
    uint64_t pages = DIV_ROUND_UP(size, PAGE_SIZE);
    unsigned order = 0;
    while ((1ULL << order) < pages)
        order++;
    paddr_t pa = frame_alloc(order, 0);
    if (!pa)
        return NULL;
    unsigned long f = mm_lock(&heap_lock);
    frame_desc_of(pa)->priv16 = TAG_LARGE;
    stats.pages_in_use += 1ULL << order;
    stats.bytes_in_use += PAGE_SIZE << order;
    stats.allocations++;
    mm_unlock(&heap_lock, f);
    return phys_to_virt(pa);
}

void *kmalloc(size_t size)
{
    if (size > HEAP_MAX_SMALL)
        return large_alloc(size);
    unsigned c = class_for(size ? size : 1);
    unsigned long f = mm_lock(&heap_lock);
    struct frame_desc *d = partial[c];
    if (!d)
        d = new_slab(c);
    if (!d) {
        mm_unlock(&heap_lock, f);
        return NULL;
    }
    paddr_t pa = frame_desc_addr(d);
    unsigned off = d->priv & 0xFFFF, inuse = (d->priv >> 16) + 1;
    struct free_obj *o = (struct free_obj *)((char *)phys_to_virt(pa) + off);
    unsigned next = o->next;
    /* A write after free usually lands on the link: catch it here rather
     * than handing out memory at a wild offset. */
    if (next != FREE_END && (next % class_size[c] || next >= slab_objects(c) * class_size[c]))
        panic("kmalloc: free list of slab %#lx corrupted (use after free?)", (unsigned long)pa);
    o->magic = 0;
    d->priv = next | (uint32_t)inuse << 16;
    if (next == FREE_END)
        partial_del(c, d);
    stats.bytes_in_use += class_size[c];
    stats.allocations++;
    mm_unlock(&heap_lock, f);
    return o;
}

void *kzalloc(size_t size)
{
    void *p = kmalloc(size);
    if (p)
        memset(p, 0, size);
    return p;
}

/* Bounded both ways, so a corrupted list cannot lead the walk astray. */
static bool on_free_list(const struct frame_desc *d, const char *page, unsigned off)
{
    for (unsigned o = d->priv & 0xFFFF, n = 0; o < PAGE_SIZE && n < PAGE_SIZE / 16; n++) {
        if (o == off)
            return true;
        o = ((const struct free_obj *)(page + o))->next;
    }
    return false;
}

static void large_free(void *p, paddr_t pa, struct frame_desc *d, unsigned long f)
{
    if (!IS_ALIGNED(pa, PAGE_SIZE))
        panic("kfree(%p): inside a large allocation", p);
    unsigned order = d->order;
    d->priv16 = 0;
    stats.pages_in_use -= 1ULL << order;
    stats.bytes_in_use -= PAGE_SIZE << order;
    stats.allocations--;
    mm_unlock(&heap_lock, f);
    frame_free(pa, order);
}

void kfree(void *p)
{
    if (!p)
        return;
    paddr_t pa = virt_to_phys(p);
    struct frame_desc *d = frame_desc_of(pa);
    if (!d || d->state != FS_ALLOC)
        panic("kfree(%p): not a heap pointer", p);

    unsigned long f = mm_lock(&heap_lock);
    unsigned tag = d->priv16;
    if (tag == TAG_LARGE) {
        large_free(p, pa, d, f);
        return;
    }
    unsigned c = tag & ~TAG_MASK;
    if ((tag & TAG_MASK) != TAG_SLAB || c >= NR_CLASSES)
        panic("kfree(%p): not a heap pointer", p);
    unsigned size = class_size[c], off = pa & (PAGE_SIZE - 1);
    if (off % size || off >= slab_objects(c) * size)
        panic("kfree(%p): not the start of a %u-byte object", p, size);
    char *page = (char *)p - off;
    struct free_obj *o = p;
    if (o->magic == FREE_MAGIC && on_free_list(d, page, off))
        panic("kfree(%p): double free", p);

    if ((d->priv >> 16) == 0)
        panic("kfree(%p): slab %#lx has no object in use (use after free?)", p, (unsigned long)(pa & PAGE_MASK));
    unsigned head = d->priv & 0xFFFF, inuse = (d->priv >> 16) - 1;
    o->next = (uint16_t)head;
    o->magic = FREE_MAGIC;
    d->priv = off | (uint32_t)inuse << 16;
    stats.bytes_in_use -= size;
    stats.allocations--;
    if (inuse == 0) {
        /* Empty: straight back to the frame allocator. */
        if (head != FREE_END)
            partial_del(c, d);
        d->priv16 = 0;
        stats.pages_in_use--;
        mm_unlock(&heap_lock, f);
        frame_free(pa & PAGE_MASK, 0);
        return;
    }
    if (head == FREE_END)
        partial_add(c, d);
    mm_unlock(&heap_lock, f);
}

void heap_get_stats(struct heap_stats *st)
{
    unsigned long f = mm_lock(&heap_lock);
    *st = stats;
    mm_unlock(&heap_lock, f);
}
