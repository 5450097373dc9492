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
#include <asm/cpu.h>

#define BURST GUEST_LOG_BURST
#define NOTICE_PER_SEC 5
#define REFILL_PER_SEC 200  /* lines */

struct bucket {
    uint64_t *tokens;
    uint64_t *stamp;
    uint64_t burst, per_sec;
};

static bool take_token(struct bucket b, uint64_t *suppressed)
{
    uint64_t now = time_now_ns();
    uint64_t earned = (now - *b.stamp) * b.per_sec / 1000000000ULL;
    if (earned) {
        *b.tokens = MIN(*b.tokens + earned, b.burst);
        *b.stamp = now;
    }
    if (*b.tokens) {
        (*b.tokens)--;
        return true;
    }
    (*suppressed)++;
    return false;
}

/* What the guest prints: generous, it is the guest's console. */
static struct bucket output_bucket(struct domain *d)
{
    return (struct bucket){ &d->log_tokens, &d->log_stamp_ns, BURST, REFILL_PER_SEC };
}

/* What Keel says about the guest's misbehaviour: terse. */
static struct bucket notice_bucket(struct domain *d)
{
    return (struct bucket){ &d->notice_tokens, &d->notice_stamp_ns, 20, NOTICE_PER_SEC };
}

static void emit(struct domain *d, int level, const char *text, struct bucket b)
{
    /* Lines below the console level only go to the ring: no budget. */
    if (level <= console_loglevel && !take_token(b, &d->log_suppressed))
        level = LOG_DEBUG + 1; /* over budget: ring only */
    if (d->log_suppressed && level <= console_loglevel) {
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
            emit(d, LOG_INFO, c->line, output_bucket(d));
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
    /* Out of budget: drop the line before taking any lock or formatting
     * anything, so a guest looping on an unhandled port costs a comparison
     * per exit, not a printf. */
    if (rdtsc() < READ_ONCE(d->notice_quiet_tsc)) {
        d->log_suppressed++;
        return;
    }
    spin_lock(&d->lock);
    bool ok = take_token(notice_bucket(d), &d->log_suppressed);
    if (!ok)
        d->notice_quiet_tsc = rdtsc() + ns_to_tsc(1000000000ULL / NOTICE_PER_SEC);
    spin_unlock(&d->lock);
    if (!ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    if (n > 0 && text[MIN((size_t)n, sizeof(text) - 1) - 1] == '\n')
        text[MIN((size_t)n, sizeof(text) - 1) - 1] = '\0';
    spin_lock(&d->lock);
    if (d->log_suppressed && level <= console_loglevel) {
        printk(level, "(d%u) [%lu lines suppressed]\n", d->id, (unsigned long)d->log_suppressed);
        d->log_suppressed = 0;
    }
    printk(level, "(d%u) %s\n", d->id, text);
    spin_unlock(&d->lock);
}
