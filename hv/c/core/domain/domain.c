/* Domain life cycle: create, pause, shut down, crash, destroy, restart. */
#include <keel/domain.h>
#include <keel/event.h>
#include <keel/heap.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/panic.h>
#include <keel/power.h>
#include <keel/printk.h>
#include <keel/sched.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

spinlock_t domlist_lock = SPINLOCK_INIT;
struct list_head domain_list = LIST_HEAD_INIT(domain_list);

static struct domain **by_id; /* DOMAIN_MAX_ID + 1 slots */
static unsigned nr_domains;
static unsigned next_id = 1;
static bool had_control;

/* Ids of domains whose shutdown action waits for the scheduling loop.  Ids,
 * not pointers: the control domain may destroy a domain meanwhile.  All
 * destruction is serialised by destroy_lock. */
static spinlock_t work_lock = SPINLOCK_INIT;
static uint16_t work[256];
volatile unsigned nr_work; /* read on every exit (hvm_should_stop) */
static spinlock_t destroy_lock = SPINLOCK_INIT;

void domain_subsys_init(void)
{
    by_id = kzalloc(sizeof(*by_id) * (DOMAIN_MAX_ID + 1));
    if (!by_id)
        panic("no memory for the domain table");
}

static const char *const state_names[] = { "building", "paused", "running", "shutdown", "dying" };

const char *domain_state_name(enum domain_state s)
{
    return (unsigned)s < ARRAY_SIZE(state_names) ? state_names[s] : "?";
}

static const char *const reason_names[] = { "poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset" };

static const char *reason_name(unsigned r)
{
    return r < ARRAY_SIZE(reason_names) ? reason_names[r] : "unknown";
}

unsigned domain_count(void)
{
    return READ_ONCE(nr_domains);
}

struct domain *domain_by_id(unsigned id)
{
    if (id > DOMAIN_MAX_ID || !by_id)
        return NULL;
    return READ_ONCE(by_id[id]);
}

struct domain *domain_get(unsigned id)
{
    if (id > DOMAIN_MAX_ID || !by_id)
        return NULL;
    unsigned long f = spin_lock_irqsave(&domlist_lock);
    struct domain *d = by_id[id];
    if (d && d->state != DOMAIN_DYING)
        __atomic_fetch_add(&d->refs, 1, __ATOMIC_ACQUIRE);
    else
        d = NULL;
    spin_unlock_irqrestore(&domlist_lock, f);
    return d;
}

void domain_put(struct domain *d)
{
    if (d)
        __atomic_fetch_sub(&d->refs, 1, __ATOMIC_RELEASE);
}

static int validate(const struct domain_config *c)
{
    if (!c->name[0] || strnlen(c->name, DOMAIN_NAME_MAX) == DOMAIN_NAME_MAX)
        return -EINVAL;
    if (c->max_vcpus < 1 || c->max_vcpus > DOMAIN_MAX_VCPUS)
        return -EINVAL;
    if (c->memory < MiB(1) || c->max_memory < c->memory || !IS_ALIGNED(c->memory, MiB(1)))
        return -EINVAL;
    if (c->weight < 1 || c->weight > 65535 || c->cap > 100 * 128)
        return -EINVAL;
    if (cpumask_empty(&c->affinity))
        return -EINVAL;
    return 0;
}

static void free_domain(struct domain *d)
{
    for (unsigned i = 0; d->vcpu && i < d->max_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        if (!v)
            continue;
        for (unsigned r = 0; r < VCPU_EXIT_REASONS && r < ARRAY_SIZE(d->exit_counts); r++)
            d->exit_counts[r] += v->exit_counts[r];
        d->cpu_time_ns += v->runtime_ns;
        vcpu_destroy(v);
        d->vcpu[i] = NULL;
    }
    domain_arch_teardown(d);
    p2m_teardown(&d->p2m);
    kfree(d->vcpu);
    kfree(d->image);
    kfree(d);
}

