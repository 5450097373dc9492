/*
 * Ring 3.  run_in_user_mode() calls a function at CPL 3 (IOPL 0) on a
 * per-vCPU user stack and comes back to ring 0 when it returns or faults:
 * the way to check what the hypervisor does for a user-mode caller.
 *
 * The first call maps the image (code, data, the hypercall page) and the
 * user stacks with the U bit at every level of the page tables (only those:
 * the rest of memory stays supervisor-only) and loads a TSS on the calling
 * vCPU (RSP0/ESP0 is set on each call, just below the caller's frames).
 *
 * Code running in ring 3 may make hypercalls (keel_hypercall(),
 * HYPERVISOR_*(), in any mode) and read and write the image's globals.  It
 * must not use what needs per-vCPU data (printf, report, check, smp_cpu_id,
 * run_expecting_fault): the user stack carries no struct percpu.  Record
 * results in globals and report them back in ring 0.
 */
#ifndef RT_USER_H
#define RT_USER_H

#include <stdbool.h>

#include "layout.h"

struct fault_info;

/* Run fn(arg) at CPL 3.  NO_FAULT (-1) when fn returned; otherwise the
 * exception vector it raised (fn is abandoned, as in run_expecting_fault)
 * with the details in *fi (may be NULL).  Interrupts keep the caller's
 * state.  Works on every vCPU; not nestable. */
int run_in_user_mode(void (*fn)(void *), void *arg, struct fault_info *fi);

/* Page-table entry bits for pte_modify(). */
#define PTE_PRESENT 0x001ULL
#define PTE_WRITABLE 0x002ULL
#define PTE_USER 0x004ULL

/* Set and clear bits of the 4 KiB page-table entry that maps va (the boot
 * page tables map the first 2 MiB, and so the image, with 4 KiB entries),
 * then INVLPG it on this vCPU (other vCPUs are not told).  E.g. a
 * read-only or a not-present page of the image for -EFAULT tests.  False
 * when va is not mapped by a 4 KiB entry. */
bool pte_modify(const void *va, uint64_t set, uint64_t clear);

/* The current privilege level (CS.RPL): 0 in the kernel, 3 in user mode. */
static inline unsigned current_cpl(void)
{
    unsigned short cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    return cs & 3;
}

#endif
