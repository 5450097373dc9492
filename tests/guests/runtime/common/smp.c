/*
 * Secondary vCPUs through vcpu_op: VCPUOP_initialise with a struct
 * vcpu_hvm_context in the flavour's mode (arch_vcpu_context()) on a fresh
 * STACK_SIZE-aligned stack, then VCPUOP_up.  The new vCPU enters at
 * ap_entry (entry.S), loads the GDT and IDT and runs its function.
 */
#include "rt.h"

_Static_assert(RT_MAX_VCPUS == KEEL_MAX_VCPUS, "the runtime's vCPU limit is the ABI's");

static int states[RT_MAX_VCPUS]; /* enum vcpu_state */

unsigned smp_cpu_id(void)
{
    return this_cpu()->id;
}

enum vcpu_state vcpu_state(unsigned id)
{
    if (id == 0)
        return VCPU_RUNNING;
    return id < RT_MAX_VCPUS ? (enum vcpu_state)__atomic_load_n(&states[id], __ATOMIC_ACQUIRE) : VCPU_OFF;
}

static void set_state(unsigned id, enum vcpu_state s)
{
    __atomic_store_n(&states[id], s, __ATOMIC_RELEASE);
}

int vcpu_start(unsigned id, void (*fn)(unsigned id))
{
    if (!hypervisor.present)
        return -ENODEV;
    if (id == 0 || id >= RT_MAX_VCPUS || !fn)
        return -EINVAL;
    int off = VCPU_OFF;
    if (!__atomic_compare_exchange_n(&states[id], &off, VCPU_STARTING, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return -EBUSY;

    struct percpu *pc = alloc_pages(STACK_SIZE, STACK_SIZE);
    if (!pc) {
        set_state(id, VCPU_OFF);
        return -ENOMEM;
    }
    pc->id = id;
    pc->entry = fn;

    struct vcpu_hvm_context ctx;
    memset(&ctx, 0, sizeof(ctx));
    arch_vcpu_context(&ctx, (uintptr_t)ap_entry, (uintptr_t)pc + STACK_SIZE);
    long rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, id, &ctx);
    if (!rc)
        rc = HYPERVISOR_vcpu_op(VCPUOP_up, id, NULL);
    if (rc) {
        set_state(id, VCPU_OFF); /* the stack is not reused: allocations are never freed */
        return (int)rc;
    }
    return 0;
}

void ap_start(void)
{
    struct percpu *pc = this_cpu();

    arch_idt_load();
    set_state(pc->id, VCPU_RUNNING);
    pc->entry(pc->id);
    set_state(pc->id, VCPU_DONE);
    HYPERVISOR_vcpu_op(VCPUOP_down, pc->id, NULL);
    halt();
}

bool vcpu_wait(unsigned id, enum vcpu_state state, unsigned long long timeout_tsc)
{
    uint64_t start = rdtsc();
    while ((int)vcpu_state(id) < (int)state) {
        if (timeout_tsc && rdtsc() - start >= timeout_tsc)
            return false;
        cpu_relax();
    }
    return true;
}
