/* Boot manifest parsing.  Every line is checked on its own: a bad line is
 * reported and skipped, the others still describe domains. */
#include <keel/lib.h>
#include <keel/manifest.h>

#define LINE_MAX 4096

struct ctx {
    manifest_domain_fn on_domain;
    manifest_error_fn on_error;
    void *user;
    char names[2048][MANIFEST_NAME_MAX]; /* names seen on valid lines */
    unsigned nr_names;
    unsigned valid;
    bool control_seen;
};

static void error(struct ctx *c, unsigned line, const char *fmt, ...) __printf(3, 4);

static void error(struct ctx *c, unsigned line, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->on_error(line, msg, c->user);
}

bool manifest_detect(const char *text, size_t len)
{
    size_t n = strlen(MANIFEST_MAGIC);
    /* Skip leading comments and blank lines. */
    size_t i = 0;
    while (i < len) {
        while (i < len && (text[i] == ' ' || text[i] == '\t'))
            i++;
        if (i < len && (text[i] == '#' || text[i] == '\n')) {
            while (i < len && text[i] != '\n')
                i++;
            i++;
            continue;
        }
        break;
    }
    return len - i >= n && !memcmp(text + i, MANIFEST_MAGIC, n) &&
           (len - i == n || text[i + n] == '\n' || text[i + n] == ' ' || text[i + n] == '\r');
}

/* Next word of a line: unquoted, or a double-quoted string with \" and \\. */
static bool next_word(const char **p, char *out, size_t size, bool *error_out)
{
    const char *s = *p;
    size_t n = 0;
    bool quoted = false;
    while (*s == ' ' || *s == '\t')
        s++;
    if (!*s)
        return false;
    while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
        char ch = *s++;
        if (ch == '"') {
            quoted = !quoted;
            continue;
        }
        if (quoted && ch == '\\' && (*s == '"' || *s == '\\'))
            ch = *s++;
        if (n + 1 >= size) {
            *error_out = true;
            return false;
        }
        out[n++] = ch;
    }
    if (quoted) {
        *error_out = true;
        return false;
    }
    out[n] = '\0';
    *p = s;
    return true;
}

static bool parse_size(const char *v, uint64_t *bytes)
{
    uint64_t n;
    const char *end;
    if (!parse_u64(v, &end, &n, false))
        return false;
    uint64_t mult = MiB(1);
    if (*end == 'K' || *end == 'k')
        mult = KiB(1), end++;
    else if (*end == 'M' || *end == 'm')
        mult = MiB(1), end++;
    else if (*end == 'G' || *end == 'g')
        mult = GiB(1), end++;
    if (*end || n > UINT64_MAX / mult)
        return false;
    *bytes = n * mult;
    return true;
}

static bool parse_action(const char *v, enum domain_action *a)
{
    if (!strcmp(v, "destroy"))
        *a = ACTION_DESTROY;
    else if (!strcmp(v, "restart"))
        *a = ACTION_RESTART;
    else if (!strcmp(v, "preserve"))
        *a = ACTION_PRESERVE;
    else
        return false;
    return true;
}

static bool valid_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 63)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
              *s == '.' || *s == '-'))
            return false;
    return true;
}

static bool parse_uint(const char *v, uint64_t max, unsigned *out)
{
    uint64_t n;
    const char *end;
    if (!parse_u64(v, &end, &n, false) || *end || n > max)
        return false;
    *out = (unsigned)n;
    return true;
}

