/* The runtime's small libc: strings, formatting and the console. */
#ifndef RT_LIB_H
#define RT_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a) (((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define PRINTF_LIKE(f, a) __attribute__((format(printf, f, a)))

void *memset(void *s, int c, size_t n);
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* Parse an unsigned number: decimal, or hex with a 0x prefix.  *end (if
 * not NULL) points after the last digit used. */
unsigned long long parse_ull(const char *s, const char **end);

/* vsnprintf/snprintf: %d %i %u %x %X %p %s %c %%, the flags '-', '0', '#',
 * a width (or '*'), a precision for %s, and the length modifiers hh h l ll z.
 * The result is always NUL-terminated; the return value is the length the
 * full output would have had. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) PRINTF_LIKE(3, 4);

/* Console output: console_io CONSOLEIO_write when running on a hypervisor,
 * port 0xE9 otherwise.  Whole printf calls are atomic with respect to other
 * vCPUs (output longer than 256 bytes is written in pieces). */
int printf(const char *fmt, ...) PRINTF_LIKE(1, 2);
int vprintf(const char *fmt, va_list ap);
int puts(const char *s); /* s and a newline */
void console_write(const char *s, size_t n);

/* Raw bytes to I/O port 0xE9 (QEMU -debugcon, Bochs port_e9_hack, Xen's and
 * Keel's guest debug port), bypassing the hypervisor console. */
void e9_write(const char *s, size_t n);

#endif
