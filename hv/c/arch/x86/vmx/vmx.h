/* VT-x backend internals, shared by vmx.c, exits.c and entry.S. */
#ifndef VMX_VMX_H
#define VMX_VMX_H

#include <keel/types.h>

struct vcpu;
struct guest_regs;

/* Enter the guest once with VMLAUNCH (launched false) or VMRESUME.
 * Returns 0 after a VM exit, 1 for VMfailValid (VM_INSTRUCTION_ERROR says
 * why), 2 for VMfailInvalid.  entry.S. */
int vmx_enter(struct guest_regs *regs, bool launched);
/* The host RIP of every VM exit (entry.S). */
void vmx_exit_stub(void);

/* exits.c */
void vmx_handle_exit(struct vcpu *v, uint32_t reason);
const char *vmx_exit_name(unsigned reason);

/* vmx.c: emulated control-register writes with the checks the CPU makes
 * (checked: a MOV from the guest, #GP queued and false on a bad value;
 * unchecked: Keel sets the register). */
bool vmx_set_cr0(struct vcpu *v, uint64_t val, bool checked);
bool vmx_set_cr4(struct vcpu *v, uint64_t val, bool checked);
uint64_t vmx_guest_cr0(struct vcpu *v);
/* Set or clear bits of the primary processor-based controls. */
void vmx_proc_ctls(struct vcpu *v, uint32_t set, uint32_t clear);
/* Is the guest running 64-bit code (IA-32e mode and CS.L)? */
bool vmx_code64(struct vcpu *v);
unsigned vmx_get_cpl(struct vcpu *v);

/* The same, inlined on the exit paths (the VMCS must be current). */
#ifndef __ASSEMBLY__
#include <keel/vcpu.h>
#include <asm/hvm.h>
#include "vmcs.h"

static inline bool vmx_code64_inline(struct vcpu *v)
{
    return (v->hvm.vmx.entry_ctls & ENTRY_IA32E_MODE) && (vmread(GUEST_ES_AR + 2 * SEG_CS) & (1u << 13));
}

static inline unsigned vmx_get_cpl_inline(struct vcpu *v)
{
    (void)v;
    /* The CPL is SS.DPL, kept even when SS is unusable (25.4.1). */
    return (vmread(GUEST_ES_AR + 2 * SEG_SS) >> 5) & 3;
}
#endif

#endif
