/* Host replacements for the hypervisor services the tested sources use. */
#include <stdarg.h>
#include <string.h>

#include "shim.h"

#include <keel/panic.h>
#include <keel/printk.h>

int shim_failures;
int shim_checks;
static char logbuf[1 << 16];
static size_t loglen;
static int logwarnings;

int console_loglevel = LOG_DEBUG;

void vprintk(int level, const char *fmt, va_list ap)
{
    char line[1024];
    if (level <= LOG_WARNING)
        logwarnings++;
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    if (loglen + len < sizeof(logbuf)) {
        memcpy(logbuf + loglen, line, len);
        loglen += len;
        logbuf[loglen] = '\0';
    }
    if (getenv("SHIM_VERBOSE"))
        fputs(line, stderr);
}

void printk(int level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(level, fmt, ap);
    va_end(ap);
}

const char *shim_log(void)
{
    return logbuf;
}

int shim_log_warnings(void)
{
    return logwarnings;
}

void shim_log_clear(void)
{
    logwarnings = 0;
    loglen = 0;
    logbuf[0] = '\0';
}

void panic(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PANIC_MARKER ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

int main(void)
{
    run_tests();
    printf("%d checks, %d failures\n", shim_checks, shim_failures);
    return shim_failures ? 1 : 0;
}
