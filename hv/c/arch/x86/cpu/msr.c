/* MSR accesses that survive a #GP, for probing. */
#include <asm/cpu.h>

bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    int fault = 0;
    __asm__ __volatile__("1: rdmsr\n"
                         "2:\n"
                         ".pushsection __ex_table, \"a\"\n"
                         ".quad 1b, 3f\n"
                         ".popsection\n"
                         ".pushsection .text.fixup, \"ax\"\n"
                         "3: movl $1, %2\n"
                         "jmp 2b\n"
                         ".popsection\n"
                         : "=a"(lo), "=d"(hi), "+r"(fault)
                         : "c"(msr));
    *val = ((uint64_t)hi << 32) | lo;
    return !fault;
}

bool wrmsr_safe(uint32_t msr, uint64_t val)
{
    int fault = 0;
    __asm__ __volatile__("1: wrmsr\n"
                         "2:\n"
                         ".pushsection __ex_table, \"a\"\n"
                         ".quad 1b, 3f\n"
                         ".popsection\n"
                         ".pushsection .text.fixup, \"ax\"\n"
                         "3: movl $1, %0\n"
                         "jmp 2b\n"
                         ".popsection\n"
                         : "+r"(fault)
                         : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32))
                         : "memory");
    return !fault;
}
