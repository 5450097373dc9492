/* The legacy 8259 PICs: moved off the exception vectors and masked.  Left as
 * the BIOS set them, the timer's IRQ 0 arrives on vector 8 and looks like a
 * double fault. */
#include <asm/apic.h>
#include <asm/io.h>
#include <asm/traps.h>

void pic_disable(void)
{
    /* ICW1-ICW4: edge, cascade, vectors 0x20-0x2F, 8086 mode. */
    outb(0x20, 0x11);
    outb(0xA0, 0x11);
    outb(0x21, VECTOR_FIRST_IRQ);
    outb(0xA1, VECTOR_FIRST_IRQ + 8);
    outb(0x21, 0x04);
    outb(0xA1, 0x02);
    outb(0x21, 0x01);
    outb(0xA1, 0x01);
    /* Mask every line. */
    outb(0x21, 0xFF);
    outb(0xA1, 0xFF);
}
