/*
 * Event channels, 2-level ABI, upcalls as an interrupt vector.  The upcall
 * handler follows Xen's protocol: clear vcpu_info.evtchn_upcall_pending,
 * take evtchn_pending_sel atomically, and for each selected word handle the
 * ports pending and not masked, clearing each pending bit before calling
 * its handler.  No LAPIC EOI: vector callbacks are injected directly.
 *
 * vcpu_info comes from shared info for vCPUs 0-31, or from the area a
 * vCPU registered with vcpu_info_register() (any vCPU).
 */
#include "rt.h"

#define BITS_PER_LONG (8 * sizeof(unsigned long))

/* A page of this image given to the hypervisor for the shared info. */
static union {
    struct shared_info s;
    uint8_t page[PAGE_SIZE];
} shared_info_page __attribute__((aligned(PAGE_SIZE)));
_Static_assert(sizeof(struct shared_info) <= PAGE_SIZE, "shared_info fits a page");

struct shared_info *shared_info;
volatile unsigned long evtchn_upcalls;
static struct vcpu_info *registered_vcpu_info[RT_MAX_VCPUS];

static struct {
    evtchn_handler_t fn;
    void *arg;
} handlers[EVTCHN_NR_PORTS];

static bool port_ok(uint32_t port)
{
    return port < EVTCHN_NR_PORTS && shared_info;
}

long shared_info_map(void)
{
    if (shared_info)
        return 0;
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF,
        .space = XENMAPSPACE_shared_info,
        .idx = 0,
        .gpfn = (uintptr_t)&shared_info_page / PAGE_SIZE,
    };
    long rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    if (!rc)
        shared_info = &shared_info_page.s;
    return rc;
}

static void dispatch(uint32_t port)
{
    evtchn_handler_t fn = __atomic_load_n(&handlers[port].fn, __ATOMIC_ACQUIRE);
    if (fn) {
        fn(port, handlers[port].arg);
        return;
    }
    static bool warned;
    if (!warned) {
        warned = true;
        printf("evtchn: port %u fired without a handler (further ones not reported)\n", port);
    }
}

struct vcpu_info *vcpu_info_of(unsigned vcpu)
{
    if (vcpu >= RT_MAX_VCPUS)
        return NULL;
    struct vcpu_info *vi = __atomic_load_n(&registered_vcpu_info[vcpu], __ATOMIC_ACQUIRE);
    if (vi)
        return vi;
    return shared_info && vcpu < XEN_LEGACY_MAX_VCPUS ? &shared_info->vcpu_info[vcpu] : NULL;
}

struct vcpu_info *this_vcpu_info(void)
{
    return vcpu_info_of(smp_cpu_id());
}

long vcpu_info_register(unsigned vcpu, struct vcpu_info *vi)
{
    if (vcpu >= RT_MAX_VCPUS)
        return -EINVAL;
    struct vcpu_register_vcpu_info r = {
        .mfn = (uintptr_t)vi / PAGE_SIZE,
        .offset = (uint32_t)((uintptr_t)vi % PAGE_SIZE),
    };
    long rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, vcpu, &r);
    if (!rc)
        __atomic_store_n(&registered_vcpu_info[vcpu], vi, __ATOMIC_RELEASE);
    return rc;
}

static void evtchn_upcall(unsigned vector)
{
    (void)vector;
    evtchn_do_upcall();
}

void evtchn_do_upcall(void)
{
    unsigned cpu = smp_cpu_id();
    struct vcpu_info *vi = vcpu_info_of(cpu);
    if (!shared_info || !vi)
        return;

    __atomic_fetch_add(&evtchn_upcalls, 1, __ATOMIC_RELAXED);
    while (__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE)) {
        __atomic_store_n(&vi->evtchn_upcall_pending, 0, __ATOMIC_RELEASE);
        unsigned long sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_ACQ_REL);
        while (sel) {
            unsigned word = __builtin_ctzl(sel);
            sel &= sel - 1;
            /* A snapshot per word, so a port that re-fires from its own
             * handler cannot starve the others. */
            unsigned long bits = __atomic_load_n(&shared_info->evtchn_pending[word], __ATOMIC_ACQUIRE) &
                                 ~__atomic_load_n(&shared_info->evtchn_mask[word], __ATOMIC_ACQUIRE);
            while (bits) {
                unsigned bit = __builtin_ctzl(bits);
                bits &= bits - 1;
                __atomic_fetch_and(&shared_info->evtchn_pending[word], ~(1UL << bit), __ATOMIC_ACQ_REL);
                dispatch(word * BITS_PER_LONG + bit);
            }
        }
    }
}

long evtchn_init(uint8_t vector)
{
    if (vector < X86_NR_EXCEPTIONS)
        return -EINVAL;
    long rc = shared_info_map();
    if (rc)
        return rc;
    irq_set_handler(vector, evtchn_upcall);
    rc = hvm_set_param(HVM_PARAM_CALLBACK_IRQ,
                       ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << HVM_PARAM_CALLBACK_TYPE_SHIFT) | vector);
    if (rc) {
        irq_set_handler(vector, NULL);
        return rc;
    }
    struct vcpu_info *vi = this_vcpu_info();
    if (vi)
        __atomic_store_n(&vi->evtchn_upcall_mask, 0, __ATOMIC_RELEASE);
    return 0;
}

long evtchn_set_upcall_vector(unsigned vcpu, uint8_t vector)
{
    if (vector < X86_NR_EXCEPTIONS)
        return -EINVAL;
    irq_set_handler(vector, evtchn_upcall);
    struct xen_hvm_evtchn_upcall_vector u = { .vcpu = vcpu, .vector = vector };
    return HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &u);
}

