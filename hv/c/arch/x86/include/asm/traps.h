#ifndef ASM_TRAPS_H
#define ASM_TRAPS_H

#include <keel/types.h>

/* Register frame built by the interrupt entry stubs (traps.S); keep the
 * order in sync with the pushes there. */
struct cpu_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

enum {
    X86_EXC_DE = 0,
    X86_EXC_DB = 1,
    X86_EXC_NMI = 2,
    X86_EXC_BP = 3,
    X86_EXC_OF = 4,
    X86_EXC_BR = 5,
    X86_EXC_UD = 6,
    X86_EXC_NM = 7,
    X86_EXC_DF = 8,
    X86_EXC_TS = 10,
    X86_EXC_NP = 11,
    X86_EXC_SS = 12,
    X86_EXC_GP = 13,
    X86_EXC_PF = 14,
    X86_EXC_MF = 16,
    X86_EXC_AC = 17,
    X86_EXC_MC = 18,
    X86_EXC_XM = 19,
    X86_EXC_VE = 20,
    X86_EXC_CP = 21,
};

/* Interrupt vectors used by the hypervisor itself. */
#define VECTOR_FIRST_IRQ 0x20
#define VECTOR_TIMER 0xF0       /* LAPIC timer */
#define VECTOR_IPI_RESCHED 0xF1 /* run the scheduler */
#define VECTOR_IPI_CALL 0xF2    /* run a function on another CPU */
#define VECTOR_IPI_WAKEUP 0xF3  /* wake a halted CPU; nothing else to do */
#define VECTOR_SPURIOUS 0xFF

typedef void (*irq_handler_t)(struct cpu_regs *regs);
void irq_register(uint8_t vector, irq_handler_t handler);

/* Exception fixups: a faulting instruction at `from` resumes at `to`
 * (used by rdmsr_safe and the guest-memory copy routines). */
struct extable_entry {
    uint64_t from;
    uint64_t to;
};

void nmi_handler(struct cpu_regs *r);
void idt_init(void);
void idt_load(void);
void dump_regs(const struct cpu_regs *r);
void dump_stack(uint64_t rbp);

#endif
