/*
 * Hypervisor command-line options.  Each option is declared next to the code
 * that uses it and collected in the .kparams section; docs/cmdline.md lists
 * them.  Unknown options and bad values are warned about, never fatal.
 */
#ifndef KEEL_CMDLINE_H
#define KEEL_CMDLINE_H

#include <keel/types.h>

enum kparam_type { KP_BOOL, KP_UINT, KP_SIZE, KP_STR, KP_CUSTOM };

struct kparam {
    const char *name;
    enum kparam_type type;
    void *var;        /* bool *, uint64_t *, or char[len] */
    size_t len;       /* KP_STR buffer size */
    bool (*custom)(const char *val); /* KP_CUSTOM; val is NULL for a bare word */
};

#define KPARAM_DEFINE(id, n, t, v, l, fn)                                                                              \
    static const struct kparam __kparam_##id __attribute__((used, section(".kparams"), aligned(8))) = { n, t, v, l, fn }

#define boolean_param(name, var) KPARAM_DEFINE(var, name, KP_BOOL, &(var), 0, NULL)
#define integer_param(name, var) KPARAM_DEFINE(var, name, KP_UINT, &(var), 0, NULL)
#define size_param(name, var) KPARAM_DEFINE(var, name, KP_SIZE, &(var), 0, NULL)
#define string_param(name, var) KPARAM_DEFINE(var, name, KP_STR, (var), sizeof(var), NULL)
#define custom_param(name, fn) KPARAM_DEFINE(fn, name, KP_CUSTOM, NULL, 0, fn)

typedef void (*cmdline_warn_fn)(const char *fmt, ...);

/* Apply every option in cmdline.  Returns the number of problems warned about. */
unsigned cmdline_parse(const char *cmdline, const struct kparam *table, size_t n, cmdline_warn_fn warn);

/* Parse the boot command line against all registered options. */
void cmdline_apply(const char *cmdline);

#endif
