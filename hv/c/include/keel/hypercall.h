/* Helpers shared by the hypercall handlers in core/abi/. */
#ifndef KEEL_HYPERCALL_H
#define KEEL_HYPERCALL_H

#include <abi.h>
#include <keel/types.h>

struct vcpu;

/* SCHEDOP_poll and SCHEDOP_remote_shutdown live with the event channels
 * and the control interface. */
long sched_poll(struct vcpu *v, abi_gva_t arg);
long sched_remote_shutdown(struct vcpu *v, abi_gva_t arg);

struct domain;
struct vcpu_hvm_context;
/* Give a vCPU that is not running the state described by ctx (VCPUOP_initialise,
 * KEEL_DOMCTL_setvcpucontext). */
int vcpu_set_abi_context(struct vcpu *t, const struct vcpu_hvm_context *ctx);

struct keel_domaininfo;
/* The control interface's view of a domain. */
void domain_fill_info(const struct domain *d, struct keel_domaininfo *i);

/* Set an HVM parameter with its side effects (the callback vector). */
int hvm_param_set(struct domain *d, uint32_t index, uint64_t value);

#endif
