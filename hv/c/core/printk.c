/* printk, the console list and the log ring. */
#include <keel/cmdline.h>
#include <keel/console.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/spinlock.h>

#define MAX_CONSOLES 4
#define LINE_MAX 512

int console_loglevel = LOG_INFO;

/* loglvl=debug|info|notice|warning|error or 0-7: what reaches the serial
 * console (everything always reaches the log ring). */
static bool parse_loglvl(const char *v)
{
    static const char *const names[] = { "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug" };
    if (!v)
        return false;
    if (!strcmp(v, "all")) {
        console_loglevel = LOG_DEBUG;
        return true;
    }
    for (int i = 0; i < 8; i++) {
        if (!strcmp(v, names[i]) || (v[0] == '0' + i && !v[1])) {
            console_loglevel = i;
            return true;
        }
    }
    return false;
}
custom_param("loglvl", parse_loglvl);

static struct console_dev *consoles[MAX_CONSOLES];
static unsigned nr_consoles;
static spinlock_t console_lock = SPINLOCK_INIT;
static bool emergency;

static char ring[LOG_RING_SIZE];
static uint64_t ring_head; /* total bytes ever written */
static uint64_t ring_tail; /* oldest byte still readable */
static bool at_line_start = true;

void console_register(struct console_dev *c)
{
    if (nr_consoles < MAX_CONSOLES)
        consoles[nr_consoles++] = c;
}

static void console_write_locked(const char *s, size_t n)
{
    for (unsigned i = 0; i < nr_consoles; i++)
        consoles[i]->write(consoles[i], s, n);
}

void console_write(const char *s, size_t n)
{
    unsigned long f = 0;
    if (!emergency)
        f = spin_lock_irqsave(&console_lock);
    console_write_locked(s, n);
    if (!emergency)
        spin_unlock_irqrestore(&console_lock, f);
}

int console_getc(void)
{
    for (unsigned i = 0; i < nr_consoles; i++) {
        if (consoles[i]->getc) {
            int c = consoles[i]->getc(consoles[i]);
            if (c >= 0)
                return c;
        }
    }
    return -1;
}

void console_flush(void)
{
    for (unsigned i = 0; i < nr_consoles; i++)
        if (consoles[i]->flush)
            consoles[i]->flush(consoles[i]);
}

void console_emergency_mode(void)
{
    emergency = true;
}

static void ring_put(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ring[(ring_head + i) % LOG_RING_SIZE] = s[i];
    ring_head += n;
    if (ring_head - ring_tail > LOG_RING_SIZE)
        ring_tail = ring_head - LOG_RING_SIZE;
}

__attribute__((weak)) uint64_t printk_clock_ns(void)
{
    return 0;
}

void vprintk(int level, const char *fmt, va_list ap)
{
    char line[LINE_MAX + 32];
    char body[LINE_MAX];
    size_t len = 0;
    unsigned long f = 0;

    int n = vsnprintf(body, sizeof(body), fmt, ap);
    size_t blen = n < 0 ? 0 : MIN((size_t)n, sizeof(body) - 1);

    if (!emergency)
        f = spin_lock_irqsave(&console_lock);
    /* Split into lines so every line carries its own timestamp. */
    for (size_t i = 0; i < blen;) {
        len = 0;
        if (at_line_start) {
            uint64_t ns = printk_clock_ns();
            len = (size_t)snprintf(line, sizeof(line), "[%4lu.%06lu] ", (unsigned long)(ns / 1000000000),
                                   (unsigned long)(ns / 1000 % 1000000));
        }
        size_t j = i;
        while (j < blen && body[j] != '\n')
            j++;
        bool nl = j < blen;
        size_t take = j - i + (nl ? 1 : 0);
        memcpy(line + len, body + i, take);
        len += take;
        at_line_start = nl;
        ring_put(line, len);
        if (level <= console_loglevel)
            console_write_locked(line, len);
        i += take;
    }
    if (!emergency)
        spin_unlock_irqrestore(&console_lock, f);
}

void printk(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(level, fmt, ap);
    va_end(ap);
}

struct log_read_result log_read(uint64_t from, char *buf, size_t len)
{
    struct log_read_result r = { 0, from, 0 };
    unsigned long f = spin_lock_irqsave(&console_lock);
    if (from < ring_tail) {
        r.lost = ring_tail - from;
        from = ring_tail;
    }
    if (from > ring_head)
        from = ring_head;
    size_t avail = (size_t)(ring_head - from);
    size_t n = MIN(avail, len);
    for (size_t i = 0; i < n; i++)
        buf[i] = ring[(from + i) % LOG_RING_SIZE];
    r.copied = n;
    r.next = from + n;
    spin_unlock_irqrestore(&console_lock, f);
    return r;
}

uint64_t log_head(void)
{
    return READ_ONCE(ring_head);
}

uint64_t log_tail(void)
{
    return READ_ONCE(ring_tail);
}

void log_clear(void)
{
    unsigned long f = spin_lock_irqsave(&console_lock);
    ring_tail = ring_head;
    spin_unlock_irqrestore(&console_lock, f);
}
