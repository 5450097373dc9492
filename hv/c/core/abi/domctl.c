/*
 * domctl: the control domain manages the others.  Each operation checks the
 * interface version, the target and every value before it changes anything.
 */
#include <abi.h>
#include <keel/domain.h>
#include <keel/event.h>
#include <keel/guest_mem.h>
#include <keel/heap.h>
#include <keel/hypercall.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/printk.h>
#include <keel/sched.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>
#include <asm/percpu.h>

#define BOUNCE PAGE_SIZE

static int check_version(struct vcpu *v, const struct keel_ctl_header *h, uint32_t want)
{
    if (h->interface_version == want)
        return 0;
    gprintk(v->domain, LOG_WARNING, "control interface version %#x, Keel speaks %#x: refused\n",
            h->interface_version, want);
    return -EACCES;
}

/* Read the argument (size bytes) and check its header. */
static int get_arg(struct vcpu *v, abi_gva_t arg, void *buf, size_t size)
{
    if (copy_from_guest(v, buf, arg, size))
        return -EFAULT;
    return check_version(v, buf, KEEL_DOMCTL_INTERFACE_VERSION);
}

static struct domain *target(struct vcpu *v, uint16_t id)
{
    return id == DOMID_SELF ? v->domain : domain_by_id(id);
}

static uint32_t state_of(const struct domain *d)
{
    switch (d->state) {
    case DOMAIN_BUILDING: return KEEL_DOMSTATE_BUILDING;
    case DOMAIN_PAUSED: return KEEL_DOMSTATE_PAUSED;
    case DOMAIN_RUNNING: return KEEL_DOMSTATE_RUNNING;
    case DOMAIN_SHUTDOWN: return KEEL_DOMSTATE_SHUTDOWN;
    default: return KEEL_DOMSTATE_DYING;
    }
}

void domain_fill_info(const struct domain *d, struct keel_domaininfo *i)
{
    memset(i, 0, sizeof(*i));
    i->domid = d->id;
    i->flags = (d->is_control ? KEEL_DOMFLAG_CONTROL : 0) | (d->state == DOMAIN_DYING ? KEEL_DOMFLAG_DYING : 0);
    i->state = state_of(d);
    i->shutdown_reason = d->shutdown_reason;
    i->max_vcpus = d->max_vcpus;
    i->memory_pages = d->p2m.pages;
    i->max_pages = d->max_pages;
    uint64_t t = d->cpu_time_ns;
    for (unsigned k = 0; k < d->max_vcpus; k++) {
        struct vcpu *v = d->vcpu[k];
        t += v->runtime_ns;
        i->vcpus_online += !(v->pause_flags & VPF_DOWN) && v->initialised;
    }
    i->cpu_time_ns = t;
    i->weight = d->config.weight;
    i->cap = d->config.cap;
    memcpy(i->name, d->name, sizeof(i->name));
}

static int to_action(uint32_t a, enum domain_action *out)
{
    switch (a) {
    case KEEL_ACTION_DESTROY: *out = ACTION_DESTROY; return 0;
    case KEEL_ACTION_RESTART: *out = ACTION_RESTART; return 0;
    case KEEL_ACTION_PRESERVE: *out = ACTION_PRESERVE; return 0;
    default: return -EINVAL;
    }
}

static int cpumap(const uint64_t *words, cpumask_t *out)
{
    cpumask_clear(out);
    for (unsigned w = 0; w < KEEL_CPUMAP_WORDS; w++)
        out->w[w] = words[w];
    return sched_online_only(out) ? 0 : -EINVAL;
}

