/*
 * Event channels, 2-level ABI.  Bit n of the shared-info pending/mask
 * arrays is byte n/8, bit n%8 for 32- and 64-bit guests alike (the arrays
 * are little-endian words); only the array offsets, the port limit and the
 * width of a vcpu_info selector word differ between the two layouts.
 */
#include <abi.h>
#include <keel/domain.h>
#include <keel/event.h>
#include <keel/guest_mem.h>
#include <keel/heap.h>
#include <keel/hypercall.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/sched.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>
#include <asm/page.h>

static bool per_vcpu_virq(unsigned virq)
{
    return virq == VIRQ_TIMER || virq == VIRQ_DEBUG;
}

static unsigned max_ports(const struct domain *d)
{
    return shared_info_compat(d) ? EVTCHN_PORTS_COMPAT : EVTCHN_PORTS_NATIVE;
}

static uint8_t *bitmap(struct domain *d, bool mask)
{
    uint8_t *s = phys_to_virt(d->shared_info);
    if (shared_info_compat(d))
        return s + (mask ? offsetof(struct compat_shared_info, evtchn_mask)
                         : offsetof(struct compat_shared_info, evtchn_pending));
    return s + (mask ? offsetof(struct shared_info, evtchn_mask) : offsetof(struct shared_info, evtchn_pending));
}

static bool test_bit(const uint8_t *map, uint32_t n)
{
    return __atomic_load_n(&map[n / 8], __ATOMIC_ACQUIRE) & (1u << (n % 8));
}

static bool test_and_set_bit(uint8_t *map, uint32_t n)
{
    return __atomic_fetch_or(&map[n / 8], (uint8_t)(1u << (n % 8)), __ATOMIC_SEQ_CST) & (1u << (n % 8));
}

static void clear_bit(uint8_t *map, uint32_t n)
{
    __atomic_fetch_and(&map[n / 8], (uint8_t)~(1u << (n % 8)), __ATOMIC_SEQ_CST);
}

/* vcpu_info fields: upcall_pending @0, upcall_mask @1, pending_sel @8
 * (64-bit) or @4 (32-bit). */
static uint8_t *vi_sel(struct domain *d, uint8_t *vi)
{
    return vi + (shared_info_compat(d) ? 4 : 8);
}

/* A port's entry.  Ports in buckets never allocated read as this free
 * entry, which is never written (writes follow alloc_port(), or close a port
 * that is in use). */
static struct evtchn free_port;

static struct evtchn *port_ptr(struct evtchn_domain *e, uint32_t p)
{
    struct evtchn *b = p < EVTCHN_PORTS_NATIVE ? e->bucket[p / EVTCHN_BUCKET] : NULL;
    return b ? &b[p % EVTCHN_BUCKET] : &free_port;
}

int evtchn_init(struct domain *d)
{
    struct evtchn_domain *e = kzalloc(sizeof(*e));
    if (!e)
        return -ENOMEM;
    e->vcpu_virq_port = kzalloc(sizeof(uint32_t) * NR_VIRQS * d->max_vcpus);
    if (!e->vcpu_virq_port) {
        kfree(e);
        return -ENOMEM;
    }
    d->evtchn = e;
    return 0;
}

static void close_port(struct domain *d, uint32_t port);

void evtchn_teardown(struct domain *d)
{
    struct evtchn_domain *e = d->evtchn;
    if (!e)
        return;
    for (uint32_t p = 1; p < EVTCHN_PORTS_NATIVE; p++)
        if (port_ptr(e, p)->state != ECS_FREE)
            close_port(d, p);
    for (unsigned b = 0; b < ARRAY_SIZE(e->bucket); b++)
        kfree(e->bucket[b]);
    kfree(e->vcpu_virq_port);
    kfree(e);
    d->evtchn = NULL;
}

/* The upcall flag is set and the vector raised when some selector bit is
 * set; the guest clears the flag and the bits as it handles events. */
