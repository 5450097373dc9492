/* panic: print one unmistakable line, stop every CPU, then reboot after a
 * delay unless noreboot is given. */
#include <keel/cmdline.h>
#include <keel/lib.h>
#include <keel/panic.h>
#include <keel/power.h>
#include <keel/printk.h>
#include <asm/cpu.h>

static bool opt_noreboot;
boolean_param("noreboot", opt_noreboot);

__attribute__((weak)) void arch_panic_stop_other_cpus(void) {}
__attribute__((weak)) unsigned arch_cpu_id(void) { return 0; }
__attribute__((weak)) void arch_panic_delay_ms(unsigned ms) { (void)ms; }

static volatile int panicking;

__noreturn void panic(const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    irq_disable();
    if (__atomic_exchange_n(&panicking, 1, __ATOMIC_SEQ_CST))
        cpu_halt_forever(); /* another CPU is already reporting */
    console_emergency_mode();
    arch_panic_stop_other_cpus();
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printk(LOG_EMERG, "\n****** " PANIC_MARKER " on CPU %u: %s ******\n", arch_cpu_id(), msg);
    machine_exit_port(EXIT_CODE_PANIC);
    if (opt_noreboot) {
        printk(LOG_EMERG, "noreboot: halted.\n");
        cpu_halt_forever();
    }
    printk(LOG_EMERG, "Rebooting in 5 seconds (noreboot to stay halted).\n");
    arch_panic_delay_ms(5000);
    machine_restart();
}
