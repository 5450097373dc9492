/* The boot command line applied to every option registered in .kparams. */
#include <keel/cmdline.h>
#include <keel/printk.h>

extern const struct kparam __kparam_start[], __kparam_end[];

static void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(LOG_WARNING, fmt, ap);
    va_end(ap);
}

void cmdline_apply(const char *cmdline)
{
    cmdline_parse(cmdline, __kparam_start, (size_t)(__kparam_end - __kparam_start), warn);
}
