/* Host unit tests: a tiny assertion framework shared by every test program. */
#ifndef HOST_SHIM_H
#define HOST_SHIM_H

#include <stdio.h>
#include <stdlib.h>

extern int shim_failures;
extern int shim_checks;

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        shim_checks++;                                                                                                 \
        if (!(cond)) {                                                                                                 \
            shim_failures++;                                                                                           \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                                   \
        }                                                                                                              \
    } while (0)

#define CHECK_EQ(a, b)                                                                                                 \
    do {                                                                                                               \
        long long _a = (long long)(a), _b = (long long)(b);                                                            \
        shim_checks++;                                                                                                 \
        if (_a != _b) {                                                                                                \
            shim_failures++;                                                                                           \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s == %s (%lld != %lld)\n", __FILE__, __LINE__, #a, #b, _a, _b);  \
        }                                                                                                              \
    } while (0)

/* Everything printk'd since the last call (tests check warnings). */
const char *shim_log(void);
void shim_log_clear(void);
/* How many messages at LOG_WARNING or more severe were printk'd since the
 * last shim_log_clear(). */
int shim_log_warnings(void);

/* Each test program defines run_tests(); main() reports the totals and
 * exits non-zero on any failure. */
void run_tests(void);

#endif