static long createdomain(struct vcpu *v, abi_gva_t arg)
{
    struct keel_domctl_createdomain c;
    struct domain_config cfg;
    int rc = get_arg(v, arg, &c, sizeof(c));
    if (rc)
        return rc;
    memset(&cfg, 0, sizeof(cfg));
    if (strnlen((const char *)c.name, sizeof(c.name)) == sizeof(c.name) || !c.name[0])
        return -EINVAL;
    /* The manifest's and the toolstack's alphabet: a name lands in log
     * lines, so a newline in it could forge them. */
    for (const uint8_t *p = c.name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
              *p == '.' || *p == '-'))
            return -EINVAL;
    memcpy(cfg.name, c.name, sizeof(cfg.name));
    if (c.flags)
        return -EINVAL; /* only boot can make a control domain */
    if (c.max_vcpus < 1 || c.max_vcpus > DOMAIN_MAX_VCPUS)
        return -EINVAL;
    if (c.max_memory < MiB(1) || c.max_memory % MiB(1))
        return -EINVAL;
    struct frame_stats fs;
    frame_get_stats(&fs);
    if (c.max_memory > fs.total_pages << PAGE_SHIFT)
        return -ENOMEM; /* more than this host has */
    if (c.weight < 1 || c.weight > 65535 || c.cap > 100 * DOMAIN_MAX_VCPUS)
        return -EINVAL;
    if ((rc = to_action(c.on_poweroff, &cfg.on_poweroff)) || (rc = to_action(c.on_reboot, &cfg.on_reboot)) ||
        (rc = to_action(c.on_crash, &cfg.on_crash)))
        return rc;
    if ((rc = cpumap(c.cpumap, &cfg.affinity)))
        return rc;
    /* Names are unique, as for the toolstack. */
    unsigned long f = spin_lock_irqsave(&domlist_lock);
    list_for_each(pos, &domain_list) {
        if (!strcmp(list_entry(pos, struct domain, list)->name, cfg.name)) {
            spin_unlock_irqrestore(&domlist_lock, f);
            return -EEXIST;
        }
    }
    spin_unlock_irqrestore(&domlist_lock, f);
    cfg.max_vcpus = c.max_vcpus;
    cfg.memory = cfg.max_memory = c.max_memory;
    cfg.weight = c.weight;
    cfg.cap = c.cap;
    if (c.hdr.domain && (c.hdr.domain == 0 || c.hdr.domain > DOMAIN_MAX_ID))
        return -EINVAL;
    struct domain *d;
    rc = domain_create(&cfg, c.hdr.domain, &d);
    if (rc)
        return rc;
    d->vcpus_online = cfg.max_vcpus;
    c.hdr.domain = d->id;
    if (copy_to_guest(v, arg, &c, sizeof(c))) {
        domain_destroy(d);
        return -EFAULT;
    }
    pr_info("Domain %u (%s) created by domain %u: %u vCPUs, up to %lu MiB\n", d->id, d->name, v->domain->id,
            d->max_vcpus, (unsigned long)(c.max_memory >> 20));
    return 0;
}

static bool paused(const struct domain *d)
{
    return d->state == DOMAIN_BUILDING || d->state == DOMAIN_PAUSED;
}

static long populate(struct vcpu *v, struct domain *d, abi_gva_t arg)
{
    struct keel_domctl_populate p;
    int rc = get_arg(v, arg, &p, sizeof(p));
    if (rc)
        return rc;
    if (!paused(d))
        return -EBUSY;
    if (!p.count || p.count > KEEL_POPULATE_MAX || p.gfn >> 36 || (p.gfn + p.count) >> 36)
        return -EINVAL;
    if (d->p2m.pages + p.count > d->max_pages)
        return -ENOMEM; /* beyond the domain's limit */
    for (uint64_t g = p.gfn; g < p.gfn + p.count; g++)
        if (p2m_lookup(&d->p2m, g, NULL, NULL, NULL))
            return -EEXIST;
    return p2m_populate(&d->p2m, p.gfn, p.count);
}

static long copy_in(struct vcpu *v, struct domain *d, abi_gva_t arg)
{
    struct keel_domctl_copy c;
    int rc = get_arg(v, arg, &c, sizeof(c));
    if (rc)
        return rc;
    if (!paused(d))
        return -EBUSY;
    if (c.len > KEEL_COPY_MAX)
        return -E2BIG;
    uint8_t *buf = kmalloc(BOUNCE);
    if (!buf)
        return -ENOMEM;
    for (uint64_t done = 0; done < c.len && !rc;) {
        size_t n = (size_t)MIN(c.len - done, (uint64_t)BOUNCE);
        if (copy_from_guest(v, buf, c.buffer + done, n) || copy_to_gpa(d, c.gpa + done, buf, n))
            rc = -EFAULT; /* a bad source, or a destination outside the domain's memory */
        done += n;
    }
    kfree(buf);
    return rc;
}

