/* CPU intrinsics and architectural constants, identical in both flavours. */
#ifndef RT_X86_H
#define RT_X86_H

#include <stdbool.h>
#include <stdint.h>

/* Exception vectors (Intel SDM Vol. 3A 6.3.1). */
enum {
    X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3,
    X86_EXC_OF = 4, X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7,
    X86_EXC_DF = 8, X86_EXC_TS = 10, X86_EXC_NP = 11, X86_EXC_SS = 12,
    X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16, X86_EXC_AC = 17,
    X86_EXC_MC = 18, X86_EXC_XM = 19, X86_EXC_VE = 20, X86_EXC_CP = 21,
    X86_NR_EXCEPTIONS = 32,
};

#define X86_EFLAGS_IF 0x200UL

#define MSR_IA32_APIC_BASE 0x1BU
#define MSR_EFER           0xC0000080U
#define MSR_FS_BASE        0xC0000100U

#define CPUID_VENDOR_INTEL_EBX 0x756E6547U /* "Genu" */

struct cpuid_regs {
    uint32_t eax, ebx, ecx, edx;
};

static inline struct cpuid_regs cpuid_count(uint32_t leaf, uint32_t subleaf)
{
    struct cpuid_regs r;
    __asm__ volatile("cpuid" : "=a"(r.eax), "=b"(r.ebx), "=c"(r.ecx), "=d"(r.edx) : "a"(leaf), "c"(subleaf));
    return r;
}

static inline struct cpuid_regs cpuid(uint32_t leaf)
{
    return cpuid_count(leaf, 0);
}

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return ((uint64_t)hi << 32) | lo;
}

/* Unchecked MSR access: a #GP here is an unexpected exception.  Use
 * rdmsr_checked()/wrmsr_checked() (rt/test.h) when a fault is possible. */
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t val)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)val), "d"((uint32_t)(val >> 32)) : "memory");
}

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outw(uint16_t port, uint16_t v) { __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;
    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t inl(uint16_t port)
{
    uint32_t v;
    __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void barrier(void) { __asm__ volatile("" ::: "memory"); }

/* sti;hlt: the one-instruction interrupt shadow of STI guarantees that an
 * interrupt arriving in between wakes the HLT instead of being missed. */
static inline void safe_halt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }
static inline void hlt(void) { __asm__ volatile("hlt" ::: "memory"); }

static inline unsigned long read_flags(void)
{
    unsigned long f;
    __asm__ volatile("pushf; pop %0" : "=r"(f) : : "memory");
    return f;
}

static inline bool irqs_enabled(void) { return read_flags() & X86_EFLAGS_IF; }

#define DEFINE_CR_ACCESS(n)                                                                \
    static inline unsigned long read_cr##n(void)                                           \
    {                                                                                      \
        unsigned long v;                                                                   \
        __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                                  \
        return v;                                                                          \
    }                                                                                      \
    static inline void write_cr##n(unsigned long v) { __asm__ volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEFINE_CR_ACCESS(0)
DEFINE_CR_ACCESS(2)
DEFINE_CR_ACCESS(3)
DEFINE_CR_ACCESS(4)
#undef DEFINE_CR_ACCESS

/* Stop this vCPU for good: interrupts off, HLT forever. */
static inline __attribute__((noreturn)) void halt(void)
{
    for (;;)
        __asm__ volatile("cli; hlt" ::: "memory");
}

/* Busy-wait until the TSC has advanced by cycles (no calibration needed). */
static inline void tsc_spin(uint64_t cycles)
{
    uint64_t start = rdtsc();
    while (rdtsc() - start < cycles)
        cpu_relax();
}

/* A minimal spinlock for state shared between vCPUs. */
struct spinlock {
    volatile int locked;
};

static inline bool spin_trylock(struct spinlock *l)
{
    return !__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE);
}

static inline void spin_lock(struct spinlock *l)
{
    while (!spin_trylock(l))
        while (l->locked)
            cpu_relax();
}

static inline void spin_unlock(struct spinlock *l)
{
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

#endif
