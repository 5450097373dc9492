/* The hypercall entry: calling convention by guest mode, privilege check,
 * then the generated dispatch (validate number, policy and sub-op). */
#include <abi.h>
#include <keel/domain.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

void hvm_hypercall(struct vcpu *v)
{
    struct guest_regs *r = &v->regs;
    uint64_t args[6];
    long ret;

    if (hvm_cpl(v) != 0) {
        /* Hypercalls come from the guest kernel only. */
        r->rax = (uint64_t)(long)-EPERM;
        return;
    }
    if (hvm_long_mode(v)) {
        args[0] = r->rdi;
        args[1] = r->rsi;
        args[2] = r->rdx;
        args[3] = r->r10;
        args[4] = r->r8;
        args[5] = r->r9;
        ret = abi_dispatch(v, r->rax, args, v->domain->is_control, 0);
        r->rax = (uint64_t)ret;
    } else {
        /* 32-bit guests: EBX, ECX, EDX, ESI, EDI, EBP; upper halves are
         * not part of the call. */
        args[0] = (uint32_t)r->rbx;
        args[1] = (uint32_t)r->rcx;
        args[2] = (uint32_t)r->rdx;
        args[3] = (uint32_t)r->rsi;
        args[4] = (uint32_t)r->rdi;
        args[5] = (uint32_t)r->rbp;
        ret = abi_dispatch(v, (uint32_t)r->rax, args, v->domain->is_control, 1);
        r->rax = (uint32_t)ret;
    }
}
