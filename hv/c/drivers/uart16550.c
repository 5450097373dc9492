/* 16550 UART console (PC16550D data sheet; COM1 at 0x3F8 by default). */
#include <keel/console.h>
#include <keel/lib.h>
#include <asm/io.h>

#define UART_CLOCK 115200
#define RBR 0 /* receive buffer (read) */
#define THR 0 /* transmit holding (write) */
#define IER 1
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define DLL 0
#define DLM 1
#define LCR_DLAB 0x80
#define LSR_DR 0x01
#define LSR_THRE 0x20

static struct uart_config uart_cfg = { 0x3F8, 115200, 8, 'n', 1 };

static void uart_putc(uint16_t port, char c)
{
    /* Bounded wait: a missing UART must not hang the hypervisor. */
    for (int i = 0; i < 100000 && !(inb(port + LSR) & LSR_THRE); i++)
        __asm__ __volatile__("pause");
    outb(port + THR, (uint8_t)c);
}

static void uart_write(struct console_dev *c, const char *s, size_t n)
{
    (void)c;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            uart_putc(uart_cfg.port, '\r');
        uart_putc(uart_cfg.port, s[i]);
    }
}

static int uart_getc(struct console_dev *c)
{
    (void)c;
    if (!(inb(uart_cfg.port + LSR) & LSR_DR))
        return -1;
    return inb(uart_cfg.port + RBR);
}

/* Wait until the transmitter is empty (LSR.TEMT): power-off must not cut
 * the last line short. */
static void uart_flush(struct console_dev *c)
{
    (void)c;
    for (int i = 0; i < 1000000 && !(inb(uart_cfg.port + LSR) & 0x40); i++)
        __asm__ __volatile__("pause");
}

static struct console_dev uart_console = { "com", uart_write, uart_getc, uart_flush, NULL };

bool uart_parse_options(const char *s, struct uart_config *cfg)
{
    uint64_t v;
    const char *end;
    struct uart_config c = *cfg;

    if (!parse_u64(s, &end, &v, false))
        return false;
    if (*end == ',' && v > 0xFF && v <= 0xFFFF && (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))) {
        c.port = (uint16_t)v; /* "0x2f8,115200,..." */
        s = end + 1;
        if (!parse_u64(s, &end, &v, false))
            return false;
    }
    if (v == 0 || v > UART_CLOCK || UART_CLOCK % v)
        return false;
    c.baud = (uint32_t)v;
    if (*end == ',') {
        const char *f = end + 1;
        if (f[0] < '5' || f[0] > '8')
            return false;
        c.data_bits = (uint8_t)(f[0] - '0');
        if (f[1] != 'n' && f[1] != 'e' && f[1] != 'o')
            return false;
        c.parity = f[1];
        if (f[2] != '1' && f[2] != '2')
            return false;
        c.stop_bits = (uint8_t)(f[2] - '0');
        end = f + 3;
    }
    if (*end != '\0' && *end != ' ')
        return false;
    *cfg = c;
    return true;
}

void uart_init(const struct uart_config *cfg)
{
    uint16_t p = cfg->port;
    uint16_t div = (uint16_t)(UART_CLOCK / cfg->baud);
    uint8_t lcr = (uint8_t)((cfg->data_bits - 5) | (cfg->stop_bits == 2 ? 0x04 : 0));

    if (cfg->parity == 'o')
        lcr |= 0x08;
    else if (cfg->parity == 'e')
        lcr |= 0x18;
    uart_cfg = *cfg;
    outb(p + IER, 0x00);
    outb(p + LCR, LCR_DLAB);
    outb(p + DLL, (uint8_t)div);
    outb(p + DLM, (uint8_t)(div >> 8));
    outb(p + LCR, lcr);
    outb(p + FCR, 0x07); /* enable and clear FIFOs */
    outb(p + MCR, 0x03); /* DTR, RTS */
    console_register(&uart_console);
}
