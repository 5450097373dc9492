/* The hypercall entry: calling convention by guest mode, privilege check,
 * then the generated dispatch (validate number, policy and sub-op). */
#include <abi.h>
#include <keel/domain.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

void hvm_hypercall(struct vcpu *v)
{
    hvm_hypercall_mode(v, hvm_cpl(v), hvm_long_mode(v));
}

void hvm_hypercall_mode(struct vcpu *v, unsigned cpl, bool long_mode)
{
    struct guest_regs *r = &v->regs;
    /* Only the registers some hypercall reads are gathered (ABI_MAX_ARG_REGS
     * comes from the spec); the rest of the array is never looked at. */
    uint64_t args[6];
    long ret;
    _Static_assert(ABI_MAX_ARG_REGS <= 6, "at most six argument registers");

    if (cpl != 0) {
        /* Hypercalls come from the guest kernel only. */
        r->rax = (uint64_t)(long)-EPERM;
        return;
    }
    if (long_mode) {
        const uint64_t *src[6] = { &r->rdi, &r->rsi, &r->rdx, &r->r10, &r->r8, &r->r9 };
        for (unsigned i = 0; i < ABI_MAX_ARG_REGS; i++)
            args[i] = *src[i];
        ret = abi_dispatch(v, r->rax, args, v->domain->is_control, 0);
        r->rax = (uint64_t)ret;
    } else {
        /* 32-bit guests: EBX, ECX, EDX, ESI, EDI, EBP; upper halves are
         * not part of the call. */
        const uint64_t *src[6] = { &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp };
        for (unsigned i = 0; i < ABI_MAX_ARG_REGS; i++)
            args[i] = (uint32_t)*src[i];
        ret = abi_dispatch(v, (uint32_t)r->rax, args, v->domain->is_control, 1);
        r->rax = (uint32_t)ret;
    }
}
