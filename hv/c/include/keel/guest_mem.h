/*
 * Reaching guest memory safely.  Every guest-supplied address goes through
 * here: a guest virtual address is translated through the guest's own page
 * tables, then through the domain's p2m; anything unmapped, not owned by the
 * domain or without the needed permission is -EFAULT, never a host fault.
 */
#ifndef KEEL_GUEST_MEM_H
#define KEEL_GUEST_MEM_H

#include <keel/types.h>

struct vcpu;
struct domain;

/* Host pointer to the guest frame gfn (RAM or a hypervisor page mapped into
 * the guest), or NULL. */
void *gfn_to_virt(struct domain *d, gfn_t gfn, bool write);

/* Guest physical copies (may cross frames). */
int copy_from_gpa(struct domain *d, void *dst, gpa_t src, size_t len);
int copy_to_gpa(struct domain *d, gpa_t dst, const void *src, size_t len);
int clear_gpa(struct domain *d, gpa_t dst, size_t len);

/* Translate a guest virtual address with the vCPU's current paging mode.
 * Returns 0 or -EFAULT. */
int guest_translate(struct vcpu *v, gva_t va, bool write, gpa_t *gpa);
/* Guest virtual copies, checked page by page. */
int copy_from_guest(struct vcpu *v, void *dst, gva_t src, size_t len);
int copy_to_guest(struct vcpu *v, gva_t dst, const void *src, size_t len);

#endif
