/* Test reporting, the end of a test, and expected faults. */
#ifndef RT_TEST_H
#define RT_TEST_H

#include <stdbool.h>
#include <stdint.h>

#include "lib.h"

struct hvm_start_info;

/* Every test kernel defines this.  si is NULL when EBX did not point at a
 * valid start info (wrong magic).  Returning ends the test (see README). */
void test_main(const struct hvm_start_info *si);

/* One line each: "PASS: ...", "FAIL: ...", "SKIP: ...".  A failure makes the
 * result FAILURE; a skip makes it SKIP unless something failed or passed. */
void report_pass(const char *fmt, ...) PRINTF_LIKE(1, 2);
void report_fail(const char *fmt, ...) PRINTF_LIKE(1, 2);
void report_skip(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* report(cond, ...): PASS or FAIL depending on cond; returns cond. */
bool report(bool cond, const char *fmt, ...) PRINTF_LIKE(2, 3);

/* check(cond, ...): silent when cond holds, otherwise a FAIL line naming
 * the source line.  Evaluates to cond so a test can stop early. */
bool check_failed(const char *file, int line, const char *fmt, ...) PRINTF_LIKE(3, 4);
#define check(cond, ...) ((cond) ? true : check_failed(__FILE__, __LINE__, __VA_ARGS__))

enum test_result { TEST_SUCCESS, TEST_FAILURE, TEST_SKIP, TEST_ERROR };

/* End the test now, from any vCPU, with the result the reports so far give
 * (what returning from test_main does). */
__attribute__((noreturn)) void test_finish(void);

/* End the test now with "Test result: ERROR" (an internal error of the test,
 * not a failure of what it tests): prints the message, shuts down as crash. */
__attribute__((noreturn)) void test_error(const char *fmt, ...) PRINTF_LIKE(1, 2);

/* --- Expected faults ------------------------------------------------------ */

#define NO_FAULT (-1)

struct fault_info {
    int vector;                /* X86_EXC_*, or NO_FAULT */
    unsigned long error_code;  /* 0 for vectors without one */
    unsigned long ip;          /* where it faulted */
    unsigned long cr2;         /* #PF only */
};

/* Call fn(arg); if it raises an exception, abandon it (its stack frames are
 * dropped, as with longjmp) and return the vector; if it returns, return
 * NO_FAULT.  fi, if not NULL, receives the details.  Interrupts are restored
 * to their state at the call.  Nests, and works on every vCPU. */
int run_expecting_fault(void (*fn)(void *), void *arg, struct fault_info *fi);

/* Access MSRs that may not exist: false (and *val = 0) on #GP (or any
 * other exception).  Note QEMU's TCG returns 0 for unknown MSRs, no #GP. */
bool rdmsr_checked(uint32_t msr, uint64_t *val);
bool wrmsr_checked(uint32_t msr, uint64_t val);

/* Whether reading a byte at p works (false on #PF or any exception). */
bool probe_read(const volatile void *p);

/* Name of an exception vector ("#GP"), or "IRQ" for vectors >= 32. */
const char *exception_name(unsigned vector);

#endif
