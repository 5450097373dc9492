/* Local APIC in xAPIC (MMIO) or x2APIC (MSR) mode (Intel SDM vol. 3A ch. 11). */
#ifndef ASM_APIC_H
#define ASM_APIC_H

#include <keel/types.h>

#define APIC_ID 0x020
#define APIC_VERSION 0x030
#define APIC_TPR 0x080
#define APIC_EOI 0x0B0
#define APIC_LDR 0x0D0
#define APIC_DFR 0x0E0
#define APIC_SVR 0x0F0
#define APIC_ESR 0x280
#define APIC_ICR_LOW 0x300
#define APIC_ICR_HIGH 0x310
#define APIC_LVT_TIMER 0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PERF 0x340
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_LVT_ERROR 0x370
#define APIC_TIMER_INIT 0x380
#define APIC_TIMER_CURRENT 0x390
#define APIC_TIMER_DIVIDE 0x3E0

#define APIC_SVR_ENABLE (1u << 8)
#define APIC_LVT_MASKED (1u << 16)
#define APIC_TIMER_PERIODIC (1u << 17)

#define ICR_FIXED (0u << 8)
#define ICR_NMI (4u << 8)
#define ICR_INIT (5u << 8)
#define ICR_STARTUP (6u << 8)
#define ICR_PENDING (1u << 12)
#define ICR_ASSERT (1u << 14)
#define ICR_LEVEL (1u << 15)
#define ICR_SELF (1u << 18)
#define ICR_ALL (2u << 18)
#define ICR_ALL_BUT_SELF (3u << 18)

extern bool apic_x2apic_mode;

void pic_disable(void);          /* remap and mask the legacy 8259s */
void lapic_init(void);          /* per CPU; the boot CPU decides the mode */
uint32_t lapic_id(void);
void lapic_eoi(void);
/* Send an IPI: icr_low holds vector, delivery mode and shorthand. */
void lapic_send_ipi(uint32_t dest_apic_id, uint32_t icr_low);
void lapic_timer_calibrate(void);
/* Arm the LAPIC timer to fire VECTOR_TIMER once after ns (0 disarms). */
void lapic_timer_oneshot(uint64_t ns);

#endif
