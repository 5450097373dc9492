/* Final hypervisor page tables. */
#include <keel/boot.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/panic.h>
#include <keel/printk.h>
#include <keel/spinlock.h>
#include <asm/cpu.h>
#include <asm/page.h>
#include <asm/paging.h>

extern char __text_start[], __text_end[], __rodata_start[], __rodata_end[];
extern char __data_start[], __image_end[];
extern char bsp_ist_stacks[], boot_stack_guard[];

bool cpu_has_smep, cpu_has_smap, cpu_has_nx, cpu_has_pdpe1gb;

static uint64_t *pml4;
static spinlock_t pt_lock = SPINLOCK_INIT;
static uint64_t stack_area_next = STACK_AREA_BASE;

static uint64_t *table_alloc(void)
{
    /* Page tables below 4 GiB: the AP trampoline loads CR3 in 32-bit mode. */
    paddr_t p = frame_alloc(0, FRAME_ZERO | FRAME_DMA32);
    if (!p)
        panic("out of memory for hypervisor page tables");
    return phys_to_virt(p);
}

static uint64_t *next_level(uint64_t *table, unsigned idx)
{
    if (!(table[idx] & PTE_P)) {
        uint64_t *t = table_alloc();
        table[idx] = virt_to_phys(t) | PTE_P | PTE_W;
    }
    BUG_ON(table[idx] & PTE_PS);
    return phys_to_virt(table[idx] & PTE_ADDR);
}

static unsigned idx(uint64_t va, unsigned level)
{
    return (unsigned)((va >> (12 + 9 * level)) & 511);
}

/* Map one page of size 4 KiB (level 0), 2 MiB (1) or 1 GiB (2). */
static void map_one(uint64_t va, paddr_t pa, uint64_t flags, unsigned level)
{
    uint64_t *t = pml4;
    for (unsigned l = 3; l > level; l--)
        t = next_level(t, idx(va, l));
    t[idx(va, level)] = pa | flags | PTE_P | (level ? PTE_PS : 0);
}

static void unmap_one(uint64_t va)
{
    uint64_t *t = pml4;
    for (unsigned l = 3; l > 0; l--) {
        uint64_t e = t[idx(va, l)];
        if (!(e & PTE_P) || (e & PTE_PS))
            return;
        t = phys_to_virt(e & PTE_ADDR);
    }
    t[idx(va, 0)] = 0;
    invlpg(va);
}

paddr_t paging_lookup(uint64_t va, uint64_t *flags)
{
    uint64_t *t = pml4;
    for (int l = 3; l >= 0; l--) {
        uint64_t e = t[idx(va, (unsigned)l)];
        if (!(e & PTE_P))
            return 0;
        if (l == 0 || (e & PTE_PS)) {
            uint64_t mask = (1ULL << (12 + 9 * l)) - 1;
            if (flags)
                *flags = e & ~PTE_ADDR;
            return (e & PTE_ADDR & ~mask) | (va & mask);
        }
        t = phys_to_virt(e & PTE_ADDR);
    }
    return 0;
}

static void detect_features(void)
{
    struct cpuid_regs r = cpuid(0);
    uint32_t max = r.eax;
    if (max >= 7) {
        r = cpuid_count(7, 0);
        cpu_has_smep = r.ebx & (1u << 7);
        cpu_has_smap = r.ebx & (1u << 20);
    }
    r = cpuid(0x80000000);
    if (r.eax >= 0x80000001) {
        r = cpuid(0x80000001);
        cpu_has_nx = r.edx & (1u << 20);
        cpu_has_pdpe1gb = r.edx & (1u << 26);
    }
}

/* The direct map covers all of the first 4 GiB (RAM, ACPI tables and the
 * MMIO windows) and, above that, every RAM, ACPI and NVS range of the
 * firmware map.  Reserved ranges high up (QEMU reserves a 12 GiB window
 * below 1 TiB on AMD CPUs) are left out: mapping them costs tables and
 * buys nothing. */
static bool direct_mapped_type(uint32_t type)
{
    return type == MEM_RAM || type == MEM_ACPI || type == MEM_NVS;
}

static paddr_t highest_address(void)
{
    paddr_t top = GiB(4);
    for (unsigned i = 0; i < boot_info.nr_mem; i++)
        if (direct_mapped_type(boot_info.mem[i].type))
            top = MAX(top, boot_info.mem[i].base + boot_info.mem[i].size);
    return ALIGN_UP(top, MiB(2));
}

