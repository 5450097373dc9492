/*
 * Expected faults.  Two mechanisms:
 *  - the exception table: an (instruction, resume) address pair per
 *    instruction that may fault; the handler resumes at the second address.
 *    For single instructions such as RDMSR, without leaving the function.
 *  - a jump buffer per vCPU for run_expecting_fault(), which abandons the
 *    called function (longjmp out of the exception handler).
 */
#include "rt.h"

struct extable_entry {
    unsigned long insn, resume;
};

extern const struct extable_entry __start_extable[], __stop_extable[];

/* Emits an exception-table entry: a fault at label `from` resumes at `to`. */
#define EXTABLE(from, to)                                                   \
    ".pushsection .extable, \"a\"\n"                                       \
    ".balign " __stringify(__SIZEOF_POINTER__) "\n"                         \
    ".dc.a " #from ", " #to "\n"                                            \
    ".popsection\n"
#define __stringify_1(x) #x
#define __stringify(x) __stringify_1(x)

bool extable_fixup(struct trap_frame *f)
{
    for (const struct extable_entry *e = __start_extable; e < __stop_extable; e++) {
        if (e->insn == f->ip) {
            f->ip = e->resume;
            return true;
        }
    }
    return false;
}

/*
 * `faulted` starts at 1; the instruction after the MSR access clears it.
 * A fault skips that instruction (the table resumes at 2:), so 1 remains.
 */
bool rdmsr_checked(uint32_t msr, uint64_t *val)
{
    uint32_t lo, hi;
    unsigned long faulted;
    __asm__ volatile("1: rdmsr\n"
                     "   xor %2, %2\n"
                     "2:\n" EXTABLE(1b, 2b)
                     : "=a"(lo), "=d"(hi), "=r"(faulted)
                     : "c"(msr), "2"(1UL));
    *val = faulted ? 0 : ((uint64_t)hi << 32) | lo;
    return !faulted;
}

bool wrmsr_checked(uint32_t msr, uint64_t val)
{
    unsigned long faulted;
    __asm__ volatile("1: wrmsr\n"
                     "   xor %0, %0\n"
                     "2:\n" EXTABLE(1b, 2b)
                     : "=r"(faulted)
                     : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)), "0"(1UL)
                     : "memory");
    return !faulted;
}

bool probe_read(const volatile void *p)
{
    unsigned long faulted;
    __asm__ volatile("1: movb (%1), %%al\n"
                     "   xor %0, %0\n"
                     "2:\n" EXTABLE(1b, 2b)
                     : "=r"(faulted)
                     : "r"(p), "0"(1UL)
                     : "eax", "memory");
    return !faulted;
}

int run_expecting_fault(void (*fn)(void *), void *arg, struct fault_info *fi)
{
    struct percpu *pc = this_cpu();
    unsigned long *volatile outer = pc->recover;
    rt_jmp_buf jb;
    int vector = NO_FAULT;

    int ret = rt_setjmp(jb);
    if (ret == 0) {
        pc->recover = jb;
        fn(arg);
    } else {
        vector = ret - 1;
    }
    pc->recover = outer;
    if (fi) {
        if (vector == NO_FAULT)
            *fi = (struct fault_info){ .vector = NO_FAULT };
        else
            *fi = pc->last_fault;
    }
    return vector;
}
