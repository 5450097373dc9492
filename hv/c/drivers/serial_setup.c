/* Console selection from the command line:
 *   com1=BAUD[,DPS]  com2=BAUD[,DPS]  (or com1=PORT,BAUD,DPS)
 *   console=com1|com2|none */
#include <keel/cmdline.h>
#include <keel/console.h>
#include <keel/lib.h>
#include <keel/printk.h>

void serial_console_setup(void);

static struct uart_config com[2] = {
    { 0x3F8, 115200, 8, 'n', 1 },
    { 0x2F8, 115200, 8, 'n', 1 },
};
static char opt_console[16] = "com1";
string_param("console", opt_console);

static bool parse_com1(const char *v) { return v && uart_parse_options(v, &com[0]); }
static bool parse_com2(const char *v) { return v && uart_parse_options(v, &com[1]); }
custom_param("com1", parse_com1);
custom_param("com2", parse_com2);

void serial_console_setup(void)
{
    int which = -1;
    if (!strcmp(opt_console, "com1"))
        which = 0;
    else if (!strcmp(opt_console, "com2"))
        which = 1;
    else if (strcmp(opt_console, "none"))
        which = 0; /* unknown console: stay visible on COM1 */
    if (which >= 0)
        uart_init(&com[which]);

    /* Replay what was logged before the console existed. */
    char buf[256];
    uint64_t seq = 0;
    for (;;) {
        struct log_read_result r = log_read(seq, buf, sizeof(buf));
        if (!r.copied)
            break;
        console_write(buf, r.copied);
        seq = r.next;
    }
    if (which < 0)
        return;
    if (strcmp(opt_console, "com1") && strcmp(opt_console, "com2"))
        pr_warn("console: unknown console '%s', using com1\n", opt_console);
}