static long set_vcpus_online(struct domain *d, uint32_t online)
{
    if (online < 1 || online > d->max_vcpus)
        return -EINVAL;
    unsigned old = d->vcpus_online;
    d->vcpus_online = online;
    /* vCPUs above the new count stop; the guest sees is_up = 0 for them. */
    for (unsigned i = online; i < d->max_vcpus; i++)
        vcpu_pause_flags_set(d->vcpu[i], VPF_DOWN);
    if (online != old) {
        pr_info("Domain %u (%s): %u vCPUs online (was %u)\n", d->id, d->name, online, old);
        send_global_virq(d, VIRQ_ARCH_0);
    }
    return 0;
}

static long shutdown_request(struct domain *d, uint32_t reason)
{
    bool force = reason & KEEL_SHUTDOWN_FORCE;
    reason &= ~KEEL_SHUTDOWN_FORCE;
    if (reason > SHUTDOWN_MAX)
        return -EINVAL;
    if (d->state == DOMAIN_SHUTDOWN || d->state == DOMAIN_DYING)
        return -EINVAL; /* already shut down */
    if (force) {
        domain_shutdown(d, reason);
        return 0;
    }
    d->params[HVM_PARAM_KEEL_SHUTDOWN_REQUEST] = reason + 1;
    if (!send_global_virq(d, VIRQ_KEEL_SHUTDOWN_REQUEST))
        return -EOPNOTSUPP; /* the guest has not bound the request VIRQ */
    return 0;
}

/* The operations on one domain; d stays valid throughout (the caller holds
 * off its destruction). */
