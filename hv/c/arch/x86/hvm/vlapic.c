/*
 * The virtual local APIC, in x2APIC mode only (Intel SDM vol. 3A 11.12):
 * the guest reaches it through MSRs, so no MMIO decoding is needed.  It
 * delivers fixed IPIs, INIT and STARTUP between the domain's own vCPUs,
 * and has a one-shot / periodic / TSC-deadline timer.
 */
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

#include "vlapic.h"

#define X2APIC_ID 0x802
#define X2APIC_VERSION 0x803
#define X2APIC_TPR 0x808
#define X2APIC_PPR 0x80A
#define X2APIC_EOI 0x80B
#define X2APIC_LDR 0x80D
#define X2APIC_SVR 0x80F
#define X2APIC_ISR0 0x810
#define X2APIC_TMR0 0x818
#define X2APIC_IRR0 0x820
#define X2APIC_ESR 0x828
#define X2APIC_LVT_CMCI 0x82F
#define X2APIC_ICR 0x830
#define X2APIC_LVT_TIMER 0x832
#define X2APIC_LVT_THERMAL 0x833
#define X2APIC_LVT_PERF 0x834
#define X2APIC_LVT_LINT0 0x835
#define X2APIC_LVT_LINT1 0x836
#define X2APIC_LVT_ERROR 0x837
#define X2APIC_TIMER_INIT 0x838
#define X2APIC_TIMER_CUR 0x839
#define X2APIC_TIMER_DIV 0x83E
#define X2APIC_SELF_IPI 0x83F

#define LVT_MASKED (1u << 16)
#define LVT_TIMER_MODE(x) (((x) >> 17) & 3) /* 0 one-shot, 1 periodic, 2 TSC deadline */
#define APIC_BUS_NS 1                        /* the virtual APIC bus runs at 1 GHz */

static void set_bit(uint64_t *map, unsigned bit)
{
    __atomic_fetch_or(&map[bit / 64], 1ULL << (bit % 64), __ATOMIC_RELEASE);
}

static void clear_bit(uint64_t *map, unsigned bit)
{
    __atomic_fetch_and(&map[bit / 64], ~(1ULL << (bit % 64)), __ATOMIC_RELEASE);
}

static int highest(const uint64_t *map)
{
    for (int w = 3; w >= 0; w--) {
        uint64_t x = __atomic_load_n(&map[w], __ATOMIC_ACQUIRE);
        if (x)
            return w * 64 + 63 - __builtin_clzll(x);
    }
    return -1;
}

void vlapic_set_irq(struct vcpu *v, uint8_t vector)
{
    if (vector < 16)
        return; /* vectors 0-15 are illegal for fixed delivery */
    set_bit(v->hvm.vlapic.irr, vector);
    vcpu_unblock(v);
    vcpu_kick(v);
}

int vlapic_pending(struct vcpu *v)
{
    struct vlapic *l = &v->hvm.vlapic;
    int irr = highest(l->irr);
    if (irr < 0 || !(l->svr & (1u << 8)))
        return -1;
    int isr = highest(l->isr);
    unsigned ppr = MAX(l->tpr & 0xF0, isr >= 0 ? (unsigned)isr & 0xF0 : 0);
    if (((unsigned)irr & 0xF0) <= ppr)
        return -1;
    return irr;
}

void vlapic_accept(struct vcpu *v, int vector)
{
    clear_bit(v->hvm.vlapic.irr, (unsigned)vector);
    set_bit(v->hvm.vlapic.isr, (unsigned)vector);
}

static void eoi(struct vcpu *v)
{
    int isr = highest(v->hvm.vlapic.isr);
    if (isr >= 0)
        clear_bit(v->hvm.vlapic.isr, (unsigned)isr);
}

/* --- Timer ----------------------------------------------------------------- */

static uint64_t timer_divisor(const struct vlapic *l)
{
    unsigned d = (l->timer_divide & 3) | ((l->timer_divide >> 1) & 4);
    return d == 7 ? 1 : 2ULL << d;
}

static void timer_fire(void *data)
{
    struct vcpu *v = data;
    struct vlapic *l = &v->hvm.vlapic;
    if (!(l->lvt_timer & LVT_MASKED))
        vlapic_set_irq(v, (uint8_t)l->lvt_timer);
    if (LVT_TIMER_MODE(l->lvt_timer) == 1 && l->timer_period_ns) {
        l->timer_start_ns += l->timer_period_ns;
        timer_set(&l->timer, l->timer_start_ns + l->timer_period_ns, v->processor);
    } else {
        l->timer_period_ns = 0;
    }
}

static void timer_start(struct vcpu *v)
{
    struct vlapic *l = &v->hvm.vlapic;
    timer_stop(&l->timer);
    l->timer_period_ns = (uint64_t)l->timer_initial * timer_divisor(l) * APIC_BUS_NS;
    if (!l->timer_period_ns || LVT_TIMER_MODE(l->lvt_timer) == 2)
        return;
    l->timer_start_ns = time_now_ns();
    timer_set(&l->timer, l->timer_start_ns + l->timer_period_ns, v->processor);
}

