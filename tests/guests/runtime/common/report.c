/*
 * Results and the end of a test.  The last line is the conventional
 * "Test result: SUCCESS|FAILURE|SKIP|ERROR" (Xen Test Framework), then
 * sched_op shutdown (poweroff; crash for ERROR) on a hypervisor, or the
 * isa-debug-exit port (and Bochs' shutdown port) natively.
 */
#include "rt.h"

static unsigned long nr_pass, nr_fail, nr_skip;

static void vreport(const char *tag, unsigned long *counter, const char *fmt, va_list ap)
{
    char msg[200];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    printf("%s: %s\n", tag, msg);
}

void report_pass(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("PASS", &nr_pass, fmt, ap);
    va_end(ap);
}

void report_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("FAIL", &nr_fail, fmt, ap);
    va_end(ap);
}

void report_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport("SKIP", &nr_skip, fmt, ap);
    va_end(ap);
}

bool report(bool cond, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(cond ? "PASS" : "FAIL", cond ? &nr_pass : &nr_fail, fmt, ap);
    va_end(ap);
    return cond;
}

bool check_failed(const char *file, int line, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    report_fail("%s (%s:%d)", msg, file, line);
    return false;
}

static enum test_result current_result(void)
{
    if (nr_fail)
        return TEST_FAILURE;
    if (nr_skip && !nr_pass)
        return TEST_SKIP;
    return TEST_SUCCESS;
}

void test_finish(void)
{
    test_end(current_result());
}

void test_error(const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printf("ERROR: %s\n", msg);
    test_end(TEST_ERROR);
}

static const char *const result_names[] = {
    [TEST_SUCCESS] = "SUCCESS",
    [TEST_FAILURE] = "FAILURE",
    [TEST_SKIP] = "SKIP",
    [TEST_ERROR] = "ERROR",
};

static const uint8_t exit_codes[] = {
    [TEST_SUCCESS] = EXIT_SUCCESS_CODE,
    [TEST_FAILURE] = EXIT_FAILURE_CODE,
    [TEST_SKIP] = EXIT_SKIP_CODE,
    [TEST_ERROR] = EXIT_ERROR_CODE,
};

void test_end(enum test_result r)
{
    static int ended;

    /* Only the first vCPU to end the test reports; the others wait for the
     * shutdown it is about to cause. */
    if (__atomic_exchange_n(&ended, 1, __ATOMIC_ACQ_REL))
        halt();

    printf("Test result: %s\n", result_names[r]);
    if (hypervisor.present) {
        long rc = sched_shutdown(r == TEST_ERROR ? SHUTDOWN_crash : SHUTDOWN_poweroff);
        printf("sched_op shutdown returned %ld; trying the exit ports\n", rc);
    }
    outl(EXIT_PORT, exit_codes[r]);
    /* Bochs ends the simulation on "Shutdown" written to port 0x8900. */
    for (const char *s = "Shutdown"; *s; s++)
        outb(0x8900, (uint8_t)*s);
    halt();
}
