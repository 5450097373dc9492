/* Command-line parsing: "name", "name=value", "no-name", quoted values. */
#include <keel/cmdline.h>
#include <keel/lib.h>

#define TOKEN_MAX 256

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "1", "yes", "true", "on", "enable" };
    static const char *const no[] = { "0", "no", "false", "off", "disable" };
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (!strcmp(v, yes[i])) {
            *out = true;
            return true;
        }
        if (!strcmp(v, no[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

static const struct kparam *lookup(const struct kparam *t, size_t n, const char *name, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(t[i].name) == len && !strncmp(t[i].name, name, len))
            return &t[i];
    return NULL;
}

static bool apply(const struct kparam *p, const char *val, bool negated)
{
    uint64_t u;
    const char *end;

    switch (p->type) {
    case KP_BOOL:
        if (!val) {
            *(bool *)p->var = !negated;
            return true;
        }
        return !negated && parse_bool(val, (bool *)p->var);
    case KP_UINT:
    case KP_SIZE:
        if (!val || negated || !parse_u64(val, &end, &u, p->type == KP_SIZE) || *end)
            return false;
        *(uint64_t *)p->var = u;
        return true;
    case KP_STR:
        if (!val || negated || strlen(val) >= p->len)
            return false;
        strlcpy(p->var, val, p->len);
        return true;
    case KP_CUSTOM:
        return !negated && p->custom(val);
    }
    return false;
}

unsigned cmdline_parse(const char *s, const struct kparam *table, size_t n, cmdline_warn_fn warn)
{
    unsigned problems = 0;
    char tok[TOKEN_MAX];

    while (*s) {
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            break;
        size_t len = 0;
        bool quoted = false, overflow = false;
        for (; *s && (quoted || (*s != ' ' && *s != '\t')); s++) {
            if (*s == '"') {
                quoted = !quoted;
                continue;
            }
            if (len + 1 < sizeof(tok))
                tok[len++] = *s;
            else
                overflow = true;
        }
        tok[len] = '\0';
        if (overflow) {
            warn("cmdline: option '%.32s...' is too long, ignored\n", tok);
            problems++;
            continue;
        }
        char *eq = strchr(tok, '=');
        size_t name_len = eq ? (size_t)(eq - tok) : len;
        const char *val = eq ? eq + 1 : NULL;
        const struct kparam *p = lookup(table, n, tok, name_len);
        bool negated = false;
        if (!p && name_len > 3 && !strncmp(tok, "no-", 3)) {
            p = lookup(table, n, tok + 3, name_len - 3);
            negated = p != NULL;
        }
        if (!p) {
            warn("cmdline: unknown option '%s' ignored\n", tok);
            problems++;
            continue;
        }
        if (!apply(p, val, negated)) {
            warn("cmdline: bad value for '%s' in '%s', ignored\n", p->name, tok);
            problems++;
        }
    }
    return problems;
}
