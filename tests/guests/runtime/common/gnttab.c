/* Grant tables (rt/gnttab.h). */
#include "rt.h"

static uint8_t table_pages[GNTTAB_RT_FRAMES][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

struct grant_entry_v1 *grant_table;
unsigned grant_table_frames;

long gnttab_init(unsigned frames)
{
    if (!frames || frames > GNTTAB_RT_FRAMES)
        return -EINVAL;
    for (unsigned i = grant_table_frames; i < frames; i++) {
        struct xen_add_to_physmap xatp = {
            .domid = DOMID_SELF,
            .space = XENMAPSPACE_grant_table,
            .idx = i,
            .gpfn = (uintptr_t)table_pages[i] / PAGE_SIZE,
        };
        long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
        if (rc)
            return rc;
        grant_table_frames = i + 1;
    }
    grant_table = (struct grant_entry_v1 *)table_pages[0];
    return 0;
}

void gnttab_grant(uint32_t ref, uint16_t domid, uint32_t gfn, bool readonly)
{
    struct grant_entry_v1 *e = &grant_table[ref];
    e->frame = gfn;
    e->domid = domid;
    /* The hypervisor must see frame and domid before the flags. */
    __atomic_store_n(&e->flags, (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)), __ATOMIC_RELEASE);
}

bool gnttab_revoke(uint32_t ref)
{
    uint16_t *flags = &grant_table[ref].flags;
    uint16_t f = __atomic_load_n(flags, __ATOMIC_ACQUIRE);
    do {
        if (f & (GTF_reading | GTF_writing))
            return false;
    } while (!__atomic_compare_exchange_n(flags, &f, 0, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    return true;
}

long gnttab_map(uint16_t dom, uint32_t ref, uint64_t host_addr, uint32_t flags, uint32_t *handle,
                int16_t *status)
{
    struct gnttab_map_grant_ref op = { .host_addr = host_addr, .flags = flags, .ref = ref, .dom = dom };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_map_grant_ref, &op, 1);
    *status = rc ? GNTST_general_error : op.status;
    *handle = op.handle;
    return rc;
}

long gnttab_unmap(uint32_t handle, uint64_t host_addr, int16_t *status)
{
    struct gnttab_unmap_grant_ref op = { .host_addr = host_addr, .handle = handle };
    long rc = HYPERVISOR_grant_table_op(GNTTABOP_unmap_grant_ref, &op, 1);
    *status = rc ? GNTST_general_error : op.status;
    return rc;
}

void *alloc_unpopulated(size_t bytes)
{
    static struct spinlock lock;
    static uint64_t next;
    const uint64_t limit = 0xC0000000ULL; /* the top GiB is MMIO (uncached) */
    void *p = NULL;

    bytes = ALIGN_UP(bytes, (size_t)PAGE_SIZE);
    spin_lock(&lock);
    if (!next) {
        uint64_t top = 0x40000000ULL; /* at least 1 GiB: clear of RAM */
        for (unsigned i = 0; i < memmap_entries(); i++) {
            const struct hvm_memmap_table_entry *e = memmap_entry(i);
            if (e->addr < limit && e->addr + e->size > top)
                top = e->addr + e->size;
        }
        next = ALIGN_UP(top, 0x200000ULL);
    }
    if (next + bytes <= limit) {
        p = (void *)(uintptr_t)next;
        next += bytes;
    }
    spin_unlock(&lock);
    return p;
}
