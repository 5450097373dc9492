/*
 * Domains: isolated virtual machines, each with its own vCPUs and memory.
 */
#ifndef KEEL_DOMAIN_H
#define KEEL_DOMAIN_H

#include <keel/cpumask.h>
#include <keel/list.h>
#include <keel/p2m.h>
#include <keel/spinlock.h>
#include <keel/types.h>
#include <abi.h>

#define DOMAIN_NAME_MAX 64
#define DOMAIN_MAX_VCPUS KEEL_MAX_VCPUS
#define DOMAIN_MAX_ID (DOMID_FIRST_RESERVED - 1)

enum domain_state {
    DOMAIN_BUILDING,
    DOMAIN_PAUSED,
    DOMAIN_RUNNING,
    DOMAIN_SHUTDOWN, /* stopped with a reason; waiting for its action */
    DOMAIN_DYING,
};

enum domain_action {
    ACTION_DESTROY,
    ACTION_RESTART,
    ACTION_PRESERVE,
};

struct domain_config {
    char name[DOMAIN_NAME_MAX];
    bool is_control;
    unsigned max_vcpus;
    uint64_t memory;     /* bytes at start */
    uint64_t max_memory; /* bytes, >= memory */
    unsigned weight;     /* 1..65535, 256 by default */
    unsigned cap;        /* percent of one CPU, 0 = none */
    cpumask_t affinity;
    enum domain_action on_poweroff, on_reboot, on_crash;
};

/* How to build (and rebuild, for on_*=restart) a PVH domain's memory. */
struct domain_image {
    const void *kernel;
    size_t kernel_size;
    const void *ramdisk;
    size_t ramdisk_size;
    char cmdline[2048];
    unsigned vcpus_online;
};

#define GUEST_LINE_MAX 256
#define GUEST_LOG_BURST 1000 /* lines a domain may print at once to the serial console */

struct guest_console {
    char line[GUEST_LINE_MAX];
    unsigned len;
};

struct evtchn_domain;
struct grant_table;

struct domain {
    uint16_t id;
    char name[DOMAIN_NAME_MAX];
    volatile enum domain_state state;
    unsigned shutdown_reason;  /* SHUTDOWN_* once in DOMAIN_SHUTDOWN */
    int shutdown_code;         /* SCHEDOP_shutdown_code, -1 if unset */
    bool is_control;
    uint32_t refs;             /* domain_get() references held */
    struct domain_config config;
    struct domain_image *image; /* kept for restart */

    unsigned max_vcpus;
    unsigned vcpus_online;     /* vCPUs the guest may bring up (hotplug) */
    struct vcpu **vcpu;
    unsigned pause_count;      /* control-domain pauses */

    spinlock_t lock;
    struct p2m p2m;
    uint64_t max_pages;        /* memory limit in pages */
    uint64_t xen_pages;        /* hypervisor pages lent to the guest (shared info, grant frames) */

    uint64_t tsc_offset;       /* guest TSC = host TSC + offset */
    uint64_t created_ns;
    uint64_t created_tsc;      /* for the benchmarks: creation to first entry */
    bool started;              /* vCPU 0 has entered the guest once */
    uint64_t overhead_bytes;   /* hypervisor memory domain_create() took (not guest RAM) */
    uint64_t restarts;

    /* HVM parameters and the pages the guest asked for. */
    uint64_t params[HVM_NR_PARAMS];
    paddr_t shared_info;       /* host page */
    gfn_t shared_info_gfn;     /* where the guest mapped it, ~0 if not */
    bool shinfo_compat;        /* 32-bit layout (latched when mapped) */
    gfn_t hypercall_page_gfn;

    struct guest_console console;
    uint64_t log_tokens;       /* rate limit for guest-triggered messages */
    uint64_t log_stamp_ns;
    uint64_t log_suppressed;
    uint64_t notice_tokens;    /* rate limit for Keel's messages about the guest */
    uint64_t notice_stamp_ns;
    uint64_t notice_quiet_tsc;    /* no notices before this TSC value */

    struct evtchn_domain *evtchn;
    struct grant_table *grants;

    uint64_t cap_period_start_ns; /* scheduler: the current cap period */
    uint64_t cap_used_ns;
    uint64_t exit_counts[192]; /* per exit reason of vCPUs already destroyed */
    uint64_t cpu_time_ns;      /* of vCPUs already destroyed */
    struct list_head list;
};

extern spinlock_t domlist_lock;
extern struct list_head domain_list;

void domain_subsys_init(void);
/* Create a paused, empty domain.  id 0 asks for the next free id unless the
 * config is the control domain (always id 0). */
int domain_create(const struct domain_config *cfg, int want_id, struct domain **out);
/* Tear down: every vCPU, every frame, every allocation. */
void domain_destroy(struct domain *d);
/* Destroy by id, serialised with the domains' own shutdown actions. */
int domain_destroy_by_id(unsigned id);
struct domain *domain_by_id(unsigned id);
/* A counted reference, for a hypercall that acts on a domain named by id
 * (possibly another one): NULL if there is none or it is dying.
 * domain_destroy() frees nothing until every reference is dropped. */
struct domain *domain_get(unsigned id);
void domain_put(struct domain *d);
/* Hold off every destruction while using a domain found with
 * domain_by_id() (the control interface, which destroys domains itself and
 * so cannot hold a reference).  Not nested. */
void domain_destroy_lock(void);
void domain_destroy_unlock(void);
void domain_pause(struct domain *d);
void domain_unpause(struct domain *d);
/* The guest (or the control domain) ends the domain with a reason. */
void domain_shutdown(struct domain *d, unsigned reason);
/* A misbehaving guest: log why and stop it (its on_crash action follows). */
void domain_crash(struct domain *d, const char *fmt, ...) __printf(2, 3);
/* Run the on_poweroff/on_reboot/on_crash action of a shut-down domain. */
void domain_handle_shutdown(struct domain *d);
unsigned domain_count(void);
/* Build a PVH domain's memory and boot vCPU from an image (core/domain/build.c). */
int domain_build_pvh(struct domain *d, const struct domain_image *img);
/* Per-domain state of the guest ABI (shared info, events, grants). */
int domain_arch_init(struct domain *d);
void domain_arch_teardown(struct domain *d);
/* True once the boot-time domains have all been started. */
bool domain_boot_done(void);
/* Boot: build the manifest's domains (or dom0 from the first module). */
unsigned boot_domains(void);
void boot_domains_unpause(void);
int domain_abi_init(struct domain *d);
void domain_abi_teardown(struct domain *d);
const char *domain_state_name(enum domain_state s);
void domain_print_exit_counts(struct domain *d);
void domain_first_entry(struct domain *d);
/* Does the hypervisor hold a pointer into this RAM frame (a vcpu_info)? */
bool domain_ram_pinned(struct domain *d, mfn_t mfn);

/* Guest-triggered log lines: tagged "(dN) " and rate-limited per domain. */
void gprintk(struct domain *d, int level, const char *fmt, ...) __printf(3, 4);

/* Would gprintk() print now?  Hot paths test this before building the
 * arguments; a false answer counts the line as suppressed. */
static inline bool gprintk_ready(struct domain *d)
{
    uint64_t lo, hi;
    __asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
    if (((hi << 32) | lo) >= d->notice_quiet_tsc)
        return true;
    d->log_suppressed++;
    return false;
}
/* Bytes the guest writes to its debug console (port 0xE9 or console_io). */
void guest_console_write(struct domain *d, const char *buf, size_t len);

#endif