static void mark_vcpu(struct vcpu *v, uint32_t port)
{
    struct domain *d = v->domain;
    uint8_t *vi = vcpu_info_ptr(v);
    if (!vi) {
        vcpu_unblock(v);
        return;
    }
    unsigned word_bits = shared_info_compat(d) ? 32 : 64;
    test_and_set_bit(vi_sel(d, vi), port / word_bits);
    if (!__atomic_exchange_n(&vi[0], 1, __ATOMIC_SEQ_CST))
        hvm_assert_upcall(v);
    vcpu_unblock(v);
}

static void wake_pollers(struct domain *d, uint32_t port)
{
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        const uint32_t *ports = READ_ONCE(v->poll_ports);
        if (!ports)
            continue;
        for (unsigned k = 0; k < v->poll_nr; k++)
            if (ports[k] == port) {
                vcpu_unblock(v);
                break;
            }
    }
}

void evtchn_set_pending(struct domain *d, uint32_t port)
{
    struct evtchn_domain *e = d->evtchn;
    if (!e || !d->shared_info || port >= max_ports(d))
        return;
    struct evtchn *ch = port_ptr(e, port);
    if (test_and_set_bit(bitmap(d, false), port))
        return; /* already pending */
    wake_pollers(d, port);
    if (test_bit(bitmap(d, true), port))
        return; /* masked: delivered on unmask */
    uint32_t target = ch->vcpu < d->max_vcpus ? ch->vcpu : 0;
    mark_vcpu(d->vcpu[target], port);
}

bool evtchn_port_pending(struct domain *d, uint32_t port)
{
    return d->shared_info && port < max_ports(d) && test_bit(bitmap(d, false), port);
}

void evtchn_check_upcall(struct vcpu *v)
{
    uint8_t *vi = vcpu_info_ptr(v);
    if (vi && __atomic_load_n(&vi[0], __ATOMIC_ACQUIRE))
        hvm_assert_upcall(v);
}

bool send_virq(struct vcpu *v, unsigned virq)
{
    struct domain *d = v->domain;
    if (!d->evtchn || virq >= NR_VIRQS)
        return false;
    uint32_t port = d->evtchn->vcpu_virq_port[v->id * NR_VIRQS + virq];
    if (!port)
        return false;
    evtchn_set_pending(d, port);
    return true;
}

bool send_global_virq(struct domain *d, unsigned virq)
{
    if (!d->evtchn || virq >= NR_VIRQS)
        return false;
    uint32_t port = d->evtchn->virq_port[virq];
    if (!port)
        return false;
    evtchn_set_pending(d, port);
    return true;
}

/* The vCPU timer raises VIRQ_TIMER (and wakes a vCPU blocked without one). */
void vcpu_timer_expired(struct vcpu *v)
{
    if (!send_virq(v, VIRQ_TIMER))
        vcpu_unblock(v);
}

/* --- Port allocation and closing ---------------------------------------- */

static int alloc_port(struct domain *d)
{
    struct evtchn_domain *e = d->evtchn;
    for (uint32_t p = 1; p < max_ports(d); p++) { /* port 0 is never used */
        if (!e->bucket[p / EVTCHN_BUCKET]) {
            e->bucket[p / EVTCHN_BUCKET] = kzalloc(sizeof(struct evtchn) * EVTCHN_BUCKET);
            if (!e->bucket[p / EVTCHN_BUCKET])
                return -ENOMEM;
        }
        if (port_ptr(e, p)->state == ECS_FREE)
            return (int)p;
    }
    return -ENOSPC;
}

