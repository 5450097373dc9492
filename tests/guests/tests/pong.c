/* The other half of the ping-pong demo (examples/pong.cfg); a placeholder
 * like ping.c until event channels exist. */
#include "keel_test.h"

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    printf("pong: up (command line \"%s\")\n", test_cmdline);
    report_pass("pong placeholder");
}
