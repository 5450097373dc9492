/* What the core asks of the architecture code during boot. */
#ifndef KEEL_ARCH_H
#define KEEL_ARCH_H

#include <keel/types.h>

/* Descriptor tables, per-CPU data and CPU identification on the boot CPU. */
void arch_init_early(void);
/* Final page tables (needs the frame allocator). */
void arch_init_memory(void);
/* Time, local APIC and every other CPU (needs ACPI). */
void arch_init_cpus(void);
/* Print what was found: CPU, virtualization extensions, CPUs, memory. */
void arch_report(void);
/* Deliberate faults for tests (test_fault= option); returns if none asked. */
void arch_test_fault(void);

#endif
