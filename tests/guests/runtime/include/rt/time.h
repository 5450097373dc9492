/*
 * Time: the pvclock record in this vCPU's vcpu_info (shared info, or the
 * area registered with vcpu_info_register()), the wallclock in shared info,
 * and TSC <-> ns conversions from the hypervisor's TSC frequency (CPUID
 * base + 3).  Timer deadlines (set_timer_op, VCPUOP_set_singleshot_timer,
 * SCHEDOP_poll) are in pvclock nanoseconds.
 */
#ifndef RT_TIME_H
#define RT_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "keel_guest_abi.h"

/* A consistent copy of this vCPU's time record (version even and unchanged
 * across the copy).  False without a vcpu_info (shared info not mapped). */
bool pvclock_snapshot(struct vcpu_time_info *out);

/* system_time + ((tsc - tsc_timestamp) << / >> shift) * mul >> 32. */
uint64_t pvclock_tsc_to_ns(const struct vcpu_time_info *t, uint64_t tsc);

/* The hypervisor's system time now, in ns; 0 without a vcpu_info. */
uint64_t pvclock_ns(void);

/* The wallclock at boot (shared info wc_sec/wc_nsec, with wc_sec_hi), read
 * consistently with wc_version; false before shared info is mapped. */
bool wallclock_read(uint64_t *sec, uint32_t *nsec, uint32_t *version);

/* The TSC frequency in kHz the hypervisor reports (CPUID base + 3, ECX of
 * sub-leaf 0); 0 when unknown. */
uint32_t hypervisor_tsc_khz(void);

/* ns -> TSC cycles with that frequency (1 GHz when unknown), for timeouts. */
uint64_t ns_to_tsc(uint64_t ns);
uint64_t tsc_to_ns(uint64_t cycles);

#endif
