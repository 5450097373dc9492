/*
 * Working out the length of an intercepted instruction by reading it: legacy
 * prefixes and (in 64-bit code) REX are skipped, then the opcode must be the
 * one the exit reported.  Anything else means the guest changed its code
 * under us or lied about it: its domain is crashed.
 */
#include <keel/domain.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/p2m.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>
#include <asm/page.h>

#include "insn.h"

static const struct {
    uint8_t len;
    uint8_t bytes[3];
} opcodes[] = {
    [INSN_CPUID] = { 2, { 0x0F, 0xA2 } },
    [INSN_RDMSR] = { 2, { 0x0F, 0x32 } },
    [INSN_WRMSR] = { 2, { 0x0F, 0x30 } },
    [INSN_HLT] = { 1, { 0xF4 } },
    [INSN_PAUSE] = { 1, { 0x90 } }, /* after the F3 prefix */
    [INSN_VMMCALL] = { 3, { 0x0F, 0x01, 0xD9 } },
    [INSN_VMCALL] = { 3, { 0x0F, 0x01, 0xC1 } },
    [INSN_XSETBV] = { 3, { 0x0F, 0x01, 0xD1 } },
    [INSN_INVD] = { 2, { 0x0F, 0x08 } },
};

static bool legacy_prefix(uint8_t b)
{
    switch (b) {
    case 0x66: case 0x67: case 0xF0: case 0xF2: case 0xF3:
    case 0x2E: case 0x36: case 0x3E: case 0x26: case 0x64: case 0x65:
        return true;
    default:
        return false;
    }
}

/* Host pointer to the code page at va, through the per-vCPU cache. */
static const uint8_t *code_page(struct vcpu *v, gva_t va)
{
    struct insn_cache *c = &v->hvm.insn;
    uint64_t cr3 = hvm->get_reg(v, HVM_CR3);
    uint64_t gen = __atomic_load_n(&v->domain->p2m.tlb_gen, __ATOMIC_ACQUIRE);
    gva_t page = va & PAGE_MASK;
    if (c->valid && c->page == page && c->cr3 == cr3 && c->tlb_gen == gen)
        return c->host;
    gpa_t gpa;
    mfn_t mfn;
    enum p2m_type type;
    if (guest_translate(v, page, false, &gpa) ||
        !p2m_lookup(&v->domain->p2m, gpa >> PAGE_SHIFT, &mfn, &type, NULL) || type != P2M_RAM)
        return NULL;
    c->cr3 = cr3;
    c->page = page;
    c->host = phys_to_virt(mfn << PAGE_SHIFT);
    c->tlb_gen = gen;
    c->valid = true;
    c->len = 0;
    return c->host;
}

unsigned insn_length(struct vcpu *v, enum insn_kind kind)
{
    uint8_t buf[15];
    struct segment cs;
    struct insn_cache *c = &v->hvm.insn;
    uint64_t rip = hvm->get_reg(v, HVM_RIP);
    /* The same intercepted instruction as last time (a guest loop): its
     * length is known.  Rewriting that instruction with another of the same
     * kind but other prefixes, without changing CR3, could only mislead the
     * guest itself. */
    if (c->len && c->rip == rip && c->kind == kind && c->valid && c->cr3 == hvm->get_reg(v, HVM_CR3) &&
        c->tlb_gen == __atomic_load_n(&v->domain->p2m.tlb_gen, __ATOMIC_ACQUIRE))
        return c->len;
    bool code64 = hvm_long_mode(v);
    gva_t va = rip;
    if (!code64) {
        hvm->get_segment(v, SEG_CS, &cs);
        va = (uint32_t)(cs.base + rip);
    }
    size_t off = va & (PAGE_SIZE - 1);
    const uint8_t *p;
    if (off + sizeof(buf) <= PAGE_SIZE && (p = code_page(v, va))) {
        p += off; /* the common case: the instruction is within one page */
    } else {
        if (copy_from_guest(v, buf, va, MIN(sizeof(buf), PAGE_SIZE - off)) ||
            (off + sizeof(buf) > PAGE_SIZE &&
             copy_from_guest(v, buf + (PAGE_SIZE - off), va + (PAGE_SIZE - off), sizeof(buf) - (PAGE_SIZE - off)))) {
            domain_crash(v->domain, "vCPU %u: cannot read the instruction at %#lx", v->id, (unsigned long)rip);
            return 0;
        }
        p = buf;
    }
    unsigned i = 0;
    while (i < sizeof(buf) && legacy_prefix(p[i]))
        i++;
    if (code64 && i < sizeof(buf) && (p[i] & 0xF0) == 0x40)
        i++;
    unsigned need = i + opcodes[kind].len;
    if (need > sizeof(buf) || memcmp(p + i, opcodes[kind].bytes, opcodes[kind].len)) {
        domain_crash(v->domain, "vCPU %u: unexpected instruction at %#lx for this exit", v->id, (unsigned long)rip);
        return 0;
    }
    c->rip = rip;
    c->kind = kind;
    c->len = c->valid && p != buf ? (uint8_t)need : 0;
    return need;
}
