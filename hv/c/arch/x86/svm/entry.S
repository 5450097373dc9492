/*
 * svm_vmrun(struct guest_regs *regs, paddr_t guest_vmcb, paddr_t host_vmcb)
 *
 * Runs the guest once.  GIF is clear on entry (the caller did CLGI), so no
 * host interrupt can arrive between VMLOAD of the guest's FS/GS/TR state and
 * VMLOAD of the host's; the caller sets GIF again afterwards.  RAX, RSP and
 * RIP travel in the VMCB (AMD APM vol. 2 15.5).
 */
#define R_RAX 0
#define R_RBX 8
#define R_RCX 16
#define R_RDX 24
#define R_RSI 32
#define R_RDI 40
#define R_RBP 48
#define R_R8 56
#define R_R9 64
#define R_R10 72
#define R_R11 80
#define R_R12 88
#define R_R13 96
#define R_R14 104
#define R_R15 112

    .section .text
    .code64
    .global svm_vmrun
svm_vmrun:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    push    %rdi                    /* regs */
    push    %rdx                    /* host VMCB */
    mov     %rsi, %rax              /* guest VMCB for vmload/vmrun/vmsave */

    mov     R_RBX(%rdi), %rbx
    mov     R_RCX(%rdi), %rcx
    mov     R_RDX(%rdi), %rdx
    mov     R_RSI(%rdi), %rsi
    mov     R_RBP(%rdi), %rbp
    mov     R_R8(%rdi), %r8
    mov     R_R9(%rdi), %r9
    mov     R_R10(%rdi), %r10
    mov     R_R11(%rdi), %r11
    mov     R_R12(%rdi), %r12
    mov     R_R13(%rdi), %r13
    mov     R_R14(%rdi), %r14
    mov     R_R15(%rdi), %r15
    mov     R_RDI(%rdi), %rdi

    vmload  %rax
    vmrun   %rax
    vmsave  %rax

    mov     8(%rsp), %rax           /* regs */
    mov     %rbx, R_RBX(%rax)
    mov     %rcx, R_RCX(%rax)
    mov     %rdx, R_RDX(%rax)
    mov     %rsi, R_RSI(%rax)
    mov     %rdi, R_RDI(%rax)
    mov     %rbp, R_RBP(%rax)
    mov     %r8, R_R8(%rax)
    mov     %r9, R_R9(%rax)
    mov     %r10, R_R10(%rax)
    mov     %r11, R_R11(%rax)
    mov     %r12, R_R12(%rax)
    mov     %r13, R_R13(%rax)
    mov     %r14, R_R14(%rax)
    mov     %r15, R_R15(%rax)

    pop     %rax                    /* host VMCB: host FS/GS/TR/syscall MSRs */
    vmload  %rax
    pop     %rdi
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret

    .section .note.GNU-stack, "", @progbits