static void close_port(struct domain *d, uint32_t port)
{
    struct evtchn_domain *e = d->evtchn;
    struct evtchn *ch = port_ptr(e, port);
    switch (ch->state) {
    case ECS_INTERDOMAIN: {
        /* The peer's port reverts to unbound, waiting for us again. */
        struct domain *peer = domain_get(ch->remote_dom);
        if (peer && peer->evtchn && peer != d) {
            spin_lock(&peer->evtchn->lock);
            struct evtchn *pc = port_ptr(peer->evtchn, ch->remote_port);
            if (pc->state == ECS_INTERDOMAIN && pc->remote_dom == d->id && pc->remote_port == port) {
                pc->state = ECS_UNBOUND;
                pc->remote_dom = d->id;
                pc->remote_port = 0;
            }
            spin_unlock(&peer->evtchn->lock);
        } else if (ch->remote_dom == d->id) {
            struct evtchn *pc = port_ptr(e, ch->remote_port);
            if (pc->state == ECS_INTERDOMAIN && pc->remote_port == port) {
                pc->state = ECS_UNBOUND;
                pc->remote_dom = d->id;
                pc->remote_port = 0;
            }
        }
        domain_put(peer);
        break;
    }
    case ECS_VIRQ:
        if (per_vcpu_virq(ch->virq))
            e->vcpu_virq_port[ch->vcpu * NR_VIRQS + ch->virq] = 0;
        else
            e->virq_port[ch->virq] = 0;
        break;
    default:
        break;
    }
    memset(ch, 0, sizeof(*ch));
    if (d->shared_info && port < max_ports(d)) {
        clear_bit(bitmap(d, false), port);
        clear_bit(bitmap(d, true), port);
    }
}

/* --- Hypercall ------------------------------------------------------------ */

/* A reference to the domain dom names (domain_put() it). */
static struct domain *resolve(struct vcpu *v, uint16_t dom)
{
    return domain_get(dom == DOMID_SELF ? v->domain->id : dom);
}

static long op_alloc_unbound(struct vcpu *v, abi_gva_t arg)
{
    struct evtchn_alloc_unbound a;
    if (copy_from_guest(v, &a, arg, sizeof(a)))
        return -EFAULT;
    struct domain *d = resolve(v, a.dom);
    if (!d)
        return -ESRCH;
    uint16_t remote = a.remote_dom == DOMID_SELF ? v->domain->id : a.remote_dom;
    int port = -ESRCH;
    if (d != v->domain && !v->domain->is_control) {
        port = -EPERM;
    } else if (remote == d->id || domain_by_id(remote)) { /* only whether it exists */
        spin_lock(&d->evtchn->lock);
        port = alloc_port(d);
        if (port > 0)
            *port_ptr(d->evtchn, (uint32_t)port) = (struct evtchn){ .state = ECS_UNBOUND, .remote_dom = remote };
        spin_unlock(&d->evtchn->lock);
    }
    domain_put(d);
    if (port < 0)
        return port;
    a.port = (uint32_t)port;
    return copy_to_guest(v, arg, &a, sizeof(a)) ? -EFAULT : 0;
}

static void lock_pair(struct evtchn_domain *a, struct evtchn_domain *b)
{
    if (a == b) {
        spin_lock(&a->lock);
    } else if (a < b) {
        spin_lock(&a->lock);
        spin_lock(&b->lock);
    } else {
        spin_lock(&b->lock);
        spin_lock(&a->lock);
    }
}

static void unlock_pair(struct evtchn_domain *a, struct evtchn_domain *b)
{
    spin_unlock(&a->lock);
    if (a != b)
        spin_unlock(&b->lock);
}

