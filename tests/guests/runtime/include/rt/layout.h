/*
 * Constants shared by the C runtime and its assembly: descriptor selectors,
 * stack geometry and the per-vCPU block at the bottom of each stack.
 */
#ifndef RT_LAYOUT_H
#define RT_LAYOUT_H

#define PAGE_SIZE 4096

/* GDT selectors; the same numbers in both flavours so that the shared code
 * never cares which one it is.  0x08 is 64-bit code in the 64-bit flavour
 * and 32-bit code in the 32-bit one. */
#define SEL_CODE 0x08
#define SEL_DATA 0x10
/* Ring 3 (rt/user.h): user code and data (DPL 3; use them with RPL 3),
 * then one TSS descriptor per vCPU from GDT_TSS_FIRST on (16 bytes each in
 * the 64-bit flavour, 8 in the 32-bit one). */
#define SEL_UCODE 0x18
#define SEL_UDATA 0x20
#define GDT_TSS_FIRST 5

/* Every vCPU runs on one STACK_SIZE-aligned stack whose lowest bytes hold
 * its struct percpu: the current vCPU is found by masking the stack pointer,
 * which works identically in both modes without FS/GS tricks. */
#define STACK_SIZE 0x4000

/* Upper bound for vcpu_start(); matches KEEL_MAX_VCPUS in the guest ABI. */
#define RT_MAX_VCPUS 128

/* The interrupt vector a ring-3 function leaves through (its IDT gate has
 * DPL 3); reserved by the runtime when raised from ring 3. */
#define RT_USER_EXIT_VECTOR 0x80

/* enum hypercall_mode (rt/hypervisor.h), also read by hypercall.S. */
#define RT_HYPERCALL_NONE 0
#define RT_HYPERCALL_PAGE 1
#define RT_HYPERCALL_VMCALL 2
#define RT_HYPERCALL_VMMCALL 3

/* Exit codes written to QEMU's isa-debug-exit port when there is no
 * hypervisor; QEMU exits with (code << 1) | 1. */
#define EXIT_PORT 0xF4
#define EXIT_SUCCESS_CODE 0
#define EXIT_FAILURE_CODE 1
#define EXIT_SKIP_CODE 2
#define EXIT_ERROR_CODE 3

#endif
