/* xl-style CPU lists: "all", "3", "0-3", "0-3,^1", "^2" (all but 2). */
#include <keel/cpumask.h>
#include <keel/lib.h>

bool cpumask_parse(const char *s, cpumask_t *out)
{
    cpumask_t m;
    cpumask_clear(&m);
    bool any_positive = false, first = true;

    if (!strcmp(s, "all")) {
        cpumask_fill(out);
        return true;
    }
    while (*s) {
        bool neg = false;
        if (*s == '^') {
            neg = true;
            s++;
        }
        uint64_t lo, hi;
        const char *end;
        if (!strncmp(s, "all", 3)) {
            lo = 0;
            hi = CPUMASK_BITS - 1;
            end = s + 3;
        } else {
            if (!parse_u64(s, &end, &lo, false) || lo >= CPUMASK_BITS)
                return false;
            hi = lo;
            if (*end == '-') {
                if (!parse_u64(end + 1, &end, &hi, false) || hi >= CPUMASK_BITS || hi < lo)
                    return false;
            }
        }
        if (first && neg)
            cpumask_fill(&m); /* a list starting with ^ excludes from all */
        first = false;
        for (uint64_t c = lo; c <= hi; c++) {
            if (neg)
                cpumask_unset(&m, (unsigned)c);
            else
                cpumask_set(&m, (unsigned)c);
        }
        any_positive |= !neg;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return false;
    }
    (void)any_positive;
    if (cpumask_empty(&m))
        return false;
    *out = m;
    return true;
}
