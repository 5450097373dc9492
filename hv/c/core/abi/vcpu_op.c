/* vcpu_op: bringing the domain's own vCPUs up and down, timers, vcpu_info
 * and runstate areas. */
#include <abi.h>
#include <keel/domain.h>
#include <keel/event.h>
#include <keel/guest_mem.h>
#include <keel/hypercall.h>
#include <keel/lib.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

/* The _ar fields use the 12-bit packing of struct segment already (Xen's
 * hvm_vcpu.h: type S DPL P in bits 0-7, AVL L D/B G in bits 8-11). */
static uint16_t ar_to_attr(uint16_t ar)
{
    return ar & 0xFFF;
}

static int context_32(struct hvm_context *c, const struct vcpu_hvm_x86_32 *r, struct guest_regs *g)
{
    memset(c, 0, sizeof(*c));
    c->rip = r->eip;
    c->rsp = r->esp;
    c->rflags = r->eflags | X86_EFLAGS_FIXED;
    c->cr0 = r->cr0;
    c->cr3 = r->cr3;
    c->cr4 = r->cr4;
    c->efer = r->efer;
    const uint32_t base[] = { r->es_base, r->cs_base, r->ss_base, r->ds_base };
    const uint32_t limit[] = { r->es_limit, r->cs_limit, r->ss_limit, r->ds_limit };
    const uint16_t ar[] = { r->es_ar, r->cs_ar, r->ss_ar, r->ds_ar };
    for (unsigned s = SEG_ES; s <= SEG_DS; s++) {
        c->seg[s].base = base[s];
        c->seg[s].limit = limit[s];
        c->seg[s].attr = ar_to_attr(ar[s]);
        c->seg[s].sel = s == SEG_CS ? 0x08 : 0x10;
    }
    /* FS and GS take DS's state (the ABI has no fields for them). */
    c->seg[SEG_FS] = c->seg[SEG_DS];
    c->seg[SEG_GS] = c->seg[SEG_DS];
    c->seg[SEG_TR].base = r->tr_base;
    c->seg[SEG_TR].limit = r->tr_limit;
    c->seg[SEG_TR].attr = r->tr_ar ? ar_to_attr(r->tr_ar) : 0x8B;
    c->seg[SEG_LDTR].attr = 0x82;
    c->seg[SEG_GDTR].limit = 0xFFFF;
    c->seg[SEG_IDTR].limit = 0xFFFF;
    if (c->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
        return -EINVAL;
    memset(g, 0, sizeof(*g));
    g->rax = r->eax;
    g->rbx = r->ebx;
    g->rcx = r->ecx;
    g->rdx = r->edx;
    g->rsi = r->esi;
    g->rdi = r->edi;
    g->rbp = r->ebp;
    return 0;
}

static int context_64(struct hvm_context *c, const struct vcpu_hvm_x86_64 *r, struct guest_regs *g)
{
    if (!(r->efer & EFER_LME) || !(r->cr0 & X86_CR0_PG) || !(r->cr4 & X86_CR4_PAE))
        return -EINVAL;
    if (r->efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE))
        return -EINVAL;
    hvm_context_64(c, r->rip, r->cr3);
    c->rsp = r->rsp;
    c->rflags = r->rflags | X86_EFLAGS_FIXED;
    c->cr0 = r->cr0;
    c->cr4 = r->cr4;
    c->efer = r->efer | EFER_LMA;
    memset(g, 0, sizeof(*g));
    g->rax = r->rax;
    g->rbx = r->rbx;
    g->rcx = r->rcx;
    g->rdx = r->rdx;
    g->rsi = r->rsi;
    g->rdi = r->rdi;
    g->rbp = r->rbp;
    return 0;
}

/* Give a vCPU that is not running the state described by ctx. */
int vcpu_set_abi_context(struct vcpu *t, const struct vcpu_hvm_context *ctx)
{
    struct hvm_context c;
    struct guest_regs g;
    int rc = ctx->mode == VCPU_HVM_MODE_32B   ? context_32(&c, &ctx->cpu_regs.x86_32, &g)
             : ctx->mode == VCPU_HVM_MODE_64B ? context_64(&c, &ctx->cpu_regs.x86_64, &g)
                                              : -EINVAL;
    if (rc)
        return rc;
    hvm->set_context(t, &c);
    t->regs = g;
    t->initialised = true;
    return 0;
}

static long op_initialise(struct vcpu *v, struct vcpu *t, abi_gva_t arg)
{
    struct vcpu_hvm_context ctx;
    if (copy_from_guest(v, &ctx, arg, sizeof(ctx)))
        return -EFAULT;
    if (!(t->pause_flags & VPF_DOWN))
        return -EBUSY; /* only a vCPU that is down can take a new context */
    return vcpu_set_abi_context(t, &ctx);
}

static void periodic_fire(void *data)
{
    struct vcpu *v = data;
    vcpu_timer_expired(v);
    if (v->periodic_ns)
        timer_set(&v->periodic, time_now_ns() + v->periodic_ns, v->processor);
}

