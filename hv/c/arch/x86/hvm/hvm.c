/* Choosing the backend, enabling it on every CPU, and the vendor-neutral
 * meaning of the simple exits. */
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/sched.h>
#include <keel/vcpu.h>
#include <asm/features.h>
#include <asm/hvm.h>
#include <asm/percpu.h>
#include <asm/smp.h>

const struct hvm_ops *hvm;
static volatile unsigned cpus_failed;

static bool vmx_ok(char *why, size_t len)
{
    const struct cpu_caps *c = &boot_cpu;
    const char *missing = !c->vmx_usable          ? "VT-x is disabled by the firmware"
                          : !c->vmx_true_ctls     ? "no TRUE VMX control MSRs"
                          : !c->ept               ? "no EPT"
                          : !(c->ept_4level && c->ept_wb) ? "EPT without a 4-level write-back walk"
                          : !c->vpid              ? "no VPID"
                          : !c->unrestricted      ? "no unrestricted guest"
                          : !c->invept_all && !c->invept_single ? "no INVEPT"
                                                  : NULL;
    if (missing)
        snprintf(why, len, "%s", missing);
    return !missing;
}

static bool svm_ok(char *why, size_t len)
{
    const struct cpu_caps *c = &boot_cpu;
    const char *missing = !c->svm_usable ? "AMD-V is disabled by the firmware (VM_CR.SVMDIS)"
                          : !c->npt      ? "no nested paging (NPT)"
                          : c->svm_asids < 2 ? "no guest ASIDs"
                                         : NULL;
    if (missing)
        snprintf(why, len, "%s", missing);
    return !missing;
}

bool hvm_available(void)
{
    return hvm != NULL;
}

static void cpu_up_remote(void *arg)
{
    (void)arg;
    if (hvm->cpu_up())
        __atomic_fetch_add(&cpus_failed, 1, __ATOMIC_RELAXED);
}

void hvm_init(void)
{
    char why[96] = "no VT-x or AMD-V";
    if (boot_cpu.vmx && vmx_ok(why, sizeof(why)))
        hvm = &vmx_ops;
    else if (boot_cpu.svm && svm_ok(why, sizeof(why)))
        hvm = &svm_ops;
    if (!hvm) {
        pr_warn("HVM: cannot run guests: %s. Keel keeps running without domains.\n", why);
        return;
    }
    if (hvm->cpu_up()) {
        pr_err("HVM: enabling %s on the boot CPU failed; cannot run guests\n", hvm->name);
        hvm = NULL;
        return;
    }
    smp_call_others(cpu_up_remote, NULL);
    if (cpus_failed) {
        pr_err("HVM: enabling %s failed on %u CPUs; cannot run guests\n", hvm->name, cpus_failed);
        hvm = NULL;
        return;
    }
    pr_info("HVM: %s with %s enabled on %u CPUs\n", hvm->name, hvm->p2m_name, nr_cpus_online);
}

bool hvm_long_mode(struct vcpu *v)
{
    return hvm->long_mode(v);
}

bool guest_compat(struct vcpu *v)
{
    return !hvm_long_mode(v);
}

unsigned hvm_cpl(struct vcpu *v)
{
    return hvm->get_cpl(v);
}

void hvm_hlt(struct vcpu *v)
{
    vcpu_block(v);
}

void hvm_pause_loop(struct vcpu *v)
{
    (void)v;
    /* A spinning guest gives its CPU to someone else. */
    sched_yield();
}

void hvm_npf(struct vcpu *v, gpa_t gpa, bool write, bool fetch, bool present)
{
    domain_crash(v->domain, "vCPU %u: %s of guest physical %#lx outside its memory (%s) at RIP %#lx", v->id,
                 fetch ? "instruction fetch" : write ? "write" : "read", (unsigned long)gpa,
                 present ? "permission" : "not mapped", (unsigned long)hvm->get_reg(v, HVM_RIP));
}

void hvm_triple_fault(struct vcpu *v)
{
    domain_crash(v->domain, "vCPU %u: triple fault at RIP %#lx", v->id, (unsigned long)hvm->get_reg(v, HVM_RIP));
}

void hvm_invalid_state(struct vcpu *v, const char *why)
{
    domain_crash(v->domain, "vCPU %u: invalid guest state: %s", v->id, why);
}

void hvm_unhandled_exit(struct vcpu *v, unsigned reason, uint64_t info)
{
    domain_crash(v->domain, "vCPU %u: unhandled exit %#x (info %#lx) at RIP %#lx", v->id, reason,
                 (unsigned long)info, (unsigned long)hvm->get_reg(v, HVM_RIP));
}

/* --- TLB tags ------------------------------------------------------------ */

struct tag_pool {
    uint32_t next;
    uint64_t gen;
};
static struct tag_pool tag_pools[NR_CPUS];

uint32_t hvm_tlb_tag(uint32_t *tag, uint64_t *gen, unsigned *cpu, uint32_t max, bool *flush)
{
    unsigned me = smp_processor_id();
    struct tag_pool *pool = &tag_pools[me];
    if (!pool->gen) {
        pool->gen = 1;
        pool->next = 1;
        this_cpu()->tlb_tag_gen = 1;
    }
    if (*tag && *cpu == me && *gen == pool->gen)
        return *tag;
    if (pool->next >= max) {
        pool->gen++;
        pool->next = 1;
    }
    *tag = pool->next++;
    *gen = pool->gen;
    this_cpu()->tlb_tag_gen = pool->gen;
    *cpu = me;
    *flush = true; /* the tag may carry translations from its last owner */
    return *tag;
}