static long domain_op(struct vcpu *v, struct domain *d, uint32_t cmd, abi_gva_t arg, struct keel_ctl_header h)
{
    int rc;
    switch (cmd) {
    case KEEL_DOMCTL_destroydomain:
        if (d == v->domain || d->is_control)
            return -EINVAL;
        if (d->state == DOMAIN_DYING)
            return -ESRCH;
        domain_destroy(d);
        return 0;
    case KEEL_DOMCTL_pausedomain:
        if (d == v->domain)
            return -EINVAL;
        if (d->state != DOMAIN_RUNNING && d->state != DOMAIN_PAUSED)
            return -EBUSY;
        domain_pause(d);
        return 0;
    case KEEL_DOMCTL_unpausedomain:
        if (d == v->domain || !d->pause_count)
            return -EINVAL;
        if (d->state == DOMAIN_BUILDING && !d->vcpu[0]->initialised)
            return -EINVAL; /* nothing to run yet */
        domain_unpause(d);
        return 0;
    case KEEL_DOMCTL_getdomaininfo: {
        struct keel_domctl_getdomaininfo g;
        g.hdr = h;
        domain_fill_info(d, &g.info);
        return copy_to_guest(v, arg, &g, sizeof(g)) ? -EFAULT : 0;
    }
    case KEEL_DOMCTL_setmaxmem: {
        struct keel_domctl_setmaxmem m;
        if ((rc = get_arg(v, arg, &m, sizeof(m))))
            return rc;
        if (m.max_memory % PAGE_SIZE || (m.max_memory >> PAGE_SHIFT) < d->p2m.pages)
            return -EINVAL;
        d->max_pages = m.max_memory >> PAGE_SHIFT;
        return 0;
    }
    case KEEL_DOMCTL_populate:
        return populate(v, d, arg);
    case KEEL_DOMCTL_copy_to_guest:
        return copy_in(v, d, arg);
    case KEEL_DOMCTL_setvcpucontext: {
        struct keel_domctl_vcpucontext c;
        if ((rc = get_arg(v, arg, &c, sizeof(c))))
            return rc;
        if (c.vcpu >= d->max_vcpus)
            return -EINVAL;
        if (!paused(d) || d == v->domain)
            return -EBUSY;
        rc = vcpu_set_abi_context(d->vcpu[c.vcpu], &c.ctx);
        if (!rc && c.vcpu < d->vcpus_online)
            vcpu_pause_flags_clear(d->vcpu[c.vcpu], VPF_DOWN);
        return rc;
    }
    case KEEL_DOMCTL_setvcpuaffinity: {
        struct keel_domctl_vcpuaffinity a;
        cpumask_t m;
        if ((rc = get_arg(v, arg, &a, sizeof(a))))
            return rc;
        if (a.vcpu >= d->max_vcpus)
            return -EINVAL;
        if ((rc = cpumap(a.cpumap, &m)))
            return rc;
        return sched_set_affinity(d->vcpu[a.vcpu], &m);
    }
    case KEEL_DOMCTL_sched_credit: {
        struct keel_domctl_sched_credit s;
        if ((rc = get_arg(v, arg, &s, sizeof(s))))
            return rc;
        if (s.set) {
            if (s.weight < 1 || s.weight > 65535 || s.cap > 100 * DOMAIN_MAX_VCPUS)
                return -EINVAL;
            d->config.weight = s.weight;
            d->config.cap = s.cap;
            return 0;
        }
        s.weight = d->config.weight;
        s.cap = d->config.cap;
        return copy_to_guest(v, arg, &s, sizeof(s)) ? -EFAULT : 0;
    }
    case KEEL_DOMCTL_vcpus_online: {
        struct keel_domctl_vcpus_online o;
        if ((rc = get_arg(v, arg, &o, sizeof(o))))
            return rc;
        return set_vcpus_online(d, o.online);
    }
    case KEEL_DOMCTL_shutdown: {
        struct keel_domctl_shutdown s;
        if ((rc = get_arg(v, arg, &s, sizeof(s))))
            return rc;
        if (d == v->domain)
            return -EINVAL;
        return shutdown_request(d, s.reason);
    }
    case KEEL_DOMCTL_set_actions: {
        struct keel_domctl_actions a;
        struct domain_config c = d->config;
        if ((rc = get_arg(v, arg, &a, sizeof(a))))
            return rc;
        if ((rc = to_action(a.on_poweroff, &c.on_poweroff)) || (rc = to_action(a.on_reboot, &c.on_reboot)) ||
            (rc = to_action(a.on_crash, &c.on_crash)))
            return rc;
        d->config = c;
        return 0;
    }
    case KEEL_DOMCTL_exit_counters: {
        struct keel_domctl_exit_counters e;
        if ((rc = get_arg(v, arg, &e, sizeof(e))))
            return rc;
        unsigned n = MIN(e.nr, hvm->nr_exit_reasons);
        for (unsigned r = 0; r < n; r++) {
            uint64_t c = d->exit_counts[r];
            for (unsigned i = 0; i < d->max_vcpus; i++)
                c += d->vcpu[i]->exit_counts[r];
            if (copy_to_guest(v, e.counts + 8 * r, &c, 8))
                return -EFAULT;
        }
        e.nr = hvm->nr_exit_reasons;
        return copy_to_guest(v, arg, &e, sizeof(e)) ? -EFAULT : 0;
    }
    case KEEL_DOMCTL_getvcpuinfo: {
        struct keel_domctl_vcpuinfo i;
        if ((rc = get_arg(v, arg, &i, sizeof(i))))
            return rc;
        if (i.vcpu >= d->max_vcpus)
            return -EINVAL;
        struct vcpu *t = d->vcpu[i.vcpu];
        i.online = !(t->pause_flags & VPF_DOWN) && t->initialised;
        i.running = t->is_running;
        i.blocked = !!(t->pause_flags & VPF_BLOCKED);
        i.cpu = t->processor;
        i.cpu_time_ns = t->runtime_ns;
        for (unsigned w = 0; w < KEEL_CPUMAP_WORDS; w++)
            i.cpumap[w] = t->affinity.w[w];
        return copy_to_guest(v, arg, &i, sizeof(i)) ? -EFAULT : 0;
    }
    default:
        return -ENOSYS;
    }
}

long do_domctl(struct vcpu *v, uint32_t cmd, abi_gva_t arg)
{
    struct keel_ctl_header h;
    int rc;
    if (cmd == KEEL_DOMCTL_createdomain)
        return createdomain(v, arg);
    if ((rc = get_arg(v, arg, &h, sizeof(h))))
        return rc;
    /* A domain looked up by id may be destroyed meanwhile by its own
     * shutdown action on another CPU: hold that off until we are done. */
    domain_destroy_lock();
    struct domain *d = target(v, h.domain);
    long ret = d ? domain_op(v, d, cmd, arg, h) : -ESRCH;
    domain_destroy_unlock();
    return ret;
}