static long op_timer(struct vcpu *v, struct vcpu *t, uint32_t cmd, abi_gva_t arg)
{
    if (t != v)
        return -EINVAL; /* timers are set by the vCPU itself */
    switch (cmd) {
    case VCPUOP_set_singleshot_timer: {
        struct vcpu_set_singleshot_timer s;
        struct compat_vcpu_set_singleshot_timer cs;
        if (guest_compat(v)) {
            if (copy_from_guest(v, &cs, arg, sizeof(cs)))
                return -EFAULT;
            s.timeout_abs_ns = cs.timeout_abs_ns;
            s.flags = cs.flags;
        } else if (copy_from_guest(v, &s, arg, sizeof(s))) {
            return -EFAULT;
        }
        if ((s.flags & VCPU_SSHOTTMR_future) && s.timeout_abs_ns < time_now_ns())
            return -ETIME;
        timer_set(&v->singleshot, s.timeout_abs_ns, v->processor); /* past deadlines fire at once */
        return 0;
    }
    case VCPUOP_stop_singleshot_timer:
        timer_stop(&v->singleshot);
        return 0;
    case VCPUOP_set_periodic_timer: {
        struct vcpu_set_periodic_timer p;
        if (copy_from_guest(v, &p, arg, sizeof(p)))
            return -EFAULT;
        if (p.period_ns < 1000000)
            return -EINVAL; /* at least 1 ms, as Xen */
        v->periodic_ns = p.period_ns;
        timer_set(&v->periodic, time_now_ns() + p.period_ns, v->processor);
        return 0;
    }
    default: /* VCPUOP_stop_periodic_timer */
        v->periodic_ns = 0;
        timer_stop(&v->periodic);
        return 0;
    }
}

long do_vcpu_op(struct vcpu *v, uint32_t cmd, uint32_t vcpuid, abi_gva_t arg)
{
    struct domain *d = v->domain;
    if (vcpuid >= d->max_vcpus)
        return -ENOENT;
    struct vcpu *t = d->vcpu[vcpuid];

    switch (cmd) {
    case VCPUOP_initialise:
        return op_initialise(v, t, arg);
    case VCPUOP_up:
        if (!t->initialised)
            return -EINVAL;
        if (vcpuid >= d->vcpus_online)
            return -EPERM; /* offline by the control domain (hotplug) */
        vcpu_pause_flags_clear(t, VPF_DOWN);
        return 0;
    case VCPUOP_down: {
        /* As Xen: taking the last running vCPU down shuts the domain down
         * (poweroff, or the reason SCHEDOP_shutdown_code recorded) rather
         * than leaving a domain that can never run again. */
        bool others = false;
        for (unsigned i = 0; i < d->max_vcpus && !others; i++)
            others = i != vcpuid && !(d->vcpu[i]->pause_flags & VPF_DOWN);
        if (!others) {
            domain_shutdown(d, d->shutdown_code >= 0 ? (unsigned)d->shutdown_code : SHUTDOWN_poweroff);
            return 0;
        }
        vcpu_pause_flags_set(t, VPF_DOWN);
        return 0;
    }
    case VCPUOP_is_up:
        return !(t->pause_flags & VPF_DOWN);
    case VCPUOP_get_runstate_info: {
        struct vcpu_runstate_info ri;
        memset(&ri, 0, sizeof(ri));
        ri.state = t->runstate;
        ri.state_entry_time = t->runstate_entry_ns;
        for (unsigned i = 0; i < 4; i++)
            ri.time[i] = t->runstate_time[i];
        /* As Xen's vcpu_runstate_get: the current state's time includes
         * what has passed since it was entered. */
        uint64_t now = time_now_ns();
        if (ri.state >= 0 && ri.state < 4 && now > ri.state_entry_time)
            ri.time[ri.state] += now - ri.state_entry_time;
        if (guest_compat(v)) {
            struct compat_vcpu_runstate_info c;
            c.state = ri.state;
            c.state_entry_time = ri.state_entry_time;
            for (unsigned i = 0; i < 4; i++)
                c.time[i] = ri.time[i];
            return copy_to_guest(v, arg, &c, sizeof(c)) ? -EFAULT : 0;
        }
        return copy_to_guest(v, arg, &ri, sizeof(ri)) ? -EFAULT : 0;
    }
    case VCPUOP_register_runstate_memory_area: {
        struct vcpu_register_runstate_memory_area a;
        gpa_t gpa;
        if (copy_from_guest(v, &a, arg, sizeof(a)))
            return -EFAULT;
        /* Translated now: the area is updated later from any context. */
        if (a.addr && guest_translate(v, a.addr, true, &gpa))
            return -EFAULT;
        t->runstate_gpa = a.addr ? gpa : 0;
        t->runstate_compat = guest_compat(v);
        vcpu_runstate_publish(t);
        return 0;
    }
    case VCPUOP_register_vcpu_info: {
        struct vcpu_register_vcpu_info r;
        if (copy_from_guest(v, &r, arg, sizeof(r)))
            return -EFAULT;
        if (r.rsvd)
            return -EINVAL;
        return vcpu_info_register(t, r.mfn, r.offset);
    }
    default:
        return op_timer(v, t, cmd, arg);
    }
}

void vcpu_timers_init(struct vcpu *v)
{
    timer_init(&v->periodic, periodic_fire, v);
}
