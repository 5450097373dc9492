/* What differs in C between the flavours: 32-bit PAE version. */
#include "rt.h"

const char arch_flavour[] = "32-bit PAE";

/* 32-bit interrupt gate (SDM Vol. 3A 6.11): 8 bytes. */
struct idt_gate {
    uint16_t offset_lo, selector;
    uint8_t zero, type_attr;
    uint16_t offset_hi;
};

static struct idt_gate idt[256];

static const struct {
    uint16_t limit;
    uint32_t base;
} __attribute__((packed)) idt_desc = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };

void arch_idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint32_t a = (uintptr_t)trap_stubs + 16 * v;
        idt[v] = (struct idt_gate){
            .offset_lo = (uint16_t)a,
            .selector = SEL_CODE,
            .type_attr = 0x8E, /* present, DPL 0, 32-bit interrupt gate: IF cleared */
            .offset_hi = (uint16_t)(a >> 16),
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
    /* Same-privilege exceptions push no SS:ESP: the old stack pointer is
     * just above the frame. */
    unsigned long sp = (unsigned long)(&f->flags + 1);

    printf("  eip=%08lx esp=%08lx eflags=%08lx cs=%04lx\n", f->ip, sp, f->flags, f->cs);
    printf("  eax=%08lx ebx=%08lx ecx=%08lx edx=%08lx\n", f->ax, f->bx, f->cx, f->dx);
    printf("  esi=%08lx edi=%08lx ebp=%08lx\n", f->si, f->di, f->bp);
    printf("  cr0=%08lx cr2=%08lx cr3=%08lx cr4=%08lx\n", read_cr0(), read_cr2(), read_cr3(), read_cr4());
}

/* A secondary vCPU starts in 32-bit protected mode with PAE paging on our
 * page tables, flat segments given by base/limit/attributes in Xen's
 * packing (public/hvm/hvm_vcpu.h): the descriptor's access byte in bits 0-7,
 * then AVL, L, D/B, G in bits 8-11. */
void arch_vcpu_context(struct vcpu_hvm_context *ctx, unsigned long ip, unsigned long sp)
{
    struct vcpu_hvm_x86_32 *r = &ctx->cpu_regs.x86_32;
    uint64_t efer = 0;

    ctx->mode = VCPU_HVM_MODE_32B;
    r->eip = ip;
    r->esp = sp;
    r->eflags = 0x2;
    r->cr0 = read_cr0();
    r->cr3 = read_cr3();
    r->cr4 = read_cr4();
    (void)rdmsr_checked(MSR_EFER, &efer); /* absent on 32-bit-only CPUs */
    r->efer = efer;
    r->cs_limit = r->ds_limit = r->ss_limit = r->es_limit = 0xFFFFFFFF;
    r->cs_ar = 0xC9B; /* 32-bit code, 4 KiB granular, present, accessed */
    r->ds_ar = r->ss_ar = r->es_ar = 0xC93;
    r->tr_limit = 0x67;
    r->tr_ar = 0x8B; /* busy 32-bit TSS */
}
