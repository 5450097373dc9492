/*
 * Event channels with 2-level bitmaps and upcalls delivered as an interrupt
 * vector (HVM_PARAM_CALLBACK_IRQ type 2).  tests/evtchn.c and
 * tests/abi_evtchn.c exercise it.
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

/* Route vcpu's upcalls to its own vector (HVMOP_set_evtchn_upcall_vector)
 * with the runtime's handler.  0 or -errno. */
long evtchn_set_upcall_vector(unsigned vcpu, uint8_t vector);

/* The upcall itself, for a test's own interrupt handler: handles every
 * pending, unmasked event of this vCPU (Xen's 2-level protocol). */
void evtchn_do_upcall(void);

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

long evtchn_bind_vcpu(uint32_t port, uint32_t vcpu);
long evtchn_status(uint16_t dom, uint32_t port, struct evtchn_status *st);

/* Upcalls handled so far on this domain (all vCPUs). */
extern volatile unsigned long evtchn_upcalls;

/* --- vcpu_info ------------------------------------------------------------
 * vCPUs 0-31 start with their vcpu_info in shared info.  Registering
 * another area (VCPUOP_register_vcpu_info: 64 bytes, identity-mapped RAM)
 * moves it there for good, also for vCPUs 32 and up; the upcall handler and
 * the pvclock helpers follow. */

/* This vCPU's vcpu_info: the registered one, its shared-info slot, or NULL. */
struct vcpu_info *this_vcpu_info(void);
struct vcpu_info *vcpu_info_of(unsigned vcpu);

/* VCPUOP_register_vcpu_info for vcpu (itself, or one that is down).  0 or
 * -errno. */
long vcpu_info_register(unsigned vcpu, struct vcpu_info *vi);

/* --- Two domains finding each other --------------------------------------
 * The scheme the two-domain tests use (ping/pong, grants, fuzz and its
 * neighbour): each side is told the other's domain id on its command line,
 * as "peer=N" (absolute) or "peer=+N" / "peer=-N" (relative to its own id;
 * domains of one manifest test get consecutive ids).  The offering side
 * allocates an unbound port for the peer (evtchn_offer); the connecting
 * side scans the peer's ports 1.. EVTCHN_SCAN_PORTS with bind_interdomain,
 * which succeeds only on a port unbound for it (evtchn_connect).  Both
 * retry until their timeout, so start order does not matter. */

#define EVTCHN_SCAN_PORTS 64

/* The peer's domain id from the command line option key (absolute or
 * relative, see above); def_offset relative to our id when absent.
 * DOMID_INVALID if neither gives a usable id. */
uint16_t cmdline_peer(const char *key, int def_offset);

/* alloc_unbound for remote, retried while remote does not exist (-ESRCH)
 * until timeout_ns (pvclock) passes.  0 or -errno (-ETIMEDOUT). */
long evtchn_offer(uint16_t remote, uint32_t *port, uint64_t timeout_ns);

/* bind_interdomain to the first of remote's ports 1..EVTCHN_SCAN_PORTS
 * unbound for us, retried until timeout_ns.  0 or -ETIMEDOUT; *local and
 * *remote_port receive the pair. */
long evtchn_connect(uint16_t remote, uint32_t *local, uint32_t *remote_port, uint64_t timeout_ns);

/* Wait with interrupts on, yielding the CPU (SCHEDOP_yield), until
 * cond(arg) holds (upcalls run meanwhile) or timeout_ns of pvclock time
 * passes.  Restores the interrupt flag.  True if cond held. */
bool evtchn_wait(bool (*cond)(void *), void *arg, uint64_t timeout_ns);

#endif