static void domain_line(struct ctx *c, unsigned line, const char *rest)
{
    static struct manifest_entry e;
    char word[2100];
    bool bad = false;
    uint64_t maxmem = 0;
    bool have_maxvcpus = false, have_mem = false;

    memset(&e, 0, sizeof(e));
    e.line = line;
    e.cfg.weight = 256;
    e.cfg.on_poweroff = ACTION_DESTROY;
    e.cfg.on_reboot = ACTION_RESTART;
    e.cfg.on_crash = ACTION_DESTROY;
    cpumask_fill(&e.cfg.affinity);
    e.vcpus = 1;

    while (next_word(&rest, word, sizeof(word), &bad)) {
        char *eq = strchr(word, '=');
        if (!eq) {
            error(c, line, "expected key=value, found '%.40s'", word);
            return;
        }
        *eq = '\0';
        const char *k = word, *v = eq + 1;
        if (!strcmp(k, "name")) {
            if (!valid_name(v)) {
                error(c, line, "bad name '%.70s' (1-63 of A-Z a-z 0-9 _ . -)", v);
                return;
            }
            strlcpy(e.cfg.name, v, sizeof(e.cfg.name));
        } else if (!strcmp(k, "kernel") || !strcmp(k, "ramdisk")) {
            if (!*v || strlen(v) >= MANIFEST_NAME_MAX) {
                error(c, line, "bad module name for %s", k);
                return;
            }
            strlcpy(!strcmp(k, "kernel") ? e.kernel : e.ramdisk, v, MANIFEST_NAME_MAX);
        } else if (!strcmp(k, "cmdline")) {
            if (strlen(v) >= sizeof(e.cmdline)) {
                error(c, line, "cmdline longer than %zu bytes", sizeof(e.cmdline) - 1);
                return;
            }
            strlcpy(e.cmdline, v, sizeof(e.cmdline));
        } else if (!strcmp(k, "memory") || !strcmp(k, "maxmem")) {
            uint64_t b;
            if (!parse_size(v, &b) || !b || b % MiB(1)) {
                error(c, line, "bad %s '%.40s' (a whole number of MiB, suffix K/M/G allowed)", k, v);
                return;
            }
            if (!strcmp(k, "memory")) {
                e.cfg.memory = b;
                have_mem = true;
            } else {
                maxmem = b;
            }
        } else if (!strcmp(k, "vcpus")) {
            if (!parse_uint(v, DOMAIN_MAX_VCPUS, &e.vcpus) || !e.vcpus) {
                error(c, line, "bad vcpus '%.40s' (1-%d)", v, DOMAIN_MAX_VCPUS);
                return;
            }
        } else if (!strcmp(k, "maxvcpus")) {
            if (!parse_uint(v, DOMAIN_MAX_VCPUS, &e.cfg.max_vcpus) || !e.cfg.max_vcpus) {
                error(c, line, "bad maxvcpus '%.40s' (1-%d)", v, DOMAIN_MAX_VCPUS);
                return;
            }
            have_maxvcpus = true;
        } else if (!strcmp(k, "cpus")) {
            if (!cpumask_parse(v, &e.cfg.affinity)) {
                error(c, line, "bad cpus '%.40s' (xl syntax such as all, 0-3,^1)", v);
                return;
            }
        } else if (!strcmp(k, "weight")) {
            if (!parse_uint(v, 65535, &e.cfg.weight) || !e.cfg.weight) {
                error(c, line, "bad weight '%.40s' (1-65535)", v);
                return;
            }
        } else if (!strcmp(k, "cap")) {
            if (!parse_uint(v, 12800, &e.cfg.cap)) {
                error(c, line, "bad cap '%.40s' (percent of one CPU, 0 = none)", v);
                return;
            }
        } else if (!strcmp(k, "control")) {
            if (strcmp(v, "0") && strcmp(v, "1")) {
                error(c, line, "bad control '%.40s' (0 or 1)", v);
                return;
            }
            e.cfg.is_control = v[0] == '1';
        } else if (!strcmp(k, "on_poweroff") || !strcmp(k, "on_reboot") || !strcmp(k, "on_crash")) {
            enum domain_action *a = !strcmp(k, "on_poweroff") ? &e.cfg.on_poweroff
                                    : !strcmp(k, "on_reboot") ? &e.cfg.on_reboot
                                                              : &e.cfg.on_crash;
            if (!parse_action(v, a)) {
                error(c, line, "bad %s '%.40s' (destroy, restart or preserve)", k, v);
                return;
            }
        } else {
            error(c, line, "unknown key '%.40s'", k);
            return;
        }
    }
    if (bad) {
        error(c, line, "unterminated quote or over-long value");
        return;
    }
    if (!e.cfg.name[0]) {
        error(c, line, "missing name=");
        return;
    }
    if (!e.kernel[0]) {
        error(c, line, "domain '%s': missing kernel=", e.cfg.name);
        return;
    }
    if (!have_mem) {
        error(c, line, "domain '%s': missing memory=", e.cfg.name);
        return;
    }
    e.cfg.max_memory = maxmem ? maxmem : e.cfg.memory;
    if (e.cfg.max_memory < e.cfg.memory) {
        error(c, line, "domain '%s': maxmem is below memory", e.cfg.name);
        return;
    }
    if (!have_maxvcpus)
        e.cfg.max_vcpus = e.vcpus;
    if (e.vcpus > e.cfg.max_vcpus) {
        error(c, line, "domain '%s': vcpus (%u) above maxvcpus (%u)", e.cfg.name, e.vcpus, e.cfg.max_vcpus);
        return;
    }
    for (unsigned i = 0; i < c->nr_names; i++) {
        if (!strcmp(c->names[i], e.cfg.name)) {
            error(c, line, "duplicate domain name '%s'", e.cfg.name);
            return;
        }
    }
    if (e.cfg.is_control && c->control_seen) {
        error(c, line, "domain '%s': a second control domain", e.cfg.name);
        return;
    }
    c->control_seen |= e.cfg.is_control;
    if (c->nr_names < ARRAY_SIZE(c->names))
        strlcpy(c->names[c->nr_names++], e.cfg.name, MANIFEST_NAME_MAX);
    c->valid++;
    c->on_domain(&e, c->user);
}

unsigned manifest_parse(const char *text, size_t len, manifest_domain_fn on_domain, manifest_error_fn on_error,
                        void *user)
{
    static struct ctx c;
    static char line[LINE_MAX];
    unsigned lineno = 0;
    bool magic = false;

    memset(&c, 0, sizeof(c));
    c.on_domain = on_domain;
    c.on_error = on_error;
    c.user = user;
    for (size_t i = 0; i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n')
            j++;
        lineno++;
        size_t n = j - i;
        i = j + 1;
        if (n >= sizeof(line)) {
            error(&c, lineno, "line longer than %d bytes", LINE_MAX - 1);
            continue;
        }
        memcpy(line, text + i - n - 1, n);
        line[n] = '\0';
        if (n && line[n - 1] == '\r')
            line[--n] = '\0';
        const char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s || *s == '#')
            continue;
        if (!magic) {
            if (strncmp(s, MANIFEST_MAGIC, strlen(MANIFEST_MAGIC))) {
                error(&c, lineno, "the first line must be '%s'", MANIFEST_MAGIC);
                return 0;
            }
            magic = true;
            continue;
        }
        if (strncmp(s, "domain", 6) || (s[6] != ' ' && s[6] != '\t')) {
            error(&c, lineno, "expected 'domain key=value ...'");
            continue;
        }
        domain_line(&c, lineno, s + 6);
    }
    return c.valid;
}
