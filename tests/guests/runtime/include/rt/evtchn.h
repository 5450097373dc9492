/*
 * Event channels with 2-level bitmaps and upcalls delivered as an interrupt
 * vector (HVM_PARAM_CALLBACK_IRQ type 2).  tests/evtchn.c exercises it
 * (and SKIPs where the hypervisor returns -ENOSYS).
 */
#ifndef RT_EVTCHN_H
#define RT_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>

#include "keel_guest_abi.h"

/* Ports the 2-level ABI can name: 4096 (64-bit) or 1024 (32-bit). */
#define EVTCHN_NR_PORTS (sizeof(unsigned long) * 8 * sizeof(unsigned long) * 8)

/* The shared info page, mapped by shared_info_map(). */
extern struct shared_info *shared_info;

/* Map the shared info page over a page of this image
 * (XENMEM_add_to_physmap, XENMAPSPACE_shared_info).  0 or -errno. */
long shared_info_map(void);

/* Map shared info if needed, route upcalls to vector (32..255), and
 * unmask upcalls for the calling vCPU.  Interrupts stay as they are: call
 * sti() when ready.  0 or -errno. */
long evtchn_init(uint8_t vector);

typedef void (*evtchn_handler_t)(uint32_t port, void *arg);

/* fn(port, arg) runs in the upcall (interrupts off) each time port fires;
 * the pending bit is already cleared.  NULL unbinds.  The port is left
 * masked or unmasked as it is: see evtchn_unmask(). */
void evtchn_bind_handler(uint32_t port, evtchn_handler_t fn, void *arg);

void evtchn_mask(uint32_t port);
long evtchn_unmask(uint32_t port); /* EVTCHNOP_unmask: re-raises if pending */
bool evtchn_is_pending(uint32_t port);
void evtchn_clear(uint32_t port);

/* Thin wrappers over event_channel_op; 0 or -errno. */
long evtchn_alloc_unbound(uint16_t remote_dom, uint32_t *port);
long evtchn_bind_interdomain(uint16_t remote_dom, uint32_t remote_port, uint32_t *local_port);
long evtchn_bind_virq(uint32_t virq, uint32_t vcpu, uint32_t *port);
long evtchn_bind_ipi(uint32_t vcpu, uint32_t *port);
long evtchn_send(uint32_t port);
long evtchn_close(uint32_t port);

/* Upcalls handled so far on this domain (all vCPUs). */
extern volatile unsigned long evtchn_upcalls;

#endif