static long op_bind_interdomain(struct vcpu *v, abi_gva_t arg)
{
    struct evtchn_bind_interdomain b;
    if (copy_from_guest(v, &b, arg, sizeof(b)))
        return -EFAULT;
    struct domain *ld = v->domain;
    struct domain *rd = resolve(v, b.remote_dom);
    if (!rd)
        return -ESRCH;
    if (b.remote_port == 0 || b.remote_port >= max_ports(rd)) {
        domain_put(rd);
        return -EINVAL;
    }
    lock_pair(ld->evtchn, rd->evtchn);
    long rc = 0;
    struct evtchn *rc_ch = port_ptr(rd->evtchn, b.remote_port);
    int lport = alloc_port(ld);
    if (lport < 0) {
        rc = lport;
    } else if (rc_ch->state != ECS_UNBOUND || rc_ch->remote_dom != ld->id) {
        rc = -EINVAL;
    } else if (rd == ld && (uint32_t)lport == b.remote_port) {
        rc = -EINVAL;
    } else {
        *port_ptr(ld->evtchn, (uint32_t)lport) =
            (struct evtchn){ .state = ECS_INTERDOMAIN, .remote_dom = rd->id, .remote_port = b.remote_port };
        rc_ch->state = ECS_INTERDOMAIN;
        rc_ch->remote_port = (uint32_t)lport;
    }
    unlock_pair(ld->evtchn, rd->evtchn);
    domain_put(rd);
    if (rc)
        return rc;
    /* Like Xen, the new local port starts pending so neither side can miss
     * a notification sent before the bind. */
    evtchn_set_pending(ld, (uint32_t)lport);
    b.local_port = (uint32_t)lport;
    return copy_to_guest(v, arg, &b, sizeof(b)) ? -EFAULT : 0;
}

static long op_bind_virq(struct vcpu *v, abi_gva_t arg)
{
    struct evtchn_bind_virq b;
    struct domain *d = v->domain;
    if (copy_from_guest(v, &b, arg, sizeof(b)))
        return -EFAULT;
    if (b.virq >= NR_VIRQS || (b.virq != VIRQ_TIMER && b.virq != VIRQ_DEBUG && b.virq != VIRQ_CONSOLE &&
                               b.virq != VIRQ_DOM_EXC && b.virq != VIRQ_ARCH_0 && b.virq != VIRQ_KEEL_SHUTDOWN_REQUEST))
        return -EINVAL;
    if (b.vcpu >= d->max_vcpus)
        return -ENOENT;
    if (!per_vcpu_virq(b.virq) && b.vcpu != 0)
        return -EINVAL; /* global VIRQs are bound on vCPU 0 */
    if ((b.virq == VIRQ_DOM_EXC || b.virq == VIRQ_CONSOLE) && !d->is_control)
        return -EPERM;
    struct evtchn_domain *e = d->evtchn;
    spin_lock(&e->lock);
    uint32_t *slot = per_vcpu_virq(b.virq) ? &e->vcpu_virq_port[b.vcpu * NR_VIRQS + b.virq] : &e->virq_port[b.virq];
    long rc;
    if (*slot) {
        rc = -EEXIST;
    } else {
        int port = alloc_port(d);
        rc = port < 0 ? port : 0;
        if (port > 0) {
            *port_ptr(e, (uint32_t)port) = (struct evtchn){ .state = ECS_VIRQ, .virq = b.virq, .vcpu = b.vcpu };
            *slot = (uint32_t)port;
            b.port = (uint32_t)port;
        }
    }
    spin_unlock(&e->lock);
    if (rc)
        return rc;
    return copy_to_guest(v, arg, &b, sizeof(b)) ? -EFAULT : 0;
}

static long op_bind_ipi(struct vcpu *v, abi_gva_t arg)
{
    struct evtchn_bind_ipi b;
    struct domain *d = v->domain;
    if (copy_from_guest(v, &b, arg, sizeof(b)))
        return -EFAULT;
    if (b.vcpu >= d->max_vcpus)
        return -ENOENT;
    spin_lock(&d->evtchn->lock);
    int port = alloc_port(d);
    if (port > 0)
        *port_ptr(d->evtchn, (uint32_t)port) = (struct evtchn){ .state = ECS_IPI, .vcpu = b.vcpu };
    spin_unlock(&d->evtchn->lock);
    if (port < 0)
        return port;
    b.port = (uint32_t)port;
    return copy_to_guest(v, arg, &b, sizeof(b)) ? -EFAULT : 0;
}

