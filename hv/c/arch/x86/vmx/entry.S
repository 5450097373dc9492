/*
 * int vmx_enter(struct guest_regs *regs, bool launched)
 *
 * Runs the guest once: VMLAUNCH the first time after a VMCLEAR, VMRESUME
 * after that.  Interrupts are off (the caller disabled them).  RSP, RIP and
 * RFLAGS travel in the VMCS; the other general registers are loaded from
 * and saved to *regs.  A VM exit continues at vmx_exit_stub (HOST_RIP) with
 * RSP = HOST_RSP, which this function sets to point at the saved regs
 * pointer; RFLAGS is then 0x2 (vol. 3C 28.5.3).
 *
 * Returns 0 after a VM exit, 1 for VMfailValid (ZF, the error number is in
 * the VMCS), 2 for VMfailInvalid (CF) (vol. 3C 31.2).
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

#define HOST_RSP 0x6C14

    .section .text
    .code64
    .global vmx_enter
    .global vmx_exit_stub
vmx_enter:
    push    %rbp
    push    %rbx
    push    %r12
    push    %r13
    push    %r14
    push    %r15
    push    %rdi                    /* regs: (%rsp) at the exit */

    mov     $HOST_RSP, %eax
    vmwrite %rsp, %rax

    test    %sil, %sil              /* launched?  The movs keep the flags. */
    mov     R_RAX(%rdi), %rax
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
    jnz     1f
    vmlaunch
    jmp     2f
1:  vmresume
2:  /* Still here: the entry failed before loading any guest state. */
    mov     $2, %eax
    jc      3f
    mov     $1, %eax
3:  pop     %rdi
    jmp     .Lout

vmx_exit_stub:
    push    %rax                    /* guest RAX */
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
    pop     %rbx
    mov     %rbx, R_RAX(%rax)
    pop     %rdi
    xor     %eax, %eax
.Lout:
    pop     %r15
    pop     %r14
    pop     %r13
    pop     %r12
    pop     %rbx
    pop     %rbp
    ret

    .section .note.GNU-stack, "", @progbits