int domain_create(const struct domain_config *cfg, int want_id, struct domain **out)
{
    int rc = validate(cfg);
    if (rc)
        return rc;
    if (!hvm_available())
        return -ENODEV;
    /* Hypervisor memory this domain costs: frames taken, minus the heap's
     * own frames, plus the heap bytes it allocated (exact, whatever the
     * state of the heap's slabs). */
    struct heap_stats hs0, hs1;
    heap_get_stats(&hs0);
    uint64_t free_before = frame_free_pages();
    uint64_t tsc = rdtsc();
    struct domain *d = kzalloc(sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->created_tsc = tsc;
    d->config = *cfg;
    memcpy(d->name, cfg->name, DOMAIN_NAME_MAX);
    d->is_control = cfg->is_control;
    d->max_vcpus = cfg->max_vcpus;
    d->max_pages = cfg->max_memory >> PAGE_SHIFT;
    d->state = DOMAIN_BUILDING;
    d->pause_count = 1; /* released by the first domain_unpause() */
    d->shutdown_code = -1;
    d->shared_info_gfn = ~0ULL;
    d->created_ns = time_now_ns();
    d->log_tokens = GUEST_LOG_BURST;
    d->log_stamp_ns = d->created_ns;
    d->notice_tokens = 20;
    d->notice_stamp_ns = d->created_ns;
    /* Each domain's TSC starts near zero. */
    d->tsc_offset = 0 - rdtsc();
    list_init(&d->list);
    d->vcpu = kzalloc(sizeof(*d->vcpu) * d->max_vcpus);
    if (!d->vcpu || p2m_init(&d->p2m, d)) {
        kfree(d->vcpu);
        kfree(d);
        return -ENOMEM;
    }
    for (unsigned i = 0; i < d->max_vcpus; i++) {
        rc = vcpu_create(d, i, &d->vcpu[i]);
        if (rc) {
            free_domain(d);
            return rc;
        }
    }
    rc = domain_arch_init(d);
    if (rc) {
        free_domain(d);
        return rc;
    }

    unsigned long f = spin_lock_irqsave(&domlist_lock);
    int id = -1;
    if (cfg->is_control) {
        if (!by_id[0])
            id = 0;
    } else if (want_id > 0 && (unsigned)want_id <= DOMAIN_MAX_ID) {
        if (!by_id[want_id])
            id = want_id;
    } else {
        for (unsigned n = 0; n < DOMAIN_MAX_ID; n++) {
            unsigned cand = (next_id + n - 1) % DOMAIN_MAX_ID + 1;
            if (!by_id[cand]) {
                id = (int)cand;
                next_id = cand % DOMAIN_MAX_ID + 1;
                break;
            }
        }
    }
    if (id < 0) {
        spin_unlock_irqrestore(&domlist_lock, f);
        free_domain(d);
        return -EEXIST;
    }
    d->id = (uint16_t)id;
    heap_get_stats(&hs1);
    d->overhead_bytes = (free_before - frame_free_pages() - (hs1.pages_in_use - hs0.pages_in_use)) * PAGE_SIZE +
                        (hs1.bytes_in_use - hs0.bytes_in_use);
    by_id[id] = d;
    list_add_tail(&d->list, &domain_list);
    nr_domains++;
    had_control |= cfg->is_control;
    spin_unlock_irqrestore(&domlist_lock, f);
    *out = d;
    return 0;
}

/* VIRQ_DOM_EXC: the control domain learns that a domain shut down or was
 * destroyed, and looks at the list again (as with Xen). */
static void notify_control(bool from_control)
{
    if (from_control)
        return;
    struct domain *c = domain_get(0);
    if (c && c->is_control)
        send_global_virq(c, VIRQ_DOM_EXC);
    domain_put(c);
}

void domain_destroy(struct domain *d)
{
    d->state = DOMAIN_DYING;
    for (unsigned i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i])
            vcpu_pause_flags_set(d->vcpu[i], VPF_DYING);
    for (unsigned i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i])
            vcpu_sync_stopped(d->vcpu[i]);
    unsigned long f = spin_lock_irqsave(&domlist_lock);
    by_id[d->id] = NULL;
    list_del(&d->list);
    nr_domains--;
    spin_unlock_irqrestore(&domlist_lock, f);
    /* No new reference can be taken now; the ones held by hypercalls on
     * other CPUs end with those hypercalls. */
    uint64_t since = rdtsc();
    bool said = false;
    while (__atomic_load_n(&d->refs, __ATOMIC_ACQUIRE)) {
        if (!said && rdtsc() - since > tsc_khz * 1000) {
            pr_warn("Domain %u (%s): destruction waits for %u references\n", d->id, d->name, d->refs);
            said = true;
        }
        cpu_relax();
    }
    domain_print_exit_counts(d);
    uint64_t t0 = rdtsc();
    unsigned id = d->id;
    bool was_control = d->is_control;
    char name[DOMAIN_NAME_MAX];
    memcpy(name, d->name, sizeof(name));
    free_domain(d);
    pr_info("Domain %u (%s) destroyed in %lu TSC ticks\n", id, name, (unsigned long)(rdtsc() - t0));
    notify_control(was_control);
}

