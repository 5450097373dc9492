#ifndef KEEL_POWER_H
#define KEEL_POWER_H

#include <keel/types.h>

/* Exit codes written to the test harness's exit port (exit_port=). */
#define EXIT_CODE_POWEROFF 0
#define EXIT_CODE_PANIC 1

__noreturn void machine_power_off(void);
__noreturn void machine_restart(void);
/* Signal the test harness (if exit_port= was given) without stopping. */
void machine_exit_port(uint32_t code);

#endif
