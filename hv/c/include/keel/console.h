/* Console devices (the 16550 UART today). */
#ifndef KEEL_CONSOLE_H
#define KEEL_CONSOLE_H

#include <keel/types.h>

struct console_dev {
    const char *name;
    void (*write)(struct console_dev *c, const char *s, size_t n);
    int (*getc)(struct console_dev *c); /* -1 when nothing is waiting */
    void (*flush)(struct console_dev *c); /* wait until everything is sent */
    void *priv;
};

void console_register(struct console_dev *c);
void console_write(const char *s, size_t n);
int console_getc(void);
void console_flush(void);

/* 16550 UART */
struct uart_config {
    uint16_t port;
    uint32_t baud;
    uint8_t data_bits;
    char parity; /* 'n', 'e', 'o' */
    uint8_t stop_bits;
};

/* Parse "115200,8n1" or "0x2f8,115200,8n1" style options; false if malformed. */
bool uart_parse_options(const char *s, struct uart_config *cfg);
void uart_init(const struct uart_config *cfg);

#endif
