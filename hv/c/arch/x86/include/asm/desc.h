/* GDT, TSS and IDT layouts (Intel SDM vol. 3A 3.4.5, 7.2.3, 6.14.1). */
#ifndef ASM_DESC_H
#define ASM_DESC_H

#include <keel/types.h>

#define GDT_NULL 0
#define GDT_CODE64 1
#define GDT_DATA 2
#define GDT_CODE32 3
#define GDT_TSS 4 /* two slots */
#define GDT_ENTRIES 6

#define SEL_CODE64 (GDT_CODE64 << 3)
#define SEL_DATA (GDT_DATA << 3)
#define SEL_CODE32 (GDT_CODE32 << 3)
#define SEL_TSS (GDT_TSS << 3)

/* IST slots (1-based in the IDT gate). */
#define IST_NMI 1
#define IST_DF 2
#define IST_MC 3
#define IST_COUNT 3

struct tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __packed;

struct idt_gate {
    uint16_t offset_lo;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_hi;
    uint32_t reserved;
} __packed;

struct desc_ptr {
    uint16_t limit;
    uint64_t base;
} __packed;

static inline void lgdt(const struct desc_ptr *p) { __asm__ __volatile__("lgdt %0" ::"m"(*p)); }
static inline void lidt(const struct desc_ptr *p) { __asm__ __volatile__("lidt %0" ::"m"(*p)); }
static inline void ltr(uint16_t sel) { __asm__ __volatile__("ltr %0" ::"r"(sel)); }

static inline void sgdt(struct desc_ptr *p) { __asm__ __volatile__("sgdt %0" : "=m"(*p)); }
static inline void sidt(struct desc_ptr *p) { __asm__ __volatile__("sidt %0" : "=m"(*p)); }

#endif
