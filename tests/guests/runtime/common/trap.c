/*
 * Exceptions and interrupts.  An exception is, in order: resumed through
 * the exception table (rdmsr_checked and friends), handed back to
 * run_expecting_fault(), or fatal: registers on the console and "Test
 * result: ERROR".  Vectors 32-255 go to the handler registered with
 * irq_set_handler(); one without a handler is fatal too.
 */
#include "rt.h"

static irq_handler_t irq_handlers[256];

static const char *const exception_names[X86_NR_EXCEPTIONS] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#MF(old)", "#TS",
    "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
    "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
};

const char *exception_name(unsigned vector)
{
    return vector < X86_NR_EXCEPTIONS ? exception_names[vector] : "IRQ";
}

void irq_set_handler(unsigned vector, irq_handler_t fn)
{
    if (vector < X86_NR_EXCEPTIONS || vector > 255)
        test_error("irq_set_handler: vector %u is not an interrupt vector", vector);
    __atomic_store_n(&irq_handlers[vector], fn, __ATOMIC_RELEASE);
}

static __attribute__((noreturn)) void fatal_trap(const struct trap_frame *f, unsigned vector)
{
    struct percpu *pc = this_cpu();

    if (pc->in_fatal) {
        /* Faulted while reporting a fault: say the least, the safest way. */
        static const char msg[] = "\nNested exception while reporting one\n";
        console_write_unlocked(msg, sizeof(msg) - 1);
        test_end(TEST_ERROR);
    }
    pc->in_fatal = true;
    if (vector < X86_NR_EXCEPTIONS)
        printf("Unexpected exception %u (%s) on vCPU %u: error code %#lx, ip %#lx, cr2 %#lx\n", vector,
               exception_name(vector), pc->id, f->error_code, f->ip, read_cr2());
    else
        printf("Unexpected interrupt vector %u on vCPU %u at ip %#lx\n", vector, pc->id, f->ip);
    arch_dump_frame(f);
    test_end(TEST_ERROR);
}

void trap_dispatch(struct trap_frame *f)
{
    unsigned vector = f->vector & 0xFF; /* the stubs push a sign-extended byte */
    f->vector = vector;

    if (vector == RT_USER_EXIT_VECTOR && (f->cs & 3) == 3) {
        /* A ring-3 function of run_in_user_mode() has returned. */
        struct percpu *pc = this_cpu();
        if (pc->recover)
            rt_longjmp(pc->recover, RT_USER_EXIT_CODE);
        fatal_trap(f, vector);
    }
    if (vector >= X86_NR_EXCEPTIONS) {
        irq_handler_t h = __atomic_load_n(&irq_handlers[vector], __ATOMIC_ACQUIRE);
        if (!h)
            fatal_trap(f, vector);
        h(vector);
        return;
    }

    struct percpu *pc = this_cpu();
    pc->last_fault = (struct fault_info){
        .vector = (int)vector,
        .error_code = f->error_code,
        .ip = f->ip,
        .cr2 = vector == X86_EXC_PF ? read_cr2() : 0,
    };
    /* NMI and #MC are asynchronous to the code that runs: never "expected". */
    bool recoverable = vector != X86_EXC_NMI && vector != X86_EXC_MC;
    if (recoverable && extable_fixup(f))
        return;
    if (recoverable && pc->recover && !pc->in_fatal)
        rt_longjmp(pc->recover, (int)vector + 1);
    fatal_trap(f, vector);
}
