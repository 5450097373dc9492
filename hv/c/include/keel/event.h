/*
 * Event channels (Xen's 2-level ABI) and the shared-info page they signal
 * through.  Ports are per domain; pending and mask bits live in the guest's
 * shared info, the per-vCPU selector and upcall flag in its vcpu_info.
 */
#ifndef KEEL_EVENT_H
#define KEEL_EVENT_H

#include <abi.h>
#include <keel/spinlock.h>
#include <keel/types.h>

struct domain;
struct vcpu;

#define EVTCHN_PORTS_NATIVE 4096 /* 64 words of 64 bits */
#define EVTCHN_PORTS_COMPAT 1024 /* 32 words of 32 bits */

enum evtchn_state {
    ECS_FREE = EVTCHNSTAT_closed,
    ECS_UNBOUND = EVTCHNSTAT_unbound,
    ECS_INTERDOMAIN = EVTCHNSTAT_interdomain,
    ECS_VIRQ = EVTCHNSTAT_virq,
    ECS_IPI = EVTCHNSTAT_ipi,
};

struct evtchn {
    uint8_t state;
    uint16_t remote_dom;  /* unbound: who may bind; interdomain: the peer */
    uint32_t remote_port;
    uint32_t virq;
    uint32_t vcpu;        /* vCPU notified */
};

#define EVTCHN_BUCKET 64 /* ports are allocated in buckets of 64, on demand */

struct evtchn_domain {
    spinlock_t lock;
    struct evtchn *bucket[EVTCHN_PORTS_NATIVE / EVTCHN_BUCKET];
    uint32_t virq_port[NR_VIRQS];            /* global VIRQs (console, dom_exc) */
    uint32_t *vcpu_virq_port;                /* [max_vcpus][NR_VIRQS]: per-vCPU VIRQs */
};

/* Shared info and vcpu_info. */
int shared_info_init(struct domain *d);
void shared_info_teardown(struct domain *d);
/* Map the shared-info page at gfn (XENMEM_add_to_physmap). */
int shared_info_map(struct vcpu *caller, struct domain *d, gfn_t gfn);
/* Is the domain's shared info in the 32-bit layout? */
bool shared_info_compat(const struct domain *d);
/* Host pointer to the vcpu_info of v, or NULL if there is none yet. */
void *vcpu_info_ptr(struct vcpu *v);
int vcpu_info_register(struct vcpu *v, gfn_t gfn, uint32_t offset);
/* Publish the pvclock time record for v (after mapping or migration). */
void vcpu_time_update(struct vcpu *v);

/* Event delivery. */
int evtchn_init(struct domain *d);
void evtchn_teardown(struct domain *d);
/* Raise a port of d (from the peer, a VIRQ or an IPI). */
void evtchn_set_pending(struct domain *d, uint32_t port);
/* Send a VIRQ to one vCPU (per-vCPU VIRQs) or to the domain (global ones). */
bool send_virq(struct vcpu *v, unsigned virq);
bool send_global_virq(struct domain *d, unsigned virq);
/* The upcall must be (re)raised: events are pending and not masked. */
void evtchn_check_upcall(struct vcpu *v);
/* Is any of these ports pending for v's domain? */
bool evtchn_port_pending(struct domain *d, uint32_t port);

#endif
