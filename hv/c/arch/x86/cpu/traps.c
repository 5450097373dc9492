/* IDT, exception reporting and interrupt dispatch. */
#include <keel/lib.h>
#include <keel/panic.h>
#include <keel/printk.h>
#include <asm/cpu.h>
#include <asm/desc.h>
#include <asm/percpu.h>
#include <asm/traps.h>

extern const char isr_stubs[];
extern const struct extable_entry __extable_start[], __extable_end[];
extern const char __text_start[], __text_end[];

static struct idt_gate idt[256] __aligned(16);
static irq_handler_t irq_handlers[256];

void trap_dispatch(struct cpu_regs *r);

static const char *const exc_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound range",
    "#UD invalid opcode", "#NM device not available", "#DF double fault", "coprocessor overrun",
    "#TS invalid TSS", "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check", "#MC machine check",
    "#XM SIMD error", "#VE virtualization exception", "#CP control protection",
};

static void set_gate(unsigned vec, uint64_t addr, unsigned ist)
{
    idt[vec] = (struct idt_gate){
        .offset_lo = (uint16_t)addr,
        .selector = SEL_CODE64,
        .ist = (uint8_t)ist,
        .type_attr = 0x8E, /* present, DPL 0, 64-bit interrupt gate */
        .offset_mid = (uint16_t)(addr >> 16),
        .offset_hi = (uint32_t)(addr >> 32),
    };
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        unsigned ist = v == X86_EXC_NMI ? IST_NMI : v == X86_EXC_DF ? IST_DF : v == X86_EXC_MC ? IST_MC : 0;
        set_gate(v, (uint64_t)(isr_stubs + 16 * v), ist);
    }
}

void idt_load(void)
{
    struct desc_ptr p = { sizeof(idt) - 1, (uint64_t)idt };
    lidt(&p);
}

void irq_register(uint8_t vector, irq_handler_t handler)
{
    irq_handlers[vector] = handler;
}

static bool text_address(uint64_t a)
{
    return a >= (uint64_t)__text_start && a < (uint64_t)__text_end;
}

void dump_stack(uint64_t rbp)
{
    printk(LOG_EMERG, "Stack trace (addr2line -e build/hv.elf ADDR):\n");
    for (int depth = 0; depth < 24; depth++) {
        /* Follow the frame-pointer chain while it stays on an aligned,
         * mapped hypervisor address. */
        if (!rbp || (rbp & 7) || rbp < 0xFFFF800000000000ULL)
            break;
        const uint64_t *frame = (const uint64_t *)rbp;
        uint64_t ret = frame[1];
        if (!text_address(ret))
            break;
        printk(LOG_EMERG, "  [<%016lx>]\n", (unsigned long)ret);
        if (frame[0] <= rbp)
            break;
        rbp = frame[0];
    }
}

void dump_regs(const struct cpu_regs *r)
{
    printk(LOG_EMERG, "RIP: %04lx:%016lx RFLAGS: %016lx\n", (unsigned long)r->cs, (unsigned long)r->rip,
           (unsigned long)r->rflags);
    printk(LOG_EMERG, "RAX: %016lx RBX: %016lx RCX: %016lx\n", (unsigned long)r->rax, (unsigned long)r->rbx,
           (unsigned long)r->rcx);
    printk(LOG_EMERG, "RDX: %016lx RSI: %016lx RDI: %016lx\n", (unsigned long)r->rdx, (unsigned long)r->rsi,
           (unsigned long)r->rdi);
    printk(LOG_EMERG, "RBP: %016lx RSP: %016lx R8:  %016lx\n", (unsigned long)r->rbp, (unsigned long)r->rsp,
           (unsigned long)r->r8);
    printk(LOG_EMERG, "R9:  %016lx R10: %016lx R11: %016lx\n", (unsigned long)r->r9, (unsigned long)r->r10,
           (unsigned long)r->r11);
    printk(LOG_EMERG, "R12: %016lx R13: %016lx R14: %016lx\n", (unsigned long)r->r12, (unsigned long)r->r13,
           (unsigned long)r->r14);
    printk(LOG_EMERG, "R15: %016lx CR0: %016lx CR3: %016lx\n", (unsigned long)r->r15, (unsigned long)read_cr0(),
           (unsigned long)read_cr3());
    printk(LOG_EMERG, "CR2: %016lx CR4: %016lx SS: %04lx\n", (unsigned long)read_cr2(), (unsigned long)read_cr4(),
           (unsigned long)r->ss);
}

static bool fixup(struct cpu_regs *r)
{
    for (const struct extable_entry *e = __extable_start; e < __extable_end; e++) {
        if (e->from == r->rip) {
            r->rip = e->to;
            return true;
        }
    }
    return false;
}

static __noreturn void fatal_exception(struct cpu_regs *r)
{
    unsigned v = (unsigned)r->vector;
    console_emergency_mode();
    printk(LOG_EMERG, "\n*** Fatal exception %lu (%s) on CPU %u, error code %#lx ***\n", (unsigned long)v,
           v < 32 && exc_names[v] ? exc_names[v] : "unknown", arch_cpu_id(), (unsigned long)r->error_code);
    if (v == X86_EXC_PF)
        printk(LOG_EMERG, "Faulting address: %#lx (%s, %s)\n", (unsigned long)read_cr2(),
               r->error_code & 1 ? "protection violation" : "not present",
               r->error_code & 16 ? "instruction fetch" : r->error_code & 2 ? "write" : "read");
    dump_regs(r);
    dump_stack(r->rbp);
    panic("fatal exception %lu (%s) at %#lx", (unsigned long)v, v < 32 && exc_names[v] ? exc_names[v] : "unknown",
          (unsigned long)r->rip);
}

void trap_dispatch(struct cpu_regs *r)
{
    unsigned v = (unsigned)r->vector;

    if (v == X86_EXC_NMI) {
        nmi_handler(r);
        return;
    }
    if (v < VECTOR_FIRST_IRQ) {
        if ((v == X86_EXC_GP || v == X86_EXC_PF) && fixup(r))
            return;
        fatal_exception(r);
    }
    this_cpu()->irq_count++;
    if (irq_handlers[v])
        irq_handlers[v](r);
    else if (v != VECTOR_SPURIOUS)
        printk(LOG_WARNING, "CPU %u: unexpected interrupt vector %#x\n", arch_cpu_id(), v);
}
