/* Invariant checker for a frame_pool: the host tests run it after every
 * step; on a real machine it can run from a debug hook.  O(npfn). */
#include "frame_pool.h"

#define ORDER_PAGES(o) (1ULL << (o))

static const char *check_lists(const struct frame_pool *p, uint64_t *blocks)
{
    uint64_t total = 0;

    *blocks = 0;
    for (unsigned z = 0; z < NR_ZONES; z++) {
        uint64_t zone_pages = 0;
        for (unsigned o = 0; o <= FRAME_MAX_ORDER; o++) {
            uint32_t prev = FRAME_NIL, steps = 0;
            for (uint32_t i = p->head[z][o]; i != FRAME_NIL; prev = i, i = p->desc[i].next) {
                const struct frame_desc *d = &p->desc[i];
                uint64_t pfn = p->base_pfn + i;
                if (i >= p->npfn)
                    return "free list link outside the pool";
                if (++steps > p->npfn)
                    return "free list loops";
                if (d->state != FS_FREE || d->order != o)
                    return "free list entry is not a free head of the list's order";
                if (d->prev != prev)
                    return "free list back link broken";
                if (pfn & (ORDER_PAGES(o) - 1))
                    return "free block misaligned";
                if (ORDER_PAGES(o) > p->npfn - i)
                    return "free block runs past the pool";
                if ((pfn < FRAME_DMA32_PFN ? ZONE_DMA32 : ZONE_HIGH) != z)
                    return "free block on the wrong zone's list";
                if (o < FRAME_MAX_ORDER) {
                    uint64_t buddy = pfn ^ ORDER_PAGES(o);
                    if (buddy >= p->base_pfn && buddy - p->base_pfn < p->npfn) {
                        const struct frame_desc *b = &p->desc[buddy - p->base_pfn];
                        if (b->state == FS_FREE && b->order == o)
                            return "two free buddies not coalesced";
                    }
                }
                zone_pages += ORDER_PAGES(o);
                (*blocks)++;
            }
        }
        if (zone_pages != p->zone_free[z])
            return "zone free counter differs from its lists";
        total += zone_pages;
    }
    if (total != p->free_pages)
        return "free counter differs from the lists";
    return NULL;
}

const char *frame_pool_check(const struct frame_pool *p)
{
    uint64_t listed, heads = 0, allocated = 0;
    const char *err = check_lists(p, &listed);
    if (err)
        return err;

    /* Walk the frames: a block's head is followed by 2^order - 1 frames
     * that are no block's head, so blocks never overlap. */
    for (uint64_t i = 0; i < p->npfn;) {
        const struct frame_desc *d = &p->desc[i];
        if (d->state == FS_NONE) {
            i++;
            continue;
        }
        if (d->state != FS_FREE && d->state != FS_ALLOC)
            return "bad descriptor state";
        if (d->order > FRAME_MAX_ORDER || ORDER_PAGES(d->order) > p->npfn - i)
            return "block order out of range";
        for (uint64_t j = 1; j < ORDER_PAGES(d->order); j++)
            if (p->desc[i + j].state != FS_NONE)
                return "blocks overlap";
        if (d->state == FS_FREE)
            heads++;
        else
            allocated += ORDER_PAGES(d->order);
        i += ORDER_PAGES(d->order);
    }
    if (heads != listed)
        return "free head missing from the lists";
    if (p->total_pages != p->free_pages + p->reserved_pages + allocated)
        return "total != free + reserved + allocated";
    return NULL;
}
