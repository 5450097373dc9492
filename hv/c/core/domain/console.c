/*
 * What guests write reaches the log line by line, tagged "(dN) ".  Lines go
 * to the log ring always and to the serial console within a per-domain
 * budget, so a guest cannot flood the console; hypervisor messages about a
 * guest's misbehaviour (gprintk) share that budget.
 */
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/time.h>

#define BURST GUEST_LOG_BURST
#define REFILL_PER_SEC 200  /* lines */

static bool take_token(struct domain *d)
{
    uint64_t now = time_now_ns();
    uint64_t earned = (now - d->log_stamp_ns) * REFILL_PER_SEC / 1000000000ULL;
    if (earned) {
        d->log_tokens = MIN(d->log_tokens + earned, (uint64_t)BURST);
        d->log_stamp_ns = now;
    }
    if (d->log_tokens) {
        d->log_tokens--;
        return true;
    }
    d->log_suppressed++;
    return false;
}

static void emit(struct domain *d, int level, const char *text)
{
    if (!take_token(d))
        level = LOG_DEBUG + 1; /* ring only */
    if (d->log_suppressed && level <= LOG_DEBUG) {
        printk(level, "(d%u) [%lu lines suppressed]\n", d->id, (unsigned long)d->log_suppressed);
        d->log_suppressed = 0;
    }
    printk(level, "(d%u) %s\n", d->id, text);
}

void guest_console_write(struct domain *d, const char *buf, size_t len)
{
    struct guest_console *c = &d->console;
    spin_lock(&d->lock);
    for (size_t i = 0; i < len; i++) {
        char ch = buf[i];
        if (ch == '\n' || c->len == GUEST_LINE_MAX - 1) {
            c->line[c->len] = '\0';
            emit(d, LOG_INFO, c->line);
            c->len = 0;
            if (ch == '\n')
                continue;
        }
        if (ch == '\r')
            continue;
        /* Keep the log printable: control bytes become '?'. */
        c->line[c->len++] = (ch >= 0x20 && ch < 0x7F) || ch == '\t' ? ch : '?';
    }
    spin_unlock(&d->lock);
}

void gprintk(struct domain *d, int level, const char *fmt, ...)
{
    char text[GUEST_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n > 0 && text[MIN((size_t)n, sizeof(text) - 1) - 1] == '\n')
        text[MIN((size_t)n, sizeof(text) - 1) - 1] = '\0';
    spin_lock(&d->lock);
    emit(d, level, text);
    spin_unlock(&d->lock);
}
