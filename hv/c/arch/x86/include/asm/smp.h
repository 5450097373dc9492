#ifndef ASM_SMP_H
#define ASM_SMP_H

/* The AP start-up trampoline is copied to this page below 1 MiB (the SIPI
 * vector is its page number). */
#define TRAMPOLINE_PHYS 0x8000

#ifndef __ASSEMBLY__
#include <keel/types.h>

/* Bring up every CPU the MADT lists (up to maxcpus=). */
void smp_boot_cpus(void);
/* Run fn(arg) on every other online CPU and wait until all have run it. */
void smp_call_others(void (*fn)(void *), void *arg);
/* Let every other CPU enter the scheduler. */
void smp_start_scheduling(void);
#endif

#endif
