/* First C code on the boot CPU: copy out the loader's information, apply the
 * command line and bring up the console, then enter the core. */
#include <keel/boot.h>
#include <keel/cmdline.h>
#include <keel/console.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <asm/cpu.h>
#include <asm/io.h>

void boot_main(uint32_t magic, uint32_t info);
void serial_console_setup(void);

static void early_puts(const char *s)
{
    for (; *s; s++) {
        while (!(inb(0x3F8 + 5) & 0x20))
            ;
        outb(0x3F8, (uint8_t)*s);
    }
}

void boot_main(uint32_t magic, uint32_t info)
{
    boot_info.entry_tsc = rdtsc();
    if (!multiboot_parse(magic, info, &boot_info)) {
        early_puts("Keel: not started by a multiboot loader (or no memory map); cannot boot.\r\n");
        cpu_halt_forever();
    }
    /* Options are applied before the console exists; their warnings wait in
     * the log ring and are replayed once it does. */
    cmdline_apply(boot_info.cmdline);
    serial_console_setup();
    keel_main();
}
