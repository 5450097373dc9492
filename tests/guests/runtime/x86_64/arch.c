/* What differs in C between the flavours: 64-bit version. */
#include "rt.h"

const char arch_flavour[] = "64-bit";

/* Long-mode interrupt gate (SDM Vol. 3A 6.14.1): 16 bytes. */
struct idt_gate {
    uint16_t offset_lo, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi, reserved;
};

static struct idt_gate idt[256];

static const struct {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed)) idt_desc = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };

void arch_idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = (uintptr_t)trap_stubs + 16 * v;
        idt[v] = (struct idt_gate){
            .offset_lo = (uint16_t)a,
            .selector = SEL_CODE,
            .type_attr = 0x8E, /* present, DPL 0, interrupt gate: IF cleared */
            .offset_mid = (uint16_t)(a >> 16),
            .offset_hi = (uint32_t)(a >> 32),
        };
        if (v == RT_USER_EXIT_VECTOR)
            idt[v].type_attr = 0xEE; /* DPL 3: ring 3 may raise it (user.c) */
    }
    arch_idt_load();
}

void arch_idt_load(void)
{
    __asm__ volatile("lidt %0" : : "m"(idt_desc));
}

void arch_dump_frame(const struct trap_frame *f)
{
    printf("  rip=%016lx rsp=%016lx rflags=%08lx cs=%04lx ss=%04lx\n", f->ip, f->sp, f->flags, f->cs, f->ss);
    printf("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->ax, f->bx, f->cx, f->dx);
    printf("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", f->si, f->di, f->bp, f->r8);
    printf("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", f->r9, f->r10, f->r11, f->r12);
    printf("  r13=%016lx r14=%016lx r15=%016lx\n", f->r13, f->r14, f->r15);
    printf("  cr0=%08lx cr2=%016lx cr3=%08lx cr4=%08lx\n", read_cr0(), read_cr2(), read_cr3(), read_cr4());
}

/* A secondary vCPU starts in long mode on our page tables; segments are
 * flat (Xen fills them for VCPU_HVM_MODE_64B) until ap_entry loads ours. */
void arch_vcpu_context(struct vcpu_hvm_context *ctx, unsigned long ip, unsigned long sp)
{
    struct vcpu_hvm_x86_64 *r = &ctx->cpu_regs.x86_64;

    ctx->mode = VCPU_HVM_MODE_64B;
    r->rip = ip;
    r->rsp = sp;
    r->rflags = 0x2;
    r->cr0 = read_cr0();
    r->cr3 = read_cr3();
    r->cr4 = read_cr4();
    r->efer = rdmsr(MSR_EFER);
}
