/* Internal interfaces of the runtime (not for tests). */
#ifndef RT_INTERNAL_H
#define RT_INTERNAL_H

#include "arch/frame.h"
#include "keel_test.h"

/* Per-vCPU state at the bottom of the vCPU's stack (see STACK_SIZE). */
struct percpu {
    unsigned id;
    void (*entry)(unsigned id);     /* secondary vCPUs: what to run */
    unsigned long *recover;         /* run_expecting_fault()'s jump buffer */
    struct fault_info last_fault;   /* the latest exception on this vCPU */
    bool in_fatal;                  /* reporting an unexpected exception */
    bool tss_loaded;                /* user.c: this vCPU's TSS is in TR */
    unsigned user_gen;              /* user.c: the U-bit generation its TLB has seen */
    void *user_stack;               /* user.c: its ring-3 stack */
};

/* rt_longjmp value of the user-exit gate (exceptions use vector + 1). */
#define RT_USER_EXIT_CODE 0x1000

static inline struct percpu *this_cpu(void)
{
    unsigned long sp;
    /* Stacks live below 4 GiB: ESP is the whole pointer in both modes. */
    __asm__("mov %%esp, %k0" : "=r"(sp));
    return (struct percpu *)(sp & ~(unsigned long)(STACK_SIZE - 1));
}

/* Entry points called from assembly. */
void rt_start(uint32_t start_info_paddr);
void ap_start(void);
void trap_dispatch(struct trap_frame *f);

/* rt_setjmp returns 0, then val when rt_longjmp(buf, val) comes back. */
typedef unsigned long rt_jmp_buf[10];
int rt_setjmp(rt_jmp_buf buf) __attribute__((returns_twice));
__attribute__((noreturn)) void rt_longjmp(rt_jmp_buf buf, int val);

/* Assembly symbols. */
extern char trap_stubs[]; /* 16 bytes per vector */
extern char ap_entry[];
extern char boot_stack[];

/* The per-flavour C (x86_64/arch.c, i386/arch.c). */
void arch_idt_init(void);   /* fill the IDT and load it */
void arch_idt_load(void);   /* load it on another vCPU */
void arch_dump_frame(const struct trap_frame *f);
void arch_vcpu_context(struct vcpu_hvm_context *ctx, unsigned long ip, unsigned long sp);
extern const char arch_flavour[]; /* "64-bit" or "32-bit PAE" */

/* Start-up steps, in the order rt_start() runs them. */
void startinfo_init(uint32_t paddr);
void hypervisor_init(void);

/* Exception-table fixups: resume after a faulting instruction (fault.c). */
bool extable_fixup(struct trap_frame *f);

/* End the test with result r: the result line, then shutdown or exit. */
__attribute__((noreturn)) void test_end(enum test_result r);

/* Console output that ignores the console lock (fatal paths only). */
void console_write_unlocked(const char *s, size_t n);

/* The stream formatter behind printf and vsnprintf. */
typedef void (*format_sink_t)(void *ctx, const char *s, size_t n);
void vformat(format_sink_t sink, void *ctx, const char *fmt, va_list ap);

extern int hypercall_mode_cur; /* enum hypercall_mode; read by hypercall.S */

#endif
