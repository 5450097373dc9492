/*
 * printk: levelled, timestamped messages to the console and the log ring.
 *
 * Every message lands in the ring (read later by the control domain);
 * messages at or below the console level (loglvl=) also go to the serial
 * console.  Messages a guest can cause go through gprintk(), which tags them
 * with the domain and vCPU and is rate-limited per domain.
 */
#ifndef KEEL_PRINTK_H
#define KEEL_PRINTK_H

#include <stdarg.h>
#include <keel/types.h>

enum log_level {
    LOG_EMERG = 0,
    LOG_ALERT = 1,
    LOG_CRIT = 2,
    LOG_ERR = 3,
    LOG_WARNING = 4,
    LOG_NOTICE = 5,
    LOG_INFO = 6,
    LOG_DEBUG = 7,
};

void printk(int level, const char *fmt, ...) __printf(2, 3);
void vprintk(int level, const char *fmt, va_list ap);

#define pr_emerg(...) printk(LOG_EMERG, __VA_ARGS__)
#define pr_err(...) printk(LOG_ERR, __VA_ARGS__)
#define pr_warn(...) printk(LOG_WARNING, __VA_ARGS__)
#define pr_notice(...) printk(LOG_NOTICE, __VA_ARGS__)
#define pr_info(...) printk(LOG_INFO, __VA_ARGS__)
#define pr_debug(...) printk(LOG_DEBUG, __VA_ARGS__)

/* Console level: messages with level <= this reach the serial console. */
extern int console_loglevel;

/* Log ring (at least 64 KiB).  Readers track a byte sequence number: bytes
 * older than what the ring still holds are reported as lost. */
#define LOG_RING_SIZE (256 * 1024)
struct log_read_result {
    size_t copied;    /* bytes written to the buffer */
    uint64_t next;    /* sequence number to continue from */
    uint64_t lost;    /* bytes that had been overwritten before this read */
};
struct log_read_result log_read(uint64_t from, char *buf, size_t len);
uint64_t log_head(void); /* sequence number of the next byte written */
uint64_t log_tail(void); /* oldest sequence number still held */
void log_clear(void);

/* Print directly to the console, bypassing the lock (panic path only). */
void console_emergency_mode(void);

/* Time source for timestamps; returns 0 until the clock is calibrated. */
uint64_t printk_clock_ns(void);

#endif