static long get_port(struct vcpu *v, abi_gva_t arg, uint32_t *port)
{
    struct evtchn_port p;
    if (copy_from_guest(v, &p, arg, sizeof(p)))
        return -EFAULT;
    if (p.port == 0 || p.port >= max_ports(v->domain))
        return -EINVAL;
    *port = p.port;
    return 0;
}

static long op_close(struct vcpu *v, abi_gva_t arg)
{
    uint32_t port;
    long rc = get_port(v, arg, &port);
    if (rc)
        return rc;
    struct domain *d = v->domain;
    spin_lock(&d->evtchn->lock);
    bool used = port_ptr(d->evtchn, port)->state != ECS_FREE;
    spin_unlock(&d->evtchn->lock);
    if (!used)
        return -EINVAL;
    close_port(d, port);
    return 0;
}

static long op_send(struct vcpu *v, abi_gva_t arg)
{
    uint32_t port;
    long rc = get_port(v, arg, &port);
    if (rc)
        return rc;
    struct domain *d = v->domain;
    struct evtchn ch = *port_ptr(d->evtchn, port);
    switch (ch.state) {
    case ECS_INTERDOMAIN: {
        struct domain *peer = domain_get(ch.remote_dom);
        if (peer) {
            evtchn_set_pending(peer, ch.remote_port);
            domain_put(peer);
        }
        return 0;
    }
    case ECS_IPI:
        evtchn_set_pending(d, port);
        return 0;
    case ECS_UNBOUND:
        return 0; /* nobody listens yet: the notification is dropped */
    default:
        return -EINVAL;
    }
}

static long op_status(struct vcpu *v, abi_gva_t arg)
{
    struct evtchn_status s;
    if (copy_from_guest(v, &s, arg, sizeof(s)))
        return -EFAULT;
    struct domain *d = resolve(v, s.dom);
    if (!d)
        return -ESRCH;
    long rc = 0;
    struct evtchn ch;
    if (d != v->domain && !v->domain->is_control)
        rc = -EPERM;
    else if (s.port >= max_ports(d))
        rc = -EINVAL;
    else
        ch = *port_ptr(d->evtchn, s.port);
    domain_put(d);
    if (rc)
        return rc;
    memset(&s.u, 0, sizeof(s.u));
    s.status = ch.state;
    s.vcpu = ch.vcpu;
    if (ch.state == ECS_UNBOUND)
        s.u.unbound_dom = ch.remote_dom;
    else if (ch.state == ECS_INTERDOMAIN) {
        s.u.interdomain.dom = ch.remote_dom;
        s.u.interdomain.port = ch.remote_port;
    } else if (ch.state == ECS_VIRQ)
        s.u.virq = ch.virq;
    return copy_to_guest(v, arg, &s, sizeof(s)) ? -EFAULT : 0;
}

static long op_unmask(struct vcpu *v, abi_gva_t arg)
{
    uint32_t port;
    long rc = get_port(v, arg, &port);
    if (rc)
        return rc;
    struct domain *d = v->domain;
    if (!d->shared_info)
        return 0;
    clear_bit(bitmap(d, true), port);
    /* A port that became pending while masked is delivered now. */
    if (test_bit(bitmap(d, false), port)) {
        uint32_t target = port_ptr(d->evtchn, port)->vcpu;
        mark_vcpu(d->vcpu[target < d->max_vcpus ? target : 0], port);
    }
    return 0;
}

static long op_bind_vcpu(struct vcpu *v, abi_gva_t arg)
{
    struct evtchn_bind_vcpu b;
    struct domain *d = v->domain;
    if (copy_from_guest(v, &b, arg, sizeof(b)))
        return -EFAULT;
    if (b.port == 0 || b.port >= max_ports(d))
        return -EINVAL;
    if (b.vcpu >= d->max_vcpus)
        return -ENOENT;
    struct evtchn *ch = port_ptr(d->evtchn, b.port);
    if (ch->state == ECS_FREE || (ch->state == ECS_VIRQ && per_vcpu_virq(ch->virq)))
        return -EINVAL;
    ch->vcpu = b.vcpu;
    return 0;
}