void evtchn_bind_handler(uint32_t port, evtchn_handler_t fn, void *arg)
{
    if (port >= EVTCHN_NR_PORTS)
        test_error("evtchn_bind_handler: port %u out of range", port);
    /* Clear the function first so the upcall never pairs fn with a stale arg. */
    __atomic_store_n(&handlers[port].fn, NULL, __ATOMIC_RELEASE);
    handlers[port].arg = arg;
    __atomic_store_n(&handlers[port].fn, fn, __ATOMIC_RELEASE);
}

void evtchn_mask(uint32_t port)
{
    if (port_ok(port))
        __atomic_fetch_or(&shared_info->evtchn_mask[port / BITS_PER_LONG], 1UL << (port % BITS_PER_LONG),
                          __ATOMIC_ACQ_REL);
}

long evtchn_unmask(uint32_t port)
{
    struct evtchn_port p = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &p);
}

bool evtchn_is_pending(uint32_t port)
{
    return port_ok(port) &&
           (__atomic_load_n(&shared_info->evtchn_pending[port / BITS_PER_LONG], __ATOMIC_ACQUIRE) >>
            (port % BITS_PER_LONG)) & 1;
}

void evtchn_clear(uint32_t port)
{
    if (port_ok(port))
        __atomic_fetch_and(&shared_info->evtchn_pending[port / BITS_PER_LONG], ~(1UL << (port % BITS_PER_LONG)),
                           __ATOMIC_ACQ_REL);
}

long evtchn_alloc_unbound(uint16_t remote_dom, uint32_t *port)
{
    struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote_dom };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
    *port = rc ? 0 : op.port;
    return rc;
}

long evtchn_bind_interdomain(uint16_t remote_dom, uint32_t remote_port, uint32_t *local_port)
{
    struct evtchn_bind_interdomain op = { .remote_dom = remote_dom, .remote_port = remote_port };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);
    *local_port = rc ? 0 : op.local_port;
    return rc;
}

long evtchn_bind_virq(uint32_t virq, uint32_t vcpu, uint32_t *port)
{
    struct evtchn_bind_virq op = { .virq = virq, .vcpu = vcpu };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);
    *port = rc ? 0 : op.port;
    return rc;
}

long evtchn_bind_ipi(uint32_t vcpu, uint32_t *port)
{
    struct evtchn_bind_ipi op = { .vcpu = vcpu };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &op);
    *port = rc ? 0 : op.port;
    return rc;
}

long evtchn_send(uint32_t port)
{
    struct evtchn_port p = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &p);
}

long evtchn_close(uint32_t port)
{
    struct evtchn_port p = { .port = port };
    return HYPERVISOR_event_channel_op(EVTCHNOP_close, &p);
}

long evtchn_bind_vcpu(uint32_t port, uint32_t vcpu)
{
    struct evtchn_bind_vcpu op = { .port = port, .vcpu = vcpu };
    return HYPERVISOR_event_channel_op(EVTCHNOP_bind_vcpu, &op);
}

long evtchn_status(uint16_t dom, uint32_t port, struct evtchn_status *st)
{
    memset(st, 0, sizeof(*st));
    st->dom = dom;
    st->port = port;
    return HYPERVISOR_event_channel_op(EVTCHNOP_status, st);
}

/* --- Two domains finding each other -------------------------------------- */

uint16_t cmdline_peer(const char *key, int def_offset)
{
    char buf[24];
    long id;
    if (cmdline_str(key, buf, sizeof(buf)) && buf[0]) {
        const char *p = buf + (buf[0] == '+' || buf[0] == '-');
        const char *end;
        unsigned long long n = parse_ull(p, &end);
        if (*end || end == p || n >= DOMID_FIRST_RESERVED)
            return DOMID_INVALID;
        if (p == buf)
            return (uint16_t)n;
        id = (long)hypervisor.domid + (buf[0] == '-' ? -(long)n : (long)n);
    } else {
        id = (long)hypervisor.domid + def_offset;
    }
    if (!hypervisor.domid_valid || id < 0 || id >= (long)DOMID_FIRST_RESERVED)
        return DOMID_INVALID;
    return (uint16_t)id;
}

/* Now in pvclock ns, or from the TSC before shared info is mapped. */
static uint64_t now_ns(void)
{
    uint64_t t = pvclock_ns();
    return t ? t : tsc_to_ns(rdtsc());
}

long evtchn_offer(uint16_t remote, uint32_t *port, uint64_t timeout_ns)
{
    uint64_t end = now_ns() + timeout_ns;
    for (;;) {
        long rc = evtchn_alloc_unbound(remote, port);
        if (rc != -ESRCH)
            return rc;
        if (now_ns() >= end)
            return -ETIMEDOUT;
        sched_yield();
    }
}

long evtchn_connect(uint16_t remote, uint32_t *local, uint32_t *remote_port, uint64_t timeout_ns)
{
    uint64_t end = now_ns() + timeout_ns;
    for (;;) {
        for (uint32_t p = 1; p <= EVTCHN_SCAN_PORTS; p++) {
            if (!evtchn_bind_interdomain(remote, p, local)) {
                *remote_port = p;
                return 0;
            }
        }
        if (now_ns() >= end)
            return -ETIMEDOUT;
        sched_yield();
    }
}

bool evtchn_wait(bool (*cond)(void *), void *arg, uint64_t timeout_ns)
{
    uint64_t deadline = now_ns() + timeout_ns;
    bool was_on = irqs_enabled();
    /* Yielding rather than blocking: a timer without VIRQ_TIMER bound
     * would not wake SCHEDOP_block (as on Xen), and the test may own
     * VIRQ_TIMER. */
    sti();
    while (!cond(arg) && now_ns() < deadline)
        sched_yield();
    cli();
    bool ok = cond(arg);
    if (was_on)
        sti();
    return ok;
}