static uint32_t timer_current(const struct vlapic *l)
{
    if (!l->timer_period_ns)
        return 0;
    uint64_t elapsed = time_now_ns() - l->timer_start_ns;
    if (elapsed >= l->timer_period_ns)
        return 0;
    return (uint32_t)((l->timer_period_ns - elapsed) / (timer_divisor(l) * APIC_BUS_NS));
}

static void set_deadline(struct vcpu *v, uint64_t tsc)
{
    struct vlapic *l = &v->hvm.vlapic;
    timer_stop(&l->timer);
    l->tsc_deadline = tsc;
    if (!tsc || LVT_TIMER_MODE(l->lvt_timer) != 2)
        return;
    uint64_t guest_now = rdtsc() + v->domain->tsc_offset;
    uint64_t now = time_now_ns();
    uint64_t when = tsc > guest_now ? now + tsc_to_ns(tsc - guest_now) : now;
    l->timer_period_ns = 0;
    timer_set(&l->timer, when, v->processor);
}

/* --- IPIs -------------------------------------------------------------- */

static void deliver_init(struct vcpu *t)
{
    /* INIT puts the vCPU in wait-for-SIPI (the boot CPU's INIT is ignored:
     * Keel does not reset a running domain this way). */
    if (t->id == 0)
        return;
    vcpu_pause_flags_set(t, VPF_DOWN);
    t->hvm.vlapic.wait_for_sipi = true;
}

static void deliver_sipi(struct vcpu *t, uint8_t vector)
{
    if (!t->hvm.vlapic.wait_for_sipi)
        return;
    t->hvm.vlapic.wait_for_sipi = false;
    struct hvm_context c;
    /* Real mode at vector * 4 KiB (SDM vol. 3A 9.4.4). */
    memset(&c, 0, sizeof(c));
    c.cr0 = X86_CR0_ET | X86_CR0_NW | X86_CR0_CD;
    c.rflags = X86_EFLAGS_FIXED;
    for (unsigned s = 0; s < SEG_LDTR; s++) {
        c.seg[s].limit = 0xFFFF;
        c.seg[s].attr = 0x93;
    }
    c.seg[SEG_CS].sel = (uint16_t)(vector << 8);
    c.seg[SEG_CS].base = (uint64_t)vector << 12;
    c.seg[SEG_CS].attr = 0x9B;
    c.seg[SEG_LDTR].attr = 0x82;
    c.seg[SEG_LDTR].limit = 0xFFFF;
    c.seg[SEG_TR].attr = 0x8B;
    c.seg[SEG_TR].limit = 0xFFFF;
    c.seg[SEG_GDTR].limit = 0xFFFF;
    c.seg[SEG_IDTR].limit = 0xFFFF;
    hvm->set_context(t, &c);
    memset(&t->regs, 0, sizeof(t->regs));
    t->initialised = true;
    vcpu_pause_flags_clear(t, VPF_DOWN);
}

static bool dest_matches(struct vcpu *t, uint32_t dest, bool logical)
{
    if (!logical)
        return dest == 0xFFFFFFFFu || dest == t->id;
    /* x2APIC logical: cluster in 31:16, a bit per member in 15:0. */
    return (dest >> 16) == (t->id >> 4) && (dest & (1u << (t->id & 0xF)));
}

static void send_ipi(struct vcpu *v, uint64_t icr)
{
    uint8_t vector = (uint8_t)icr;
    unsigned mode = (icr >> 8) & 7;
    bool logical = icr & (1u << 11);
    unsigned shorthand = (icr >> 18) & 3;
    uint32_t dest = (uint32_t)(icr >> 32);
    struct domain *d = v->domain;

    for (unsigned i = 0; i < d->max_vcpus; i++) {
        struct vcpu *t = d->vcpu[i];
        if (!t)
            continue;
        bool hit = shorthand == 1 ? t == v : shorthand == 2 ? true : shorthand == 3 ? t != v
                                                                                   : dest_matches(t, dest, logical);
        if (!hit)
            continue;
        switch (mode) {
        case 0: /* fixed */
        case 1: /* lowest priority: delivered like fixed */
            vlapic_set_irq(t, vector);
            break;
        case 4: /* NMI */
            t->hvm.nmi_pending = true;
            vcpu_unblock(t);
            vcpu_kick(t);
            break;
        case 5: /* INIT (a level de-assert carries no action) */
            if ((icr & (1u << 14)) || !(icr & (1u << 15)))
                deliver_init(t);
            break;
        case 6: /* STARTUP */
            deliver_sipi(t, vector);
            break;
        default:
            break;
        }
    }
}

/* --- MSR interface ------------------------------------------------------- */

