/* The boot manifest (docs/boot-manifest.md): which domains to build at boot. */
#ifndef KEEL_MANIFEST_H
#define KEEL_MANIFEST_H

#include <keel/domain.h>

#define MANIFEST_MAGIC "keel-manifest 1"
#define MANIFEST_NAME_MAX 64

struct manifest_entry {
    unsigned line;
    struct domain_config cfg;
    unsigned vcpus;                  /* online at start */
    char kernel[MANIFEST_NAME_MAX];  /* module names */
    char ramdisk[MANIFEST_NAME_MAX];
    char cmdline[2048];
};

typedef void (*manifest_domain_fn)(const struct manifest_entry *e, void *ctx);
typedef void (*manifest_error_fn)(unsigned line, const char *msg, void *ctx);

/* Is this module a manifest (first line is the magic)? */
bool manifest_detect(const char *text, size_t len);
/* Parse: each valid domain line calls on_domain; each bad line calls
 * on_error with its line number and what is wrong.  Returns the number of
 * valid domains. */
unsigned manifest_parse(const char *text, size_t len, manifest_domain_fn on_domain, manifest_error_fn on_error,
                        void *ctx);

#endif
