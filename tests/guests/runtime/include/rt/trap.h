/* Interrupt vectors 32-255: handlers for the upcall vector, timers, IPIs. */
#ifndef RT_TRAP_H
#define RT_TRAP_H

typedef void (*irq_handler_t)(unsigned vector);

/* Install fn for vector (32..255); NULL removes it.  An interrupt on a
 * vector without a handler is an unexpected event: Test result: ERROR.
 * The handler runs with interrupts off and must acknowledge its source. */
void irq_set_handler(unsigned vector, irq_handler_t fn);

#endif