bool vlapic_rdmsr(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    struct vlapic *l = &v->hvm.vlapic;
    if (msr == MSR_IA32_TSC_DEADLINE) {
        *val = l->tsc_deadline;
        return true;
    }
    if (!l->x2apic_enabled)
        return false;
    switch (msr) {
    case X2APIC_ID: *val = v->id; return true;
    case X2APIC_VERSION: *val = 0x50014; return true; /* version 0x14, 6 LVT entries */
    case X2APIC_TPR: *val = l->tpr; return true;
    case X2APIC_PPR: {
        int isr = highest(l->isr);
        *val = MAX(l->tpr & 0xF0, isr >= 0 ? (unsigned)isr & 0xF0 : 0);
        return true;
    }
    case X2APIC_LDR: *val = ((v->id >> 4) << 16) | (1u << (v->id & 0xF)); return true;
    case X2APIC_SVR: *val = l->svr; return true;
    case X2APIC_ESR: *val = l->esr; return true;
    case X2APIC_LVT_TIMER: *val = l->lvt_timer; return true;
    case X2APIC_LVT_THERMAL: *val = l->lvt_thermal; return true;
    case X2APIC_LVT_PERF: *val = l->lvt_perf; return true;
    case X2APIC_LVT_LINT0: *val = l->lvt_lint0; return true;
    case X2APIC_LVT_LINT1: *val = l->lvt_lint1; return true;
    case X2APIC_LVT_ERROR: *val = l->lvt_error; return true;
    case X2APIC_LVT_CMCI: *val = LVT_MASKED; return true;
    case X2APIC_TIMER_INIT: *val = l->timer_initial; return true;
    case X2APIC_TIMER_CUR: *val = timer_current(l); return true;
    case X2APIC_TIMER_DIV: *val = l->timer_divide; return true;
    default: break;
    }
    if (msr >= X2APIC_ISR0 && msr < X2APIC_ISR0 + 8) {
        *val = (uint32_t)(l->isr[(msr - X2APIC_ISR0) / 2] >> (32 * ((msr - X2APIC_ISR0) & 1)));
        return true;
    }
    if (msr >= X2APIC_TMR0 && msr < X2APIC_TMR0 + 8) {
        *val = 0;
        return true;
    }
    if (msr >= X2APIC_IRR0 && msr < X2APIC_IRR0 + 8) {
        *val = (uint32_t)(l->irr[(msr - X2APIC_IRR0) / 2] >> (32 * ((msr - X2APIC_IRR0) & 1)));
        return true;
    }
    return false;
}

bool vlapic_wrmsr(struct vcpu *v, uint32_t msr, uint64_t val)
{
    struct vlapic *l = &v->hvm.vlapic;
    if (msr == MSR_IA32_TSC_DEADLINE) {
        set_deadline(v, val);
        return true;
    }
    if (!l->x2apic_enabled)
        return false;
    switch (msr) {
    case X2APIC_TPR: l->tpr = (uint32_t)val & 0xFF; return true;
    case X2APIC_EOI: eoi(v); return true;
    case X2APIC_SVR: l->svr = (uint32_t)val & 0x11FF; return true;
    case X2APIC_ESR: l->esr = 0; return true;
    case X2APIC_ICR: send_ipi(v, val); return true;
    case X2APIC_LVT_TIMER:
        l->lvt_timer = (uint32_t)val & 0x710FF;
        if (LVT_TIMER_MODE(l->lvt_timer) == 2)
            set_deadline(v, l->tsc_deadline);
        return true;
    case X2APIC_LVT_THERMAL: l->lvt_thermal = (uint32_t)val & 0x117FF; return true;
    case X2APIC_LVT_PERF: l->lvt_perf = (uint32_t)val & 0x117FF; return true;
    case X2APIC_LVT_LINT0: l->lvt_lint0 = (uint32_t)val & 0x1F7FF; return true;
    case X2APIC_LVT_LINT1: l->lvt_lint1 = (uint32_t)val & 0x1F7FF; return true;
    case X2APIC_LVT_ERROR: l->lvt_error = (uint32_t)val & 0x110FF; return true;
    case X2APIC_LVT_CMCI: return true;
    case X2APIC_TIMER_INIT:
        l->timer_initial = (uint32_t)val;
        timer_start(v);
        return true;
    case X2APIC_TIMER_DIV: l->timer_divide = (uint32_t)val & 0xB; return true;
    case X2APIC_SELF_IPI: vlapic_set_irq(v, (uint8_t)val); return true;
    default: return false; /* read-only or reserved: #GP */
    }
}

void vlapic_init(struct vcpu *v)
{
    struct vlapic *l = &v->hvm.vlapic;
    memset(l, 0, sizeof(*l));
    l->id = v->id;
    l->svr = 0xFF;
    l->lvt_timer = l->lvt_thermal = l->lvt_perf = LVT_MASKED;
    l->lvt_lint0 = l->lvt_lint1 = l->lvt_error = LVT_MASKED;
    l->x2apic_enabled = true;
    l->apic_enabled = true;
    timer_init(&l->timer, timer_fire, v);
}

void vlapic_destroy(struct vcpu *v)
{
    timer_stop(&v->hvm.vlapic.timer);
}