static void map_direct_range(paddr_t start, paddr_t end)
{
    uint64_t nx = cpu_has_nx ? PTE_NX : 0;
    for (paddr_t pa = ALIGN_DOWN(start, MiB(2)); pa < end;) {
        /* The local APIC / IOAPIC / firmware window is uncached. */
        bool mmio = pa >= 0xFE000000 && pa < GiB(4);
        uint64_t fl = PTE_W | PTE_G | nx | (mmio ? PTE_PCD | PTE_PWT : 0);
        if (paging_lookup(DIRECTMAP_BASE + pa, NULL) || (pa == 0 && paging_lookup(DIRECTMAP_BASE, NULL))) {
            pa += MiB(2);
            continue;
        }
        if (cpu_has_pdpe1gb && IS_ALIGNED(pa, GiB(1)) && pa + GiB(1) <= end && pa >= GiB(4)) {
            map_one(DIRECTMAP_BASE + pa, pa, fl, 2);
            pa += GiB(1);
        } else {
            map_one(DIRECTMAP_BASE + pa, pa, fl, 1);
            pa += MiB(2);
        }
    }
}

static void map_direct(void)
{
    map_direct_range(0, GiB(4));
    for (unsigned i = 0; i < boot_info.nr_mem; i++) {
        const struct boot_mem_region *m = &boot_info.mem[i];
        if (direct_mapped_type(m->type) && m->base + m->size > GiB(4))
            map_direct_range(MAX(m->base, GiB(4)), ALIGN_UP(m->base + m->size, MiB(2)));
    }
}

static bool is_guard(uint64_t va)
{
    uint64_t ist = (uint64_t)bsp_ist_stacks;
    return va == ist || va == ist + 2 * PAGE_SIZE || va == ist + 4 * PAGE_SIZE || va == (uint64_t)boot_stack_guard;
}

static void map_image(void)
{
    uint64_t nx = cpu_has_nx ? PTE_NX : 0;
    for (uint64_t va = (uint64_t)__text_start; va < (uint64_t)__image_end; va += PAGE_SIZE) {
        uint64_t fl;
        if (va < (uint64_t)__text_end)
            fl = PTE_G; /* read + execute */
        else if (va < (uint64_t)__rodata_end)
            fl = PTE_G | nx; /* read only */
        else
            fl = PTE_W | PTE_G | nx; /* data and bss */
        if (is_guard(va))
            continue;
        map_one(va, virt_to_phys((void *)va), fl, 0);
    }
}

static void map_identity_low(void)
{
    /* PML4 slot 0: first 1 GiB, executable, for the AP trampoline. */
    for (paddr_t pa = 0; pa < GiB(1); pa += MiB(2))
        map_one(pa, pa, PTE_W, 1);
}

void paging_init(void)
{
    detect_features();
    pml4 = table_alloc();
    map_direct();
    map_image();
    map_identity_low();
    write_cr3(virt_to_phys(pml4));
    cpu_enable_features();
    frame_init_high_mapped();
    pr_info("Paging: W^X image, NX %s, SMEP %s, SMAP %s, direct map of RAM up to %#lx (%s pages)\n",
            cpu_has_nx ? "on" : "off", cpu_has_smep ? "on" : "off", cpu_has_smap ? "on" : "off",
            (unsigned long)highest_address(), cpu_has_pdpe1gb ? "1 GiB and 2 MiB" : "2 MiB");
}

paddr_t paging_root(void)
{
    return virt_to_phys(pml4);
}

void paging_drop_identity(void)
{
    /* Only the tables under slot 0 are freed; the caller flushes every
     * CPU's TLB (a CR3 reload each). */
    uint64_t *pdpt = phys_to_virt(pml4[0] & PTE_ADDR);
    frame_free(pdpt[0] & PTE_ADDR, 0);
    frame_free(pml4[0] & PTE_ADDR, 0);
    pml4[0] = 0;
    write_cr3(read_cr3());
}

void *vmap_stack(size_t size)
{
    size_t pages = size / PAGE_SIZE;
    unsigned long f = spin_lock_irqsave(&pt_lock);
    uint64_t base = stack_area_next + PAGE_SIZE; /* leave the guard unmapped */
    if (base + size > STACK_AREA_BASE + STACK_AREA_SIZE) {
        spin_unlock_irqrestore(&pt_lock, f);
        return NULL;
    }
    stack_area_next = base + size;
    for (size_t i = 0; i < pages; i++) {
        paddr_t p = frame_alloc(0, FRAME_ZERO);
        if (!p) {
            for (size_t j = 0; j < i; j++) {
                frame_free(paging_lookup(base + j * PAGE_SIZE, NULL), 0);
                unmap_one(base + j * PAGE_SIZE);
            }
            spin_unlock_irqrestore(&pt_lock, f);
            return NULL;
        }
        map_one(base + i * PAGE_SIZE, p, PTE_W | PTE_G | (cpu_has_nx ? PTE_NX : 0), 0);
    }
    spin_unlock_irqrestore(&pt_lock, f);
    return (void *)base;
}