/* Serialises destructions: the shutdown actions', the control domain's
 * (domain_destroy_by_id() and the control interface). */
void domain_destroy_lock(void)
{
    spin_lock(&destroy_lock); /* interrupts stay on: stopping vCPUs takes IPIs */
}

void domain_destroy_unlock(void)
{
    spin_unlock(&destroy_lock);
}

/* The control domain's destroy: serialised with the shutdown actions. */
int domain_destroy_by_id(unsigned id)
{
    spin_lock(&destroy_lock);
    struct domain *d = domain_by_id(id);
    int rc = -ESRCH;
    if (d && d->state != DOMAIN_DYING) {
        domain_destroy(d);
        rc = 0;
    }
    spin_unlock(&destroy_lock);
    return rc;
}

void domain_pause(struct domain *d)
{
    spin_lock(&d->lock);
    d->pause_count++;
    spin_unlock(&d->lock);
    for (unsigned i = 0; i < d->max_vcpus; i++)
        vcpu_pause_flags_set(d->vcpu[i], VPF_PAUSED);
    for (unsigned i = 0; i < d->max_vcpus; i++)
        vcpu_sync_stopped(d->vcpu[i]);
    if (d->state == DOMAIN_RUNNING)
        d->state = DOMAIN_PAUSED;
}

void domain_unpause(struct domain *d)
{
    spin_lock(&d->lock);
    bool resume = d->pause_count && --d->pause_count == 0;
    if (resume && (d->state == DOMAIN_PAUSED || d->state == DOMAIN_BUILDING))
        d->state = DOMAIN_RUNNING;
    else
        resume = false;
    spin_unlock(&d->lock);
    if (!resume)
        return;
    for (unsigned i = 0; i < d->max_vcpus; i++)
        vcpu_pause_flags_clear(d->vcpu[i], VPF_PAUSED);
}

static void queue_work(struct domain *d)
{
    unsigned long f = spin_lock_irqsave(&work_lock);
    for (unsigned i = 0; i < nr_work; i++) {
        if (work[i] == d->id) {
            spin_unlock_irqrestore(&work_lock, f);
            return;
        }
    }
    BUG_ON(nr_work == ARRAY_SIZE(work));
    work[nr_work++] = d->id;
    spin_unlock_irqrestore(&work_lock, f);
}

void domain_shutdown(struct domain *d, unsigned reason)
{
    spin_lock(&d->lock);
    if (d->state == DOMAIN_SHUTDOWN || d->state == DOMAIN_DYING) {
        spin_unlock(&d->lock);
        return;
    }
    d->state = DOMAIN_SHUTDOWN;
    d->shutdown_reason = reason;
    spin_unlock(&d->lock);
    for (unsigned i = 0; i < d->max_vcpus; i++)
        vcpu_pause_flags_set(d->vcpu[i], VPF_PAUSED);
    pr_info("Domain %u (%s) shut down: %s\n", d->id, d->name, reason_name(reason));
    notify_control(d->is_control);
    queue_work(d);
}

void domain_crash(struct domain *d, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (d->state == DOMAIN_SHUTDOWN || d->state == DOMAIN_DYING)
        return;
    pr_err("Domain %u (%s) crashed: %s\n", d->id, d->name, msg);
    domain_shutdown(d, SHUTDOWN_crash);
}

bool domain_work_pending(void)
{
    return READ_ONCE(nr_work) != 0;
}

static int take_work(void)
{
    unsigned long f = spin_lock_irqsave(&work_lock);
    int id = nr_work ? work[--nr_work] : -1;
    spin_unlock_irqrestore(&work_lock, f);
    return id;
}

static enum domain_action action_for(struct domain *d)
{
    switch (d->shutdown_reason) {
    case SHUTDOWN_poweroff: return d->config.on_poweroff;
    case SHUTDOWN_reboot: return d->config.on_reboot;
    case SHUTDOWN_crash: return d->config.on_crash;
    default: return ACTION_PRESERVE; /* suspend, watchdog, soft_reset: left for the control domain */
    }
}

