/*
 * Console output.  On a hypervisor every write is one console_io
 * CONSOLEIO_write (one exit per line, not per byte); without one, or if
 * console_io fails, bytes go to port 0xE9.  A recursive lock keeps each
 * printf whole when several vCPUs print, and lets a fault inside printf
 * still report itself on the same vCPU.
 */
#include "rt.h"

#define E9_PORT 0xE9

static volatile int console_owner = -1; /* vCPU id holding the lock */
static int console_depth;
static bool console_io_failed;

void e9_write(const char *s, size_t n)
{
    while (n--)
        outb(E9_PORT, (uint8_t)*s++);
}

void console_write_unlocked(const char *s, size_t n)
{
    while (n && hypervisor.present && !console_io_failed) {
        long rc = HYPERVISOR_console_io(CONSOLEIO_write, n, s);
        if (rc < 0) {
            /* Fall back for good, and say so once through the fallback. */
            console_io_failed = true;
            char msg[64];
            int len = snprintf(msg, sizeof(msg), "[console_io failed (%ld): using port 0xE9]\n", rc);
            e9_write(msg, len);
            break;
        }
        /* Xen returns 0 for a complete write; accept a byte count too. */
        if (rc == 0 || (size_t)rc >= n)
            return;
        s += rc;
        n -= rc;
    }
    e9_write(s, n);
}

static void console_lock(void)
{
    int me = (int)smp_cpu_id();
    if (console_owner != me) {
        int none = -1;
        while (!__atomic_compare_exchange_n(&console_owner, &none, me, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
            none = -1;
            cpu_relax();
        }
    }
    console_depth++;
}

static void console_unlock(void)
{
    if (--console_depth == 0)
        __atomic_store_n(&console_owner, -1, __ATOMIC_RELEASE);
}

void console_write(const char *s, size_t n)
{
    console_lock();
    console_write_unlocked(s, n);
    console_unlock();
}

/* printf buffers up to a line (or 256 bytes) per console write. */
struct line_ctx {
    char buf[256];
    size_t len;
    int total;
};

static void line_flush(struct line_ctx *l)
{
    console_write_unlocked(l->buf, l->len);
    l->len = 0;
}

static void line_sink(void *ctx, const char *s, size_t n)
{
    struct line_ctx *l = ctx;
    l->total += (int)n;
    while (n--) {
        l->buf[l->len++] = *s;
        if (l->len == sizeof(l->buf))
            line_flush(l);
        s++;
    }
}

int vprintf(const char *fmt, va_list ap)
{
    struct line_ctx l = { .len = 0 };
    console_lock();
    vformat(line_sink, &l, fmt, ap);
    if (l.len)
        line_flush(&l);
    console_unlock();
    return l.total;
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int puts(const char *s)
{
    return printf("%s\n", s);
}
