/* Per-CPU GDT, TSS (with IST stacks for NMI, #DF and #MC) and GS. */
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/panic.h>
#include <asm/cpu.h>
#include <asm/desc.h>
#include <asm/page.h>
#include <asm/paging.h>
#include <asm/percpu.h>
#include <asm/traps.h>

struct percpu *percpu_of[NR_CPUS];
unsigned nr_cpus_online;
unsigned nr_cpus_possible;

/* The boot CPU's area and stacks are static: they must work before the
 * frame allocator exists.  Their guard pages are left unmapped by
 * paging_init() (see entry.S and the .bss.stacks layout below). */
static struct percpu bsp_percpu;
extern char boot_stack_bottom[], boot_stack_top[];
extern char bsp_ist_stacks[]; /* entry.S: [guard][NMI][guard][DF][guard][MC] */

static void make_tss_desc(uint64_t *gdt, const struct tss64 *tss)
{
    uint64_t base = (uint64_t)tss;
    uint64_t limit = sizeof(*tss) - 1;
    gdt[GDT_TSS] = (limit & 0xFFFF) | ((base & 0xFFFFFF) << 16) | (0x89ULL << 40) | (((limit >> 16) & 0xF) << 48) |
                   (((base >> 24) & 0xFF) << 56);
    gdt[GDT_TSS + 1] = base >> 32;
}

static void percpu_setup(struct percpu *p, unsigned cpu, uint32_t apic_id)
{
    p->self = p;
    p->cpu = cpu;
    p->apic_id = apic_id;
    p->gdt[GDT_NULL] = 0;
    p->gdt[GDT_CODE64] = 0x00AF9B000000FFFFULL;
    p->gdt[GDT_DATA] = 0x00CF93000000FFFFULL;
    p->gdt[GDT_CODE32] = 0x00CF9B000000FFFFULL;
    memset(&p->tss, 0, sizeof(p->tss));
    p->tss.rsp[0] = p->stack_top;
    for (unsigned i = 0; i < IST_COUNT; i++)
        p->tss.ist[i] = p->ist_top[i];
    p->tss.iomap_base = sizeof(p->tss); /* no I/O bitmap: ring 0 only */
    make_tss_desc(p->gdt, &p->tss);
    percpu_of[cpu] = p;
}

void cpu_load_tables(struct percpu *p)
{
    struct desc_ptr gp = { sizeof(p->gdt) - 1, (uint64_t)p->gdt };
    lgdt(&gp);
    /* Reload CS through a far return, then the data segments. */
    __asm__ __volatile__("pushq %0\n"
                         "leaq 1f(%%rip), %%rax\n"
                         "pushq %%rax\n"
                         "lretq\n"
                         "1:\n"
                         "mov %1, %%ds\n"
                         "mov %1, %%es\n"
                         "mov %1, %%ss\n"
                         :
                         : "i"(SEL_CODE64), "r"((uint64_t)SEL_DATA)
                         : "rax", "memory");
    __asm__ __volatile__("mov %0, %%fs\n"
                         "mov %0, %%gs\n" ::"r"(0)
                         : "memory");
    wrmsr(MSR_GS_BASE, (uint64_t)p);
    wrmsr(MSR_FS_BASE, 0);
    ltr(SEL_TSS);
    idt_load();
}

void arch_early_cpu_init(void)
{
    struct percpu *p = &bsp_percpu;
    p->stack_top = (uint64_t)boot_stack_top;
    for (unsigned i = 0; i < IST_COUNT; i++)
        p->ist_top[i] = (uint64_t)bsp_ist_stacks + (2 * i + 2) * PAGE_SIZE;
    percpu_setup(p, 0, 0);
    idt_init();
    cpu_load_tables(p);
}

struct percpu *percpu_alloc(unsigned cpu, uint32_t apic_id)
{
    if (cpu == 0) {
        bsp_percpu.apic_id = apic_id;
        return &bsp_percpu;
    }
    paddr_t pa = frame_alloc(0, FRAME_ZERO);
    if (!pa)
        return NULL;
    struct percpu *p = phys_to_virt(pa);
    memset(p, 0, sizeof(*p));
    void *stack = vmap_stack(CPU_STACK_SIZE);
    if (!stack)
        return NULL;
    p->stack_top = (uint64_t)stack + CPU_STACK_SIZE;
    for (unsigned i = 0; i < IST_COUNT; i++) {
        void *ist = vmap_stack(IST_STACK_SIZE);
        if (!ist)
            return NULL;
        p->ist_top[i] = (uint64_t)ist + IST_STACK_SIZE;
    }
    percpu_setup(p, cpu, apic_id);
    return p;
}

unsigned arch_cpu_id(void)
{
    /* Usable from the very first instruction: before GS is set up it reads
     * the boot CPU's zeroed area through a null GS base guard. */
    if (!rdmsr(MSR_GS_BASE))
        return 0;
    return this_cpu()->cpu;
}
