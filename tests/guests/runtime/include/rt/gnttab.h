/*
 * Grant tables (v1) from the guest's side: the table mapped into this
 * image (XENMAPSPACE_grant_table), granting and revoking entries, and
 * mapping another domain's grant at a guest-physical address with no RAM
 * behind it (alloc_unpopulated(): mapping over RAM would give that page up
 * for good).  tests/abi_gnttab.c and tests/grant.c exercise it.
 */
#ifndef RT_GNTTAB_H
#define RT_GNTTAB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "keel_guest_abi.h"

/* Frames the runtime can map (512 entries each). */
#define GNTTAB_RT_FRAMES 4
#define GNTTAB_ENTRIES_PER_FRAME (4096 / sizeof(struct grant_entry_v1))

/* The table (frame 0 first, contiguous); NULL before gnttab_init(). */
extern struct grant_entry_v1 *grant_table;
extern unsigned grant_table_frames;

/* Map frames 0 .. frames-1 of our grant table over pages of this image
 * (growing it as needed).  0 or -errno. */
long gnttab_init(unsigned frames);

/* Let domid map (or only read, with readonly) the page at guest frame
 * gfn through entry ref: frame and domid first, then the flags. */
void gnttab_grant(uint32_t ref, uint16_t domid, uint32_t gfn, bool readonly);

/* Take entry ref back unless a mapping holds it (GTF_reading/GTF_writing):
 * true if revoked. */
bool gnttab_revoke(uint32_t ref);

/* GNTTABOP_map_grant_ref of (dom, ref) at guest-physical host_addr with
 * flags (GNTMAP_host_map, maybe GNTMAP_readonly).  Returns the hypercall's
 * result; *status the GNTST_* of the operation, *handle on success. */
long gnttab_map(uint16_t dom, uint32_t ref, uint64_t host_addr, uint32_t flags, uint32_t *handle,
                int16_t *status);

/* GNTTABOP_unmap_grant_ref; as gnttab_map. */
long gnttab_unmap(uint32_t handle, uint64_t host_addr, int16_t *status);

/* Guest-physical (and identity-mapped virtual) pages with no RAM behind
 * them, above the memory map's last entry and below 3 GiB: where foreign
 * and hypervisor pages can be mapped without losing RAM.  Touching one
 * before something is mapped there crashes the domain.  Never freed; NULL
 * when exhausted. */
void *alloc_unpopulated(size_t bytes);

#endif
