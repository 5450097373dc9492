/* AMD-V backend internals. */
#ifndef SVM_SVM_H
#define SVM_SVM_H

#include <keel/types.h>

struct vcpu;
struct vmcb;
struct guest_regs;

void svm_vmrun(struct guest_regs *regs, paddr_t guest_vmcb, paddr_t host_vmcb);
void svm_handle_exit(struct vcpu *v, struct vmcb *vmcb);
const char *svm_exit_name(unsigned slot);

#endif
