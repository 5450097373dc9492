/*
 * A CPU-bound loop for scheduler fairness tests: count= iterations of a
 * little arithmetic (no exits), one progress line every every= iterations:
 *
 *   cpuloop: tag=<tag> n=<iterations done> tsc=<TSC now>
 *
 * Options: count= (default 10000000), every= (default 1000000), tag= (a
 * name telling several domains apart in one log; default "cpuloop").
 */
#include "keel_test.h"

void test_main(const struct hvm_start_info *si)
{
    unsigned long long count = cmdline_ull("count", 10000000);
    unsigned long long every = cmdline_ull("every", 1000000);
    char tag[32] = "cpuloop";
    (void)si;

    cmdline_str("tag", tag, sizeof(tag));
    if (!every)
        every = count ? count : 1;
    printf("cpuloop: tag=%s count=%llu every=%llu\n", tag, count, every);

    uint64_t t0 = rdtsc(), x = 1;
    unsigned long long until_print = every;
    for (unsigned long long n = 1; n <= count; n++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL; /* keeps the ALU busy */
        __asm__ volatile("" : "+r"(x));                          /* and the loop alive */
        if (--until_print == 0) {
            until_print = every;
            printf("cpuloop: tag=%s n=%llu tsc=%llu\n", tag, n, (unsigned long long)rdtsc());
        }
    }
    printf("cpuloop: tag=%s done in %llu TSC cycles\n", tag, (unsigned long long)(rdtsc() - t0));
    report_pass("cpuloop %s: %llu iterations", tag, count);
}
