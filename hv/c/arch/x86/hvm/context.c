/* Initial vCPU register states, and the common part of vCPU setup. */
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

#include "vlapic.h"

/* SVM-style packed attributes: type/S/DPL/P in bits 0-7, L D G in 9-11. */
#define ATTR_CODE32 0xC9B
#define ATTR_CODE64 0xA9B
#define ATTR_DATA 0xC93
#define ATTR_TSS32_BUSY 0x8B
#define ATTR_LDT 0x82

static void flat(struct hvm_context *c, uint16_t code_attr)
{
    memset(c, 0, sizeof(*c));
    for (unsigned s = SEG_ES; s <= SEG_GS; s++) {
        c->seg[s].sel = s == SEG_CS ? 0x08 : 0x10;
        c->seg[s].attr = s == SEG_CS ? code_attr : ATTR_DATA;
        c->seg[s].limit = 0xFFFFFFFF;
    }
    c->seg[SEG_TR].attr = ATTR_TSS32_BUSY;
    c->seg[SEG_TR].limit = 0x67;
    c->seg[SEG_LDTR].attr = ATTR_LDT;
    c->seg[SEG_GDTR].limit = 0xFFFF;
    c->seg[SEG_IDTR].limit = 0xFFFF;
    c->rflags = X86_EFLAGS_FIXED;
}

/* docs/pvh-layout.md: 32-bit protected mode, paging off. */
void hvm_context_pvh(struct hvm_context *c, uint32_t entry)
{
    flat(c, ATTR_CODE32);
    c->rip = entry;
    c->cr0 = X86_CR0_PE | X86_CR0_ET;
}

/* 64-bit mode with the given page tables (identity-mapped start code). */
void hvm_context_64(struct hvm_context *c, uint64_t rip, uint64_t cr3)
{
    flat(c, ATTR_CODE64);
    c->rip = rip;
    c->cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP;
    c->cr3 = cr3;
    c->cr4 = X86_CR4_PAE;
    c->efer = EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE;
}

int hvm_vcpu_init(struct vcpu *v)
{
    int rc = hvm_fpu_init(v);
    if (rc)
        return rc;
    vlapic_init(v);
    hvm_msr_vcpu_init(v);
    v->hvm.pat = 0x0007040600070406ULL;
    rc = hvm->vcpu_init(v);
    if (rc) {
        vlapic_destroy(v);
        hvm_fpu_destroy(v);
    }
    return rc;
}

void hvm_vcpu_destroy(struct vcpu *v)
{
    vlapic_destroy(v);
    hvm->vcpu_destroy(v);
    hvm_fpu_destroy(v);
}
