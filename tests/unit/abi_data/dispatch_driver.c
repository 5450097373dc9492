/*
 * Test driver for a generated abi_dispatch.c (tests/unit/test_abi_dispatch.py).
 *
 * Built with -DSMALL_ABI_HANDLERS against the outputs of small.abi, it
 * defines handlers for ping, adjust, ctl and mixed that print their
 * arguments; do_nop is left undefined so that the weak default from
 * abi_dispatch.c runs.  Built without it (for any spec), every handler is
 * the weak default.
 *
 *   dispatch_driver table   print abi_hypercalls[]: one line per slot
 *   dispatch_driver         read calls from stdin, one per line:
 *                               NR CONTROL COMPAT [ARG...]  (at most 6 args)
 *                           and print, for each, the handler lines then
 *                           "ret VALUE"
 *
 * Numbers are read with strtoull(..., 0), so hex needs 0x.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abi.h"

struct vcpu {
    int id;
};

#ifdef SMALL_ABI_HANDLERS
long do_ping(struct vcpu *v, uint64_t value, uint32_t tag)
{
    printf("do_ping vcpu=%d value=0x%" PRIx64 " tag=0x%" PRIx32 "\n", v->id, value, tag);
    return 1003;
}

long do_adjust(struct vcpu *v, int64_t delta, uint64_t addr, abi_gva_t buf)
{
    printf("do_adjust vcpu=%d delta=%" PRId64 " addr=0x%" PRIx64 " buf=0x%" PRIx64 "\n", v->id, delta, addr, buf);
    return 1004;
}

long do_ctl(struct vcpu *v, uint32_t cmd, abi_gva_t buf)
{
    printf("do_ctl vcpu=%d cmd=%" PRIu32 " buf=0x%" PRIx64 "\n", v->id, cmd, buf);
    return 1007;
}

long do_mixed(struct vcpu *v, uint32_t cmd, abi_gva_t arg)
{
    printf("do_mixed vcpu=%d cmd=%" PRIu32 " arg=0x%" PRIx64 "\n", v->id, cmd, arg);
    return 1008;
}
#endif

static void print_table(void)
{
    for (unsigned int nr = 0; nr < ABI_NR_HYPERCALL_SLOTS; nr++) {
        const struct abi_hypercall_desc *d = &abi_hypercalls[nr];

        if (!d->call) {
            printf("%u -\n", nr);
            continue;
        }
        printf("%u %s nargs=%u policy=%u subops=", nr, d->name, (unsigned int)d->nargs, (unsigned int)d->policy);
        for (unsigned int i = 0; i < d->nr_subops; i++)
            printf("%s%s:%" PRIu32 ":%u", i ? "," : "", d->subops[i].name, d->subops[i].number,
                   (unsigned int)d->subops[i].policy);
        printf("\n");
    }
}

int main(int argc, char **argv)
{
    char line[1024];
    struct vcpu vcpu = { 1 };

    if (argc == 2 && strcmp(argv[1], "table") == 0) {
        print_table();
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [table] < calls\n", argv[0]);
        return 2;
    }
    while (fgets(line, sizeof(line), stdin)) {
        uint64_t words[9];
        uint64_t args[6] = { 0 };
        int n = 0;
        char *end;

        for (char *p = strtok(line, " \t\n"); p; p = strtok(NULL, " \t\n")) {
            if (n == 9) {
                fprintf(stderr, "too many numbers\n");
                return 2;
            }
            words[n++] = strtoull(p, &end, 0);
            if (*end) {
                fprintf(stderr, "bad number %s\n", p);
                return 2;
            }
        }
        if (n == 0)
            continue;
        if (n < 3) {
            fprintf(stderr, "need NR CONTROL COMPAT\n");
            return 2;
        }
        memcpy(args, &words[3], (size_t)(n - 3) * sizeof(args[0]));
        printf("ret %ld\n", abi_dispatch(&vcpu, words[0], args, (int)words[1], (int)words[2]));
        fflush(stdout);
    }
    return 0;
}
