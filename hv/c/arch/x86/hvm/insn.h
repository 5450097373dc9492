/* Instruction lengths for exits that report none (AMD-V without NRIP-save). */
#ifndef HVM_INSN_H
#define HVM_INSN_H

struct vcpu;

enum insn_kind { INSN_CPUID, INSN_RDMSR, INSN_WRMSR, INSN_HLT, INSN_PAUSE, INSN_VMMCALL, INSN_VMCALL, INSN_XSETBV, INSN_INVD };

/* Length of the expected instruction at the guest's RIP, prefixes included;
 * 0 if it is not there (the domain has been crashed with the reason). */
unsigned insn_length(struct vcpu *v, enum insn_kind kind);

#endif
