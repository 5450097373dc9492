/*
 * The guest test runtime: one include for a test kernel.
 *
 *   #include "keel_test.h"
 *   void test_main(const struct hvm_start_info *si) { ... }
 *
 * See tests/guests/README.md for the API and how a test ends.
 */
#ifndef KEEL_TEST_H
#define KEEL_TEST_H

#include "keel_guest_abi.h"
#include "rt/boot.h"
#include "rt/gnttab.h"
#include "rt/evtchn.h"
#include "rt/hypervisor.h"
#include "rt/layout.h"
#include "rt/lib.h"
#include "rt/smp.h"
#include "rt/test.h"
#include "rt/time.h"
#include "rt/trap.h"
#include "rt/user.h"
#include "rt/x86.h"

#endif
