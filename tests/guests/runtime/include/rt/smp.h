/*
 * Secondary vCPUs, started with vcpu_op VCPUOP_initialise + VCPUOP_up in the
 * flavour's own mode, on the boot vCPU's page tables, GDT and IDT.
 * tests/smp.c exercises it (and SKIPs where vcpu_op returns -ENOSYS).
 */
#ifndef RT_SMP_H
#define RT_SMP_H

#include <stdbool.h>

#include "layout.h"

/* Start vCPU id (1 .. RT_MAX_VCPUS - 1) running fn(id) on a fresh stack.
 * 0 on success or a negative errno (from the hypercalls, or -EINVAL,
 * -ENOMEM, -EBUSY, -ENODEV without hypervisor).  When fn returns the vCPU
 * marks itself done and takes itself down (VCPUOP_down, else halts). */
int vcpu_start(unsigned id, void (*fn)(unsigned id));

/* The id of the vCPU running this code (0 for the boot vCPU). */
unsigned smp_cpu_id(void);

enum vcpu_state { VCPU_OFF, VCPU_STARTING, VCPU_RUNNING, VCPU_DONE };
enum vcpu_state vcpu_state(unsigned id);

/* Spin until vCPU id reaches at least state, or timeout_tsc TSC cycles pass
 * (0 = forever).  True if it got there. */
bool vcpu_wait(unsigned id, enum vcpu_state state, unsigned long long timeout_tsc);

#endif
