/*
 * Virtual CPUs.  The vendor-independent part lives here; the VT-x or AMD-V
 * state lives in the arch union (asm/hvm_vcpu.h) and only the backend
 * touches it.
 */
#ifndef KEEL_VCPU_H
#define KEEL_VCPU_H

#include <keel/cpumask.h>
#include <keel/sched.h>
#include <keel/timer.h>
#include <keel/types.h>
#include <asm/hvm_vcpu.h>

/* General registers saved on every exit.  RSP and RIP live in the VMCS or
 * VMCB (use the hvm accessors); the entry code relies on this order. */
struct guest_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
};

/* Reasons a vCPU is not runnable (runnable when pause_flags == 0). */
#define VPF_DOWN (1u << 0)    /* offline: not brought up, or hot-unplugged */
#define VPF_BLOCKED (1u << 1) /* waiting for an event or timer */
#define VPF_PAUSED (1u << 2)  /* its domain is paused, building or shut down */
#define VPF_DYING (1u << 3)

#define VCPU_EXIT_REASONS 192

struct domain;

struct vcpu {
    struct guest_regs regs; /* must stay first */
    struct domain *domain;
    unsigned id;
    volatile unsigned pause_flags;
    volatile bool is_running;
    unsigned processor;     /* the CPU whose run queue holds it */
    cpumask_t affinity;
    struct sched_vcpu sched;
    struct timer singleshot; /* VCPUOP_set_singleshot_timer / set_timer_op */
    struct hvm_vcpu hvm;     /* arch state, vendor union inside */
    uint64_t exit_counts[VCPU_EXIT_REASONS];
    uint64_t runtime_ns;
    uint64_t runstate_entry_ns;
    uint64_t runstate_time[4];
    int runstate;
    bool initialised;        /* has a context (VCPUOP_initialise or build) */
    /* Guest ABI state */
    void *vcpu_info;         /* host pointer to its vcpu_info, NULL if none */
    mfn_t vcpu_info_mfn;     /* registered frame (0: the shared-info slot) */
    gpa_t runstate_gpa;      /* VCPUOP_register_runstate_memory_area, 0 if none */
    bool runstate_compat;
    struct timer periodic;   /* VCPUOP_set_periodic_timer */
    uint64_t periodic_ns;
    const uint32_t *poll_ports; /* SCHEDOP_poll: ports being waited for */
    unsigned poll_nr;
    uint32_t poll_buf[128];
    struct timer poll_timeout;
};

int vcpu_create(struct domain *d, unsigned id, struct vcpu **out);
void vcpu_destroy(struct vcpu *v);
/* Set and clear pause flags; clearing may make the vCPU runnable. */
void vcpu_pause_flags_set(struct vcpu *v, unsigned flags);
void vcpu_pause_flags_clear(struct vcpu *v, unsigned flags);
/* Wait until v is not running on any CPU (after it was made not runnable). */
void vcpu_sync_stopped(struct vcpu *v);
/* Block the current vCPU until an event or timer (HLT, SCHEDOP_block). */
void vcpu_block(struct vcpu *v);
/* SCHEDOP_block: unmask event delivery, then block until an event. */
void vcpu_block_events(struct vcpu *v);
/* Wake v if it is blocked. */
void vcpu_unblock(struct vcpu *v);
void vcpu_runstate_change(struct vcpu *v, int new_state);

/* The vCPU's single-shot timer fired (raises VIRQ_TIMER, wakes it). */
void vcpu_timer_expired(struct vcpu *v);

/* Is the vCPU running 32-bit code (the compat ABI layouts apply)? */
bool guest_compat(struct vcpu *v);

/* Guest-ABI per-vCPU parts (timers, polling, runstate area). */
void vcpu_abi_init(struct vcpu *v);
void vcpu_timers_init(struct vcpu *v);
void vcpu_poll_done(struct vcpu *v);
void vcpu_runstate_publish(struct vcpu *v);

/* The vCPU running on this physical CPU, or NULL. */
struct vcpu *current_vcpu(void);

#endif
