/* The buddy algorithm (see frame_pool.h).  Every operation is O(FRAME_MAX_ORDER)
 * except reserve, which is boot-time only. */
#include <keel/lib.h>

#include "frame_pool.h"

#define ORDER_PAGES(o) (1ULL << (o))

static enum frame_zone zone_of(uint64_t pfn)
{
    return pfn < FRAME_DMA32_PFN ? ZONE_DMA32 : ZONE_HIGH;
}

static bool in_pool(const struct frame_pool *p, uint64_t pfn)
{
    return pfn >= p->base_pfn && pfn - p->base_pfn < p->npfn;
}

static struct frame_desc *desc_of(const struct frame_pool *p, uint64_t pfn)
{
    return &p->desc[pfn - p->base_pfn];
}

/* The free lists and the free counters change only here, so the counters
 * cannot drift from the lists. */
static void list_add(struct frame_pool *p, uint64_t pfn, unsigned order)
{
    uint32_t i = (uint32_t)(pfn - p->base_pfn);
    enum frame_zone z = zone_of(pfn);
    uint32_t *head = &p->head[z][order];
    struct frame_desc *d = &p->desc[i];

    d->next = *head;
    d->prev = FRAME_NIL;
    if (*head != FRAME_NIL)
        p->desc[*head].prev = i;
    *head = i;
    d->order = (uint8_t)order;
    d->state = FS_FREE;
    p->zone_free[z] += ORDER_PAGES(order);
    p->free_pages += ORDER_PAGES(order);
}

static void list_del(struct frame_pool *p, uint64_t pfn)
{
    uint32_t i = (uint32_t)(pfn - p->base_pfn);
    enum frame_zone z = zone_of(pfn);
    struct frame_desc *d = &p->desc[i];

    if (d->prev == FRAME_NIL)
        p->head[z][d->order] = d->next;
    else
        p->desc[d->prev].next = d->next;
    if (d->next != FRAME_NIL)
        p->desc[d->next].prev = d->prev;
    d->state = FS_NONE;
    p->zone_free[z] -= ORDER_PAGES(d->order);
    p->free_pages -= ORDER_PAGES(d->order);
}

/* Insert a block, merging it with its buddy for as long as the buddy is a
 * free block of the same order: the pool never holds two free buddies. */
static void free_block(struct frame_pool *p, uint64_t pfn, unsigned order)
{
    while (order < FRAME_MAX_ORDER) {
        uint64_t buddy = pfn ^ ORDER_PAGES(order);
        if (!in_pool(p, buddy))
            break;
        const struct frame_desc *b = desc_of(p, buddy);
        if (b->state != FS_FREE || b->order != order)
            break;
        list_del(p, buddy);
        pfn &= ~ORDER_PAGES(order);
        order++;
    }
    list_add(p, pfn, order);
}

/* Free [start, end) as the largest aligned blocks that fit. */
static void free_span(struct frame_pool *p, uint64_t start, uint64_t end)
{
    while (start < end) {
        unsigned order = start ? (unsigned)__builtin_ctzll(start) : FRAME_MAX_ORDER;
        order = MIN(order, FRAME_MAX_ORDER);
        while (ORDER_PAGES(order) > end - start)
            order--;
        free_block(p, start, order);
        start += ORDER_PAGES(order);
    }
}

void frame_pool_init(struct frame_pool *p, struct frame_desc *desc, uint64_t base_pfn, uint64_t npfn)
{
    memset(p, 0, sizeof(*p));
    p->desc = desc;
    p->base_pfn = base_pfn;
    p->npfn = MIN(npfn, FRAME_POOL_MAX_FRAMES);
    for (unsigned z = 0; z < NR_ZONES; z++)
        for (unsigned o = 0; o <= FRAME_MAX_ORDER; o++)
            p->head[z][o] = FRAME_NIL;
    /* Only the state matters until a frame becomes a block head (which
     * writes the rest), and one store per frame instead of sixteen keeps
     * the boot quick on big machines. */
    for (uint64_t i = 0; i < p->npfn; i++)
        desc[i].state = FS_NONE;
}

void frame_pool_add_range(struct frame_pool *p, uint64_t start, uint64_t end)
{
    start = MAX(start, p->base_pfn);
    end = MIN(end, p->base_pfn + p->npfn);
    if (start >= end)
        return;
    p->total_pages += end - start;
    if (start == 0) {
        p->reserved_pages++;
        start = 1;
    }
    free_span(p, start, end);
}

/* The free block containing pfn, if any.  Walking up the alignments, the
 * first block head met decides: a larger block containing pfn would overlap
 * it. */
