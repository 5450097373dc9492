/* The smallest test: greet, show the command line, pass. */
#include "keel_test.h"

void test_main(const struct hvm_start_info *si)
{
    printf("Hello from a Keel guest test kernel\n");
    printf("command line: \"%s\"\n", test_cmdline);
    if (si)
        printf("start info: version %u, flags %#x, %u module(s), %u memory map entries, %llu MiB RAM\n",
               si->version, si->flags, nr_modules(), memmap_entries(), (unsigned long long)(ram_bytes() >> 20));
    report_pass("hello");
}
