/* sources: hv/c/core/cmdline.c hv/c/lib/string.c */
#include <string.h>

#include "shim.h"

#include <keel/cmdline.h>
#include <keel/printk.h>

static bool flag_a, flag_b = true;
static uint64_t num, size;
static char str[8];
static const char *custom_seen;
static int custom_calls;

static bool custom(const char *v)
{
    custom_calls++;
    custom_seen = v;
    return !v || strcmp(v, "bad");
}

static const struct kparam table[] = {
    { "a", KP_BOOL, &flag_a, 0, NULL },
    { "b", KP_BOOL, &flag_b, 0, NULL },
    { "num", KP_UINT, &num, 0, NULL },
    { "size", KP_SIZE, &size, 0, NULL },
    { "str", KP_STR, str, sizeof(str), NULL },
    { "custom", KP_CUSTOM, NULL, 0, custom },
};

static void warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprintk(LOG_WARNING, fmt, ap);
    va_end(ap);
}

static unsigned parse(const char *s)
{
    shim_log_clear();
    return cmdline_parse(s, table, sizeof(table) / sizeof(table[0]), warn);
}

void run_tests(void)
{
    CHECK_EQ(parse("a no-b num=0x10 size=2M str=abc"), 0);
    CHECK(flag_a);
    CHECK(!flag_b);
    CHECK_EQ(num, 16);
    CHECK_EQ(size, 2 << 20);
    CHECK(!strcmp(str, "abc"));

    CHECK_EQ(parse("a=off b=yes num=017 size=4096"), 0);
    CHECK(!flag_a);
    CHECK(flag_b);
    CHECK_EQ(num, 15);
    CHECK_EQ(size, 4096);

    /* Unknown options and bad values warn and change nothing. */
    CHECK_EQ(parse("bogus=1 num=12x size=99999999999999999999T str=toolongvalue a=maybe"), 5);
    CHECK(strstr(shim_log(), "unknown option 'bogus=1'") != NULL);
    CHECK(strstr(shim_log(), "bad value for 'num'") != NULL);
    CHECK(strstr(shim_log(), "bad value for 'str'") != NULL);
    CHECK_EQ(num, 15);
    CHECK(!strcmp(str, "abc"));

    /* Quoting keeps spaces inside a value; extra blanks are ignored. */
    CHECK_EQ(parse("   custom=\"x y\"   custom  "), 0);
    CHECK_EQ(custom_calls, 2);
    CHECK(custom_seen == NULL);
    CHECK_EQ(parse("custom=bad"), 1);

    /* A negated non-boolean is a bad value, not a silent no-op. */
    CHECK_EQ(parse("no-num"), 1);
    CHECK_EQ(parse(""), 0);
}
