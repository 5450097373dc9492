#ifndef HVM_VLAPIC_H
#define HVM_VLAPIC_H

#include <keel/types.h>

struct vcpu;

void vlapic_init(struct vcpu *v);
void vlapic_destroy(struct vcpu *v);
/* x2APIC MSR access (0x800-0x8FF and IA32_TSC_DEADLINE); false -> #GP. */
bool vlapic_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val);
bool vlapic_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val);
/* Highest deliverable vector (above TPR and the in-service priority), or -1. */
int vlapic_pending(struct vcpu *v);
/* The vector was injected: IRR -> ISR. */
void vlapic_accept(struct vcpu *v, int vector);
/* Raise a fixed interrupt from inside the domain or the hypervisor. */
void vlapic_set_irq(struct vcpu *v, uint8_t vector);

#endif