long do_event_channel_op(struct vcpu *v, uint32_t cmd, abi_gva_t arg)
{
    if (!v->domain->evtchn)
        return -ENOSYS;
    switch (cmd) {
    case EVTCHNOP_alloc_unbound: return op_alloc_unbound(v, arg);
    case EVTCHNOP_bind_interdomain: return op_bind_interdomain(v, arg);
    case EVTCHNOP_bind_virq: return op_bind_virq(v, arg);
    case EVTCHNOP_bind_ipi: return op_bind_ipi(v, arg);
    case EVTCHNOP_close: return op_close(v, arg);
    case EVTCHNOP_send: return op_send(v, arg);
    case EVTCHNOP_status: return op_status(v, arg);
    case EVTCHNOP_unmask: return op_unmask(v, arg);
    case EVTCHNOP_bind_vcpu: return op_bind_vcpu(v, arg);
    default: return -ENOSYS; /* init_control: FIFO is not offered */
    }
}

/* --- Blocking and polling ------------------------------------------------- */

void vcpu_block_events(struct vcpu *v)
{
    uint8_t *vi = vcpu_info_ptr(v);
    if (vi) {
        __atomic_store_n(&vi[1], 0, __ATOMIC_SEQ_CST); /* evtchn_upcall_mask */
        if (__atomic_load_n(&vi[0], __ATOMIC_ACQUIRE)) {
            hvm_assert_upcall(v);
            return;
        }
    }
    vcpu_block(v);
}

static void poll_timeout(void *data)
{
    vcpu_unblock(data);
}

long sched_poll(struct vcpu *v, abi_gva_t arg)
{
    struct domain *d = v->domain;
    bool compat = guest_compat(v);
    struct sched_poll p;
    struct compat_sched_poll cp;
    uint64_t ports_va, timeout;
    uint32_t nr;
    if (compat) {
        if (copy_from_guest(v, &cp, arg, sizeof(cp)))
            return -EFAULT;
        ports_va = cp.ports;
        nr = cp.nr_ports;
        timeout = cp.timeout;
    } else {
        if (copy_from_guest(v, &p, arg, sizeof(p)))
            return -EFAULT;
        ports_va = p.ports;
        nr = p.nr_ports;
        timeout = p.timeout;
    }
    if (nr > ARRAY_SIZE(v->poll_buf))
        return -EINVAL;
    if (copy_from_guest(v, v->poll_buf, ports_va, nr * sizeof(uint32_t)))
        return -EFAULT;
    for (uint32_t i = 0; i < nr; i++) {
        if (v->poll_buf[i] >= max_ports(d))
            return -EINVAL;
        if (evtchn_port_pending(d, v->poll_buf[i]))
            return 0;
    }
    v->poll_nr = nr;
    __atomic_store_n(&v->poll_ports, v->poll_buf, __ATOMIC_RELEASE);
    __atomic_fetch_or(&v->pause_flags, VPF_BLOCKED, __ATOMIC_SEQ_CST);
    /* Re-check after publishing the wait: a port may have fired meanwhile. */
    for (uint32_t i = 0; i < nr; i++)
        if (evtchn_port_pending(d, v->poll_buf[i]))
            __atomic_fetch_and(&v->pause_flags, ~VPF_BLOCKED, __ATOMIC_SEQ_CST);
    if (timeout && (v->pause_flags & VPF_BLOCKED))
        timer_set(&v->poll_timeout, timeout, v->processor);
    return 0;
}

/* Called when v runs again: it is no longer polling. */
void vcpu_poll_done(struct vcpu *v)
{
    if (v->poll_ports) {
        __atomic_store_n(&v->poll_ports, NULL, __ATOMIC_RELEASE);
        timer_stop(&v->poll_timeout);
    }
}

void vcpu_abi_init(struct vcpu *v)
{
    timer_init(&v->poll_timeout, poll_timeout, v);
}
