/*
 * The buddy algorithm on its own: a frame_pool manages the frames
 * [base_pfn, base_pfn + npfn) through a descriptor array the caller
 * provides.  It knows nothing of boot_info, locks or mappings, and never
 * touches the frames themselves, so host tests run it on synthetic maps.
 *
 * Free lists are threaded through the descriptors of free block heads.
 * Blocks are aligned on absolute frame numbers (an order-k block starts at a
 * multiple of 2^k frames), so they suit large-page mappings.  Two zones keep
 * low memory for those who need it: below 4 GiB (DMA32) and above.  A block
 * never straddles 4 GiB because 4 GiB is a multiple of the largest block.
 */
#ifndef CORE_MM_FRAME_POOL_H
#define CORE_MM_FRAME_POOL_H

#include <keel/mm.h>
#include <keel/types.h>

#define FRAME_NIL UINT32_MAX /* end of a list; descriptor indices are 32 bits */
#define FRAME_POOL_MAX_FRAMES ((uint64_t)FRAME_NIL) /* 16 TiB of frames per pool */
#define FRAME_DMA32_PFN (GiB(4) >> PAGE_SHIFT)

enum frame_zone { ZONE_DMA32, ZONE_HIGH, NR_ZONES };

enum frame_state {
    FS_NONE = 0, /* inside a block, not RAM, or reserved */
    FS_FREE,     /* head of a free block of `order` */
    FS_ALLOC,    /* head of an allocated block of `order` */
};

/*
 * 16 bytes per 4 KiB frame (4 MiB per GiB).  While a frame belongs to an
 * allocated block, next, prev, priv and priv16 are its owner's (the heap
 * keeps its slab state there); the pool clears priv and priv16 of a block's
 * head when handing it out, so stale owner tags never survive a reuse.
 */
struct frame_desc {
    uint32_t next, prev; /* FS_FREE heads: free-list links (descriptor indices) */
    uint32_t priv;
    uint16_t priv16;
    uint8_t order; /* FS_FREE and FS_ALLOC heads */
    uint8_t state; /* enum frame_state */
};

struct frame_pool {
    struct frame_desc *desc;
    uint64_t base_pfn, npfn;
    uint32_t head[NR_ZONES][FRAME_MAX_ORDER + 1];
    uint64_t zone_free[NR_ZONES]; /* free frames per zone */
    uint64_t free_pages;
    uint64_t total_pages;    /* frames added with add_range */
    uint64_t reserved_pages; /* added frames taken out by reserve */
};

enum frame_pool_err {
    FP_OK = 0,
    FP_BAD_ORDER,   /* order above FRAME_MAX_ORDER */
    FP_OUTSIDE,     /* block not inside the pool */
    FP_UNALIGNED,   /* address not aligned to the order */
    FP_NOT_ALLOC,   /* not the head of an allocated block: double free or stray */
    FP_WRONG_ORDER, /* allocated with another order */
};

/* Descriptor array: npfn entries, npfn <= FRAME_POOL_MAX_FRAMES.  All frames
 * start as neither free nor RAM. */
void frame_pool_init(struct frame_pool *p, struct frame_desc *desc, uint64_t base_pfn, uint64_t npfn);

/* Hand RAM frames [start, end) to the pool (clipped to it).  Ranges must
 * not overlap earlier ones.  Frame 0 is counted but kept reserved so that
 * 0 can mean "no frame". */
void frame_pool_add_range(struct frame_pool *p, uint64_t start, uint64_t end);

/* Take the free frames of [start, end) out for good; frames not free (not
 * RAM, already reserved or allocated) are left alone.  Returns the number
 * of frames reserved now. */
uint64_t frame_pool_reserve(struct frame_pool *p, uint64_t start, uint64_t end);

/* First frame of a free 2^order block, or 0.  dma32_only restricts it to
 * below 4 GiB; otherwise memory above 4 GiB is used first. */
uint64_t frame_pool_alloc(struct frame_pool *p, unsigned order, bool dma32_only);

/* Return a block, coalescing it with free buddies.  On error nothing changes. */
enum frame_pool_err frame_pool_free(struct frame_pool *p, uint64_t pfn, unsigned order);

/* Descriptor of a frame, or NULL outside the pool. */
/* Turn an allocated block of 2^order frames into 2^order allocated single
 * frames, each to be freed with order 0. */
enum frame_pool_err frame_pool_split(struct frame_pool *p, uint64_t pfn, unsigned order);
struct frame_desc *frame_pool_desc(const struct frame_pool *p, uint64_t pfn);

/* Check every invariant (links, states, zones, counters, full coalescing);
 * returns a description of the first violation or NULL.  Debug aid, O(npfn). */
const char *frame_pool_check(const struct frame_pool *p);

const char *frame_pool_strerror(enum frame_pool_err e);

#endif
