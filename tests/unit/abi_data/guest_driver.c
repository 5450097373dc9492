/*
 * Calls the hypercall wrappers of the guest header generated from small.abi
 * with a stand-in keel_hypercall() that prints, in hex, the registers a real
 * one would load: "NR A1 A2 A3 A4 A5", one line per call.  Built for x86-64
 * and with -m32 by tests/unit/test_abi_dispatch.py, which replays each line
 * through abi_dispatch() to check that the handler receives the values
 * passed here.
 */
#include <stdint.h>
#include <stdio.h>

#include "keel_guest_abi.h"

long keel_hypercall(unsigned long nr, unsigned long a1, unsigned long a2, unsigned long a3, unsigned long a4,
                    unsigned long a5)
{
    printf("%#lx %#lx %#lx %#lx %#lx %#lx\n", nr, a1, a2, a3, a4, a5);
    return 0;
}

int main(void)
{
    HYPERVISOR_ping(0x0123456789abcdefULL, 0x55);
    HYPERVISOR_adjust(-2, 0x1234, (const void *)(uintptr_t)0x5678);
    HYPERVISOR_mixed(MIX_open, (const void *)(uintptr_t)0x9abc);
    return 0;
}