static void control_domain_ended(struct domain *d)
{
    switch (d->shutdown_reason) {
    case SHUTDOWN_poweroff:
        pr_info("Control domain powered off: powering the machine off\n");
        machine_power_off();
    case SHUTDOWN_reboot:
        pr_info("Control domain rebooted: restarting the machine\n");
        machine_restart();
    default:
        pr_err("Control domain stopped (%s): restarting the machine\n", reason_name(d->shutdown_reason));
        machine_restart();
    }
}

void domain_handle_shutdown(struct domain *d)
{
    for (unsigned i = 0; i < d->max_vcpus; i++)
        vcpu_sync_stopped(d->vcpu[i]);
    if (d->is_control && d->state == DOMAIN_SHUTDOWN)
        control_domain_ended(d);
    enum domain_action act = action_for(d);
    if (act == ACTION_PRESERVE) {
        pr_info("Domain %u (%s) preserved after %s\n", d->id, d->name, reason_name(d->shutdown_reason));
        return;
    }
    if (act == ACTION_RESTART && d->image) {
        struct domain_config cfg = d->config;
        struct domain_image *img = d->image;
        uint64_t restarts = d->restarts + 1;
        d->image = NULL;
        domain_destroy(d);
        struct domain *nd = NULL;
        int rc = domain_create(&cfg, 0, &nd);
        if (!rc) {
            rc = domain_build_pvh(nd, img);
            if (rc)
                domain_destroy(nd);
        }
        if (rc) {
            pr_err("Domain '%s': restart failed (%d)\n", cfg.name, rc);
            kfree(img);
            return;
        }
        nd->image = img;
        nd->restarts = restarts;
        pr_info("Domain '%s' restarted as domain %u (restart %lu)\n", cfg.name, nd->id, (unsigned long)restarts);
        domain_unpause(nd);
        return;
    }
    domain_destroy(d);
}

void domain_do_work(void)
{
    if (!domain_work_pending())
        return;
    int id;
    while ((id = take_work()) >= 0) {
        spin_lock(&destroy_lock); /* interrupts stay on: stopping vCPUs takes IPIs */
        struct domain *d = domain_by_id((unsigned)id);
        if (d && d->state == DOMAIN_SHUTDOWN)
            domain_handle_shutdown(d);
        spin_unlock(&destroy_lock);
    }
    if (!had_control && domain_count() == 0 && domain_boot_done()) {
        pr_info("Keel: no domains left and no control domain\n");
        machine_power_off();
    }
}

bool domain_ram_pinned(struct domain *d, mfn_t mfn)
{
    for (unsigned i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i] && d->vcpu[i]->vcpu_info_mfn == mfn)
            return true;
    return false;
}

/* First entry into the guest: creation-to-first-instruction and footprint
 * figures for the benchmarks (docs/benchmarks.md). */
void domain_first_entry(struct domain *d)
{
    uint64_t now = rdtsc();
    d->started = true;
    pr_info("Domain %u (%s): first entry %lu TSC ticks after creation, %lu after boot; hypervisor memory %lu KiB + "
            "%lu KiB page tables for %lu MiB\n",
            d->id, d->name, (unsigned long)(now - d->created_tsc), (unsigned long)(now - boot_tsc),
            (unsigned long)(d->overhead_bytes / 1024), (unsigned long)(d->p2m.table_pages * 4),
            (unsigned long)(d->p2m.pages >> 8));
}

void domain_print_exit_counts(struct domain *d)
{
    char line[512];
    size_t n = (size_t)snprintf(line, sizeof(line), "Domain %u exits:", d->id);
    bool any = false;
    for (unsigned r = 0; r < hvm->nr_exit_reasons && r < ARRAY_SIZE(d->exit_counts); r++) {
        uint64_t c = d->exit_counts[r];
        for (unsigned i = 0; i < d->max_vcpus; i++)
            c += d->vcpu[i] ? d->vcpu[i]->exit_counts[r] : 0;
        if (!c)
            continue;
        const char *name = hvm->exit_name(r);
        if (n < sizeof(line))
            n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %lu", name ? name : "?", (unsigned long)c);
        any = true;
    }
    if (any)
        pr_info("%s\n", line);
}
