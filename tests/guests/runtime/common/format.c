/*
 * The formatter: %d %i %u %x %X %p %s %c %%, flags '-', '0' and '#', width
 * (digits or '*'), precision for %s, length modifiers hh h l ll z.  It
 * streams into a sink so printf needs no big buffer.
 */
#include "rt.h"

struct spec {
    bool left, zero, alt;
    int width, precision; /* precision < 0: none */
};

static void pad(format_sink_t sink, void *ctx, char c, int n)
{
    while (n-- > 0)
        sink(ctx, &c, 1);
}

static void emit_field(format_sink_t sink, void *ctx, const struct spec *sp, const char *prefix, const char *s,
                       size_t n)
{
    size_t plen = strlen(prefix);
    int fill = sp->width - (int)(n + plen);

    if (sp->left) {
        sink(ctx, prefix, plen);
        sink(ctx, s, n);
        pad(sink, ctx, ' ', fill);
    } else if (sp->zero) {
        sink(ctx, prefix, plen); /* "-0042", "0x00ff" */
        pad(sink, ctx, '0', fill);
        sink(ctx, s, n);
    } else {
        pad(sink, ctx, ' ', fill);
        sink(ctx, prefix, plen);
        sink(ctx, s, n);
    }
}

static void emit_number(format_sink_t sink, void *ctx, const struct spec *sp, unsigned long long v, unsigned base,
                        bool upper, const char *prefix)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = sizeof(tmp);

    do {
        /* Hex by shifting: no 64-bit division helper needed for it. */
        unsigned d = base == 16 ? (unsigned)(v & 15) : (unsigned)(v % base);
        tmp[--n] = digits[d];
        v = base == 16 ? v >> 4 : v / base;
    } while (v);
    emit_field(sink, ctx, sp, prefix, tmp + n, sizeof(tmp) - n);
}

void vformat(format_sink_t sink, void *ctx, const char *fmt, va_list ap)
{
    while (*fmt) {
        const char *plain = fmt;
        while (*fmt && *fmt != '%')
            fmt++;
        if (fmt != plain)
            sink(ctx, plain, fmt - plain);
        if (!*fmt)
            break;
        fmt++; /* '%' */

        struct spec sp = { .precision = -1 };
        for (;; fmt++) {
            if (*fmt == '-')
                sp.left = true;
            else if (*fmt == '0')
                sp.zero = true;
            else if (*fmt == '#')
                sp.alt = true;
            else
                break;
        }
        if (*fmt == '*') {
            sp.width = va_arg(ap, int);
            if (sp.width < 0) {
                sp.left = true;
                sp.width = -sp.width;
            }
            fmt++;
        } else {
            while (*fmt >= '0' && *fmt <= '9')
                sp.width = sp.width * 10 + (*fmt++ - '0');
        }
        if (*fmt == '.') {
            fmt++;
            sp.precision = 0;
            if (*fmt == '*') {
                sp.precision = va_arg(ap, int);
                fmt++;
            } else {
                while (*fmt >= '0' && *fmt <= '9')
                    sp.precision = sp.precision * 10 + (*fmt++ - '0');
            }
        }
        int longs = 0; /* -2 hh, -1 h, 1 l, 2 ll, 3 z */
        for (;; fmt++) {
            if (*fmt == 'l')
                longs++;
            else if (*fmt == 'h')
                longs--;
            else if (*fmt == 'z')
                longs = 3;
            else
                break;
        }

        char conv = *fmt ? *fmt++ : '\0';
        unsigned long long u;
        switch (conv) {
        case 'd':
        case 'i': {
            long long s;
            if (longs >= 2)
                s = longs == 3 ? (long long)va_arg(ap, long) : va_arg(ap, long long);
            else if (longs == 1)
                s = va_arg(ap, long);
            else
                s = longs == -2 ? (signed char)va_arg(ap, int) : longs == -1 ? (short)va_arg(ap, int) : va_arg(ap, int);
            u = s < 0 ? -(unsigned long long)s : (unsigned long long)s;
            emit_number(sink, ctx, &sp, u, 10, false, s < 0 ? "-" : "");
            break;
        }
        case 'u':
        case 'x':
        case 'X':
            if (longs == 2)
                u = va_arg(ap, unsigned long long);
            else if (longs == 1 || longs == 3)
                u = va_arg(ap, unsigned long);
            else
                u = longs == -2 ? (unsigned char)va_arg(ap, unsigned) : longs == -1 ? (unsigned short)va_arg(ap, unsigned) : va_arg(ap, unsigned);
            emit_number(sink, ctx, &sp, u, conv == 'u' ? 10 : 16, conv == 'X',
                        sp.alt && u && conv != 'u' ? (conv == 'X' ? "0X" : "0x") : "");
            break;
        case 'p':
            emit_number(sink, ctx, &sp, (uintptr_t)va_arg(ap, void *), 16, false, "0x");
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            sp.zero = false;
            emit_field(sink, ctx, &sp, "", &c, 1);
            break;
        }
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            sp.zero = false;
            emit_field(sink, ctx, &sp, "", s, sp.precision >= 0 ? strnlen(s, sp.precision) : strlen(s));
            break;
        }
        case '%':
            sink(ctx, "%", 1);
            break;
        default: /* unknown: print it as written so the mistake shows */
            sink(ctx, "%", 1);
            if (conv)
                sink(ctx, &conv, 1);
            break;
        }
    }
}

struct buf_ctx {
    char *buf;
    size_t size, len;
};

static void buf_sink(void *ctx, const char *s, size_t n)
{
    struct buf_ctx *b = ctx;
    for (size_t i = 0; i < n; i++, b->len++)
        if (b->len + 1 < b->size)
            b->buf[b->len] = s[i];
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    struct buf_ctx b = { buf, size, 0 };
    vformat(buf_sink, &b, fmt, ap);
    if (size)
        buf[b.len < size ? b.len : size - 1] = '\0';
    return (int)b.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
