/* Pending events for a vCPU: exceptions queued by exit handlers, interrupts
 * from the virtual local APIC, and the event-channel upcall vector. */
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

#include "vlapic.h"

void hvm_inject_exception(struct vcpu *v, uint8_t vector, bool has_error, uint32_t error)
{
    struct hvm_event *e = &v->hvm.exception;
    if (e->pending && e->vector != vector) {
        /* A second exception while delivering one: a double fault (SDM vol.
         * 3A 6.15, class rules simplified to "contributory"). */
        vector = 8;
        has_error = true;
        error = 0;
        if (e->vector == 8) {
            hvm_triple_fault(v);
            return;
        }
    }
    e->pending = true;
    e->vector = vector;
    e->type = HVM_EVENT_HW_EXCEPTION;
    e->has_error = has_error;
    e->error = error;
}

int hvm_pending_interrupt(struct vcpu *v)
{
    int best = -1;
    if (v->hvm.upcall_vector && __atomic_load_n(&v->hvm.upcall_asserted, __ATOMIC_ACQUIRE))
        best = v->hvm.upcall_vector;
    int lapic = vlapic_pending(v);
    return lapic > best ? lapic : best;
}

void hvm_interrupt_injected(struct vcpu *v, int vector)
{
    if (v->hvm.upcall_vector == vector && __atomic_load_n(&v->hvm.upcall_asserted, __ATOMIC_ACQUIRE)) {
        /* The upcall is level-like: it is asserted again while the guest
         * still has events pending (events.c in core re-raises it). */
        __atomic_store_n(&v->hvm.upcall_asserted, false, __ATOMIC_RELEASE);
        return;
    }
    vlapic_accept(v, vector);
}

void hvm_assert_upcall(struct vcpu *v)
{
    if (!v->hvm.upcall_vector)
        return;
    __atomic_store_n(&v->hvm.upcall_asserted, true, __ATOMIC_RELEASE);
    vcpu_unblock(v);
    vcpu_kick(v);
}
