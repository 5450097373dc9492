/* hvm_op: HVM parameters and the per-vCPU upcall vector. */
#include <abi.h>
#include <keel/domain.h>
#include <keel/event.h>
#include <keel/guest_mem.h>
#include <keel/hypercall.h>
#include <keel/lib.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

#define CALLBACK_TYPE(v) ((v) >> HVM_PARAM_CALLBACK_TYPE_SHIFT)

/* Parameters a guest may set on itself; the control domain may set any. */
static bool guest_settable(uint32_t index)
{
    return index == HVM_PARAM_CALLBACK_IRQ || index == HVM_PARAM_TIMER_MODE || index == HVM_PARAM_PAE_ENABLED;
}

static int set_callback(struct domain *d, uint64_t value)
{
    uint8_t vector = 0;
    if (value) {
        if (CALLBACK_TYPE(value) != HVM_PARAM_CALLBACK_TYPE_VECTOR)
            return -EOPNOTSUPP; /* no emulated interrupt controller for GSI/INTx delivery */
        vector = (uint8_t)value;
        if (vector < 0x10)
            return -EINVAL;
    }
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        d->vcpu[i]->hvm.upcall_vector = vector;
        evtchn_check_upcall(d->vcpu[i]);
    }
    return 0;
}

int hvm_param_set(struct domain *d, uint32_t index, uint64_t value)
{
    if (index >= HVM_NR_PARAMS)
        return -EINVAL;
    if (index == HVM_PARAM_CALLBACK_IRQ) {
        int rc = set_callback(d, value);
        if (rc)
            return rc;
    }
    d->params[index] = value;
    return 0;
}

long do_hvm_op(struct vcpu *v, uint32_t op, abi_gva_t arg)
{
    if (op == HVMOP_set_evtchn_upcall_vector) {
        struct xen_hvm_evtchn_upcall_vector u;
        if (copy_from_guest(v, &u, arg, sizeof(u)))
            return -EFAULT;
        if (u.vector < 0x10)
            return -EINVAL;
        if (u.vcpu >= v->domain->max_vcpus)
            return -ENOENT; /* as Xen, for a vCPU that does not exist */
        struct vcpu *t = v->domain->vcpu[u.vcpu];
        t->hvm.upcall_vector = u.vector;
        evtchn_check_upcall(t);
        return 0;
    }
    struct xen_hvm_param p;
    if (copy_from_guest(v, &p, arg, sizeof(p)))
        return -EFAULT;
    struct domain *d = domain_get(p.domid == DOMID_SELF ? v->domain->id : p.domid);
    if (!d)
        return -ESRCH;
    long rc = 0;
    if (d != v->domain && !v->domain->is_control)
        rc = -EPERM;
    else if (p.index >= HVM_NR_PARAMS)
        rc = -EINVAL;
    else if (op != HVMOP_set_param)
        p.value = d->params[p.index];
    else if (d == v->domain && !v->domain->is_control && !guest_settable(p.index))
        rc = -EPERM;
    else
        rc = hvm_param_set(d, p.index, p.value);
    domain_put(d);
    if (rc || op == HVMOP_set_param)
        return rc;
    return copy_to_guest(v, arg, &p, sizeof(p)) ? -EFAULT : 0;
}
