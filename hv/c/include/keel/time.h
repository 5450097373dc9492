/* Time: the TSC, calibrated at boot against the ACPI PM timer (or the PIT). */
#ifndef KEEL_TIME_H
#define KEEL_TIME_H

#include <keel/types.h>

extern uint64_t tsc_khz;       /* TSC ticks per millisecond */
extern uint64_t boot_tsc;      /* TSC at the hypervisor's first instruction */

void time_init(void);
/* Unix time (seconds) at time_now_ns() == 0, from the RTC. */
extern uint64_t boot_wallclock_sec;
void rtc_read_boot_time(void);
/* Nanoseconds since boot_tsc (0 until time_init() has run). */
uint64_t time_now_ns(void);
uint64_t tsc_to_ns(uint64_t ticks);
uint64_t ns_to_tsc(uint64_t ns);
void udelay(uint64_t us);
void mdelay(uint64_t ms);

#endif
