/* Power-off and reset: test exit port, ACPI, then legacy fallbacks. */
#include <keel/acpi.h>
#include <keel/cmdline.h>
#include <keel/console.h>
#include <keel/power.h>
#include <keel/printk.h>
#include <asm/cpu.h>
#include <asm/io.h>

#define PM1_SCI_EN (1 << 0)
#define PM1_SLP_EN (1 << 13)

/* QEMU's isa-debug-exit (or any harness port): exit_port=0xf4 */
static uint64_t opt_exit_port;
integer_param("exit_port", opt_exit_port);

void machine_exit_port(uint32_t code)
{
    if (opt_exit_port && opt_exit_port <= 0xFFFF)
        outl((uint16_t)opt_exit_port, code);
}

static void acpi_enable_mode(void)
{
    if (!(inw((uint16_t)acpi_fadt.pm1a_cnt) & PM1_SCI_EN) && acpi_fadt.smi_cmd && acpi_fadt.acpi_enable) {
        outb((uint16_t)acpi_fadt.smi_cmd, acpi_fadt.acpi_enable);
        for (int i = 0; i < 1000000 && !(inw((uint16_t)acpi_fadt.pm1a_cnt) & PM1_SCI_EN); i++)
            cpu_relax();
    }
}

__noreturn void machine_power_off(void)
{
    pr_info("Keel: powering off\n");
    console_flush();
    irq_disable();
    machine_exit_port(EXIT_CODE_POWEROFF);
    if (acpi_fadt.present && acpi_fadt.pm1a_cnt && acpi_fadt.s5_valid) {
        acpi_enable_mode();
        if (acpi_fadt.pm1b_cnt)
            outw((uint16_t)acpi_fadt.pm1b_cnt, (uint16_t)((acpi_fadt.slp_typ_s5b << 10) | PM1_SLP_EN));
        outw((uint16_t)acpi_fadt.pm1a_cnt, (uint16_t)((acpi_fadt.slp_typ_s5a << 10) | PM1_SLP_EN));
        for (int i = 0; i < 1000000; i++)
            cpu_relax();
    }
    pr_emerg("Power-off failed (no usable ACPI S5); halting.\n");
    cpu_halt_forever();
}

__noreturn void machine_restart(void)
{
    console_flush();
    irq_disable();
    if (acpi_fadt.reset_supported) {
        if (acpi_fadt.reset_reg.space_id == 1)
            outb((uint16_t)acpi_fadt.reset_reg.address, acpi_fadt.reset_value);
        for (int i = 0; i < 1000000; i++)
            cpu_relax();
    }
    outb(0xCF9, 0x02); /* PCI reset control: system reset */
    outb(0xCF9, 0x06);
    for (int i = 0; i < 1000000; i++)
        cpu_relax();
    outb(0x64, 0xFE); /* keyboard controller pulse */
    for (int i = 0; i < 1000000; i++)
        cpu_relax();
    /* Last resort: triple fault through an empty IDT. */
    static const struct {
        uint16_t limit;
        uint64_t base;
    } __packed empty_idt = { 0, 0 };
    __asm__ __volatile__("lidt %0; int3" ::"m"(empty_idt));
    cpu_halt_forever();
}

__noreturn void cpu_halt_forever(void)
{
    for (;;) {
        irq_disable();
        halt();
    }
}
