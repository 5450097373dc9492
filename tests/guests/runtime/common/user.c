/*
 * Ring 3 for tests (rt/user.h): a TSS per vCPU (its descriptor in the GDT
 * of entry.S), the U bit on the page-table entries of the image and the user
 * stacks, and run_in_user_mode() built like run_expecting_fault(): a jump
 * buffer that the user-exit gate (trap.c) or any exception from ring 3
 * longjmps to.
 */
#include "rt.h"

#define USER_STACK_SIZE 0x2000
#define PTE_P 0x001ULL
#define PTE_U 0x004ULL
#define PTE_PS 0x080ULL
#define PTE_ADDR 0x000FFFFFFFFFF000ULL

/* The hardware TSS (SDM Vol. 3A 8.2.1 and 8.7): 104 bytes; only the ring-0
 * stack and the I/O map base (past the limit: no I/O bitmap) are used. */
struct tss {
#if defined(__x86_64__)
    uint32_t reserved0;
    uint64_t sp0, sp1, sp2, reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
#else
    uint16_t link, reserved0;
    uint32_t sp0;
    uint16_t ss0, reserved1;
    uint32_t other[22];
    uint16_t trap;
#endif
    uint16_t iomap_base;
} __attribute__((packed));
_Static_assert(sizeof(struct tss) == 104, "a TSS is 104 bytes");

extern uint64_t gdt[];
void arch_enter_user(void (*fn)(void *), void *arg, unsigned long user_sp, void *sp0);
void arch_user_return(void);

static struct tss tss[RT_MAX_VCPUS] __attribute__((aligned(16)));
static struct spinlock user_lock;
static unsigned user_gen; /* bumped whenever U bits are added */
static bool image_mapped;

static uint64_t *table(uint64_t entry)
{
    return (uint64_t *)(uintptr_t)(entry & PTE_ADDR);
}

/* Set U at every level for [start, end) (identity-mapped, below 4 GiB).  A
 * 2 MiB page becomes user-accessible as a whole.  PAE PDPTEs have no U bit. */
static void user_map(uintptr_t start, uintptr_t end)
{
    uint64_t va = start & ~(uint64_t)(PAGE_SIZE - 1);
    while (va < end) {
        uint64_t *e;
#if defined(__x86_64__)
        e = &table(read_cr3())[(va >> 39) & 511];
        if (!(*e & PTE_P))
            return;
        *e |= PTE_U;
        e = &table(*e)[(va >> 30) & 511];
        if (!(*e & PTE_P))
            return;
        *e |= PTE_U;
#else
        e = &((uint64_t *)(uintptr_t)(read_cr3() & ~0x1FUL))[(va >> 30) & 3];
        if (!(*e & PTE_P))
            return;
#endif
        e = &table(*e)[(va >> 21) & 511];
        if (!(*e & PTE_P))
            return;
        *e |= PTE_U;
        if (*e & PTE_PS) {
            va = (va | 0x1FFFFF) + 1;
            continue;
        }
        e = &table(*e)[(va >> 12) & 511];
        if (*e & PTE_P) /* unmapped_page stays absent */
            *e |= PTE_U;
        va += PAGE_SIZE;
    }
}

/* The 4 KiB entry for va, or NULL. */
static uint64_t *pte_of(uint64_t va)
{
    uint64_t *e;
#if defined(__x86_64__)
    e = &table(read_cr3())[(va >> 39) & 511];
    if (!(*e & PTE_P))
        return NULL;
    e = &table(*e)[(va >> 30) & 511];
#else
    e = &((uint64_t *)(uintptr_t)(read_cr3() & ~0x1FUL))[(va >> 30) & 3];
#endif
    if (!(*e & PTE_P))
        return NULL;
    e = &table(*e)[(va >> 21) & 511];
    if (!(*e & PTE_P) || (*e & PTE_PS))
        return NULL;
    return &table(*e)[(va >> 12) & 511];
}

bool pte_modify(const void *va, uint64_t set, uint64_t clear)
{
    uint64_t *e = pte_of((uintptr_t)va);
    if (!e)
        return false;
    __atomic_store_n(e, (*e | set) & ~clear, __ATOMIC_SEQ_CST);
    __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
    return true;
}

static void load_tss(unsigned id)
{
    struct tss *t = &tss[id];
    uintptr_t base = (uintptr_t)t;
    uint64_t limit = sizeof(*t) - 1;

    memset(t, 0, sizeof(*t));
#if !defined(__x86_64__)
    t->ss0 = SEL_DATA;
#endif
    t->iomap_base = sizeof(*t);
    /* Available 32/64-bit TSS (type 9), present, DPL 0. */
    uint64_t d = (limit & 0xFFFF) | ((uint64_t)(base & 0xFFFFFF) << 16) | (0x89ULL << 40) |
                 (((limit >> 16) & 0xF) << 48) | ((uint64_t)((base >> 24) & 0xFF) << 56);
#if defined(__x86_64__)
    unsigned slot = GDT_TSS_FIRST + 2 * id;
    gdt[slot + 1] = (uint64_t)base >> 32;
#else
    unsigned slot = GDT_TSS_FIRST + id;
#endif
    gdt[slot] = d;
    uint16_t sel = (uint16_t)(slot * 8);
    __asm__ volatile("ltr %0" : : "r"(sel) : "memory");
}

static void user_setup(struct percpu *pc)
{
    spin_lock(&user_lock);
    if (!image_mapped) {
        user_map((uintptr_t)__image_start, (uintptr_t)__image_end);
        image_mapped = true;
        user_gen++;
    }
    if (!pc->user_stack) {
        pc->user_stack = alloc_pages(USER_STACK_SIZE, PAGE_SIZE);
        if (!pc->user_stack) {
            spin_unlock(&user_lock);
            test_error("run_in_user_mode: no memory for a user stack");
        }
        user_map((uintptr_t)pc->user_stack, (uintptr_t)pc->user_stack + USER_STACK_SIZE);
        user_gen++;
    }
    unsigned gen = user_gen;
    spin_unlock(&user_lock);
    if (pc->user_gen != gen) {
        write_cr3(read_cr3()); /* drop translations cached without U */
        pc->user_gen = gen;
    }
    if (!pc->tss_loaded) {
        load_tss(pc->id);
        pc->tss_loaded = true;
    }
}

int run_in_user_mode(void (*fn)(void *), void *arg, struct fault_info *fi)
{
    struct percpu *pc = this_cpu();
    user_setup(pc);

    unsigned long *volatile outer = pc->recover;
    rt_jmp_buf jb;
    int ret = rt_setjmp(jb);
    if (ret == 0) {
        pc->recover = jb;
        arch_enter_user(fn, arg, (uintptr_t)pc->user_stack + USER_STACK_SIZE, &tss[pc->id].sp0);
    }
    arch_user_return();
    pc->recover = outer;
    int vector = ret == RT_USER_EXIT_CODE ? NO_FAULT : ret - 1;
    if (fi) {
        if (vector == NO_FAULT)
            *fi = (struct fault_info){ .vector = NO_FAULT };
        else
            *fi = pc->last_fault;
    }
    return vector;
}
