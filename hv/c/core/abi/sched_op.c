/* sched_op and set_timer_op. */
#include <abi.h>
#include <keel/domain.h>
#include <keel/hypercall.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/sched.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

static long shutdown(struct vcpu *v, abi_gva_t arg, bool code_only)
{
    struct sched_shutdown s;
    if (copy_from_guest(v, &s, arg, sizeof(s)))
        return -EFAULT;
    if (s.reason > SHUTDOWN_MAX)
        return -EINVAL;
    struct domain *d = v->domain;
    if (code_only) {
        /* As Xen: the first recorded code stays. */
        if (d->shutdown_code < 0)
            d->shutdown_code = (int)s.reason;
        return 0;
    }
    /* As Xen's domain_shutdown: a recorded code wins over the reason. */
    domain_shutdown(d, d->shutdown_code >= 0 ? (unsigned)d->shutdown_code : s.reason);
    return 0;
}

__attribute__((weak)) long sched_poll(struct vcpu *v, abi_gva_t arg)
{
    (void)v;
    (void)arg;
    return -ENOSYS;
}

__attribute__((weak)) long sched_remote_shutdown(struct vcpu *v, abi_gva_t arg)
{
    (void)v;
    (void)arg;
    return -ENOSYS;
}

long do_sched_op(struct vcpu *v, uint32_t cmd, abi_gva_t arg)
{
    switch (cmd) {
    case SCHEDOP_yield:
        sched_yield();
        return 0;
    case SCHEDOP_block:
        /* Block with events enabled: the upcall (or any interrupt) wakes it.
         * Xen's SCHEDOP_block also clears the vCPU's event mask. */
        vcpu_block_events(v);
        return 0;
    case SCHEDOP_shutdown:
        return shutdown(v, arg, false);
    case SCHEDOP_shutdown_code:
        return shutdown(v, arg, true);
    case SCHEDOP_poll:
        return sched_poll(v, arg);
    case SCHEDOP_remote_shutdown:
        return sched_remote_shutdown(v, arg);
    default:
        return -ENOSYS;
    }
}

long do_set_timer_op(struct vcpu *v, uint64_t timeout)
{
    if (!timeout) {
        timer_stop(&v->singleshot);
        return 0;
    }
    /* A deadline in the past fires at once. */
    timer_set(&v->singleshot, timeout, v->processor);
    return 0;
}
