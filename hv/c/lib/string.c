#include <keel/lib.h>

/* rep stosq / rep movsq for the bulk, then bytes: fast on current CPUs, and
 * one instruction per 8 bytes for an instruction-counting emulator. */
void *memset(void *s, int c, size_t n)
{
    void *d = s;
    size_t q = n / 8;
    uint64_t pattern = 0x0101010101010101ULL * (uint8_t)c;
    n %= 8;
    __asm__ __volatile__("rep stosq" : "+D"(d), "+c"(q) : "a"(pattern) : "memory");
    __asm__ __volatile__("rep stosb" : "+D"(d), "+c"(n) : "a"(c) : "memory");
    return s;
}

void *memcpy(void *dst, const void *src, size_t n)
{
    void *d = dst;
    size_t q = n / 8;
    n %= 8;
    __asm__ __volatile__("rep movsq" : "+D"(d), "+S"(src), "+c"(q) : : "memory");
    __asm__ __volatile__("rep movsb" : "+D"(d), "+S"(src), "+c"(n) : : "memory");
    return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s) {
        while (n--)
            *d++ = *s++;
    } else {
        d += n;
        s += n;
        while (n--)
            *--d = *--s;
    }
    return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            return 0;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

bool parse_u64(const char *s, const char **end, uint64_t *out, bool allow_suffix)
{
    unsigned base = 10;
    uint64_t v = 0;
    const char *p = s;
    bool any = false;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    } else if (p[0] == '0' && p[1] >= '0' && p[1] <= '7') {
        base = 8;
        p++;
    }
    for (;; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (*p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (*p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (d >= base)
            break;
        if (v > (UINT64_MAX - d) / base)
            return false;
        v = v * base + d;
        any = true;
    }
    if (!any)
        return false;
    if (allow_suffix) {
        unsigned shift = 0;
        switch (*p) {
        case 'k': case 'K': shift = 10; break;
        case 'm': case 'M': shift = 20; break;
        case 'g': case 'G': shift = 30; break;
        case 't': case 'T': shift = 40; break;
        default: break;
        }
        if (shift) {
            if (v > (UINT64_MAX >> shift))
                return false;
            v <<= shift;
            p++;
        }
    }
    if (end)
        *end = p;
    *out = v;
    return true;
}
