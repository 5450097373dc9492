/*
 * Working out the length of an intercepted instruction by reading it: legacy
 * prefixes and (in 64-bit code) REX are skipped, then the opcode must be the
 * one the exit reported.  Anything else means the guest changed its code
 * under us or lied about it: its domain is crashed.
 */
#include <keel/domain.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

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

unsigned insn_length(struct vcpu *v, enum insn_kind kind)
{
    uint8_t buf[15];
    struct segment cs;
    hvm->get_segment(v, SEG_CS, &cs);
    bool code64 = hvm_long_mode(v);
    uint64_t rip = hvm->get_reg(v, HVM_RIP);
    gva_t va = code64 ? rip : (uint32_t)(cs.base + rip);

    /* Read what is there, up to the end of the page first (the common
     * case), then the rest only if the instruction crosses it. */
    size_t first = MIN(sizeof(buf), PAGE_SIZE - (va & (PAGE_SIZE - 1)));
    if (copy_from_guest(v, buf, va, first)) {
        domain_crash(v->domain, "vCPU %u: cannot read the instruction at %#lx", v->id, (unsigned long)rip);
        return 0;
    }
    size_t have = first;
    unsigned i = 0;
    while (i < have && legacy_prefix(buf[i]))
        i++;
    if (code64 && i < have && (buf[i] & 0xF0) == 0x40)
        i++;
    unsigned need = i + opcodes[kind].len;
    if (need > have && need <= sizeof(buf)) {
        if (copy_from_guest(v, buf + have, va + have, need - have)) {
            domain_crash(v->domain, "vCPU %u: cannot read the instruction at %#lx", v->id, (unsigned long)rip);
            return 0;
        }
        have = need;
    }
    if (need > sizeof(buf) || memcmp(buf + i, opcodes[kind].bytes, opcodes[kind].len)) {
        domain_crash(v->domain, "vCPU %u: unexpected instruction at %#lx for this exit", v->id, (unsigned long)rip);
        return 0;
    }
    return need;
}