static bool find_free_block(const struct frame_pool *p, uint64_t pfn, uint64_t *head)
{
    for (unsigned k = 0; k <= FRAME_MAX_ORDER; k++) {
        uint64_t h = pfn & ~(ORDER_PAGES(k) - 1);
        if (h < p->base_pfn)
            return false;
        const struct frame_desc *d = desc_of(p, h);
        if (d->state == FS_NONE)
            continue;
        *head = h;
        return d->state == FS_FREE && pfn < h + ORDER_PAGES(d->order);
    }
    return false;
}

uint64_t frame_pool_reserve(struct frame_pool *p, uint64_t start, uint64_t end)
{
    uint64_t taken = 0, h;

    start = MAX(start, p->base_pfn);
    end = MIN(end, p->base_pfn + p->npfn);
    for (uint64_t f = start; f < end;) {
        if (!find_free_block(p, f, &h)) {
            f++;
            continue;
        }
        uint64_t bend = h + ORDER_PAGES(desc_of(p, h)->order);
        uint64_t stop = MIN(end, bend);
        list_del(p, h);
        free_span(p, h, f);
        free_span(p, stop, bend);
        taken += stop - f;
        f = stop;
    }
    p->reserved_pages += taken;
    return taken;
}

uint64_t frame_pool_alloc(struct frame_pool *p, unsigned order, bool dma32_only)
{
    static const enum frame_zone prefer_high[] = { ZONE_HIGH, ZONE_DMA32 };
    const enum frame_zone *zones = dma32_only ? &prefer_high[1] : prefer_high;
    unsigned nzones = dma32_only ? 1 : 2;

    /* The counter check also keeps a never-initialised pool (all zeroes,
     * list heads included) from being used. */
    if (order > FRAME_MAX_ORDER || p->free_pages < ORDER_PAGES(order))
        return 0;
    for (unsigned zi = 0; zi < nzones; zi++) {
        for (unsigned j = order; j <= FRAME_MAX_ORDER; j++) {
            uint32_t i = p->head[zones[zi]][j];
            if (i == FRAME_NIL)
                continue;
            uint64_t pfn = p->base_pfn + i;
            list_del(p, pfn);
            /* Split: the upper halves go back on the lists. */
            while (j > order) {
                j--;
                list_add(p, pfn + ORDER_PAGES(j), j);
            }
            struct frame_desc *d = &p->desc[i];
            d->state = FS_ALLOC;
            d->order = (uint8_t)order;
            d->priv = 0;
            d->priv16 = 0;
            return pfn;
        }
    }
    return 0;
}

enum frame_pool_err frame_pool_free(struct frame_pool *p, uint64_t pfn, unsigned order)
{
    if (order > FRAME_MAX_ORDER)
        return FP_BAD_ORDER;
    if (!in_pool(p, pfn) || ORDER_PAGES(order) > p->base_pfn + p->npfn - pfn)
        return FP_OUTSIDE;
    if (pfn & (ORDER_PAGES(order) - 1))
        return FP_UNALIGNED;
    struct frame_desc *d = desc_of(p, pfn);
    if (d->state != FS_ALLOC)
        return FP_NOT_ALLOC;
    if (d->order != order)
        return FP_WRONG_ORDER;
    d->state = FS_NONE;
    free_block(p, pfn, order);
    return FP_OK;
}

enum frame_pool_err frame_pool_split(struct frame_pool *p, uint64_t pfn, unsigned order)
{
    if (order > FRAME_MAX_ORDER)
        return FP_BAD_ORDER;
    if (!in_pool(p, pfn) || ORDER_PAGES(order) > p->base_pfn + p->npfn - pfn)
        return FP_OUTSIDE;
    if (pfn & (ORDER_PAGES(order) - 1))
        return FP_UNALIGNED;
    struct frame_desc *d = desc_of(p, pfn);
    if (d->state != FS_ALLOC)
        return FP_NOT_ALLOC;
    if (d->order != order)
        return FP_WRONG_ORDER;
    for (uint64_t i = 0; i < ORDER_PAGES(order); i++) {
        struct frame_desc *f = desc_of(p, pfn + i);
        f->state = FS_ALLOC;
        f->order = 0;
        f->priv = 0;
        f->priv16 = 0;
    }
    return FP_OK;
}

struct frame_desc *frame_pool_desc(const struct frame_pool *p, uint64_t pfn)
{
    return in_pool(p, pfn) ? desc_of(p, pfn) : NULL;
}

const char *frame_pool_strerror(enum frame_pool_err e)
{
    switch (e) {
    case FP_OK:
        return "ok";
    case FP_BAD_ORDER:
        return "order too large";
    case FP_OUTSIDE:
        return "not managed memory";
    case FP_UNALIGNED:
        return "not aligned to the order";
    case FP_NOT_ALLOC:
        return "not an allocated block (double free?)";
    case FP_WRONG_ORDER:
        return "freed with the wrong order";
    }
    return "?";
}
