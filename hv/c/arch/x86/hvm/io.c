/*
 * Port I/O from guests.  Every port is intercepted.  Port 0xE9 is the
 * domain's debug console (bytes go to the log, line by line, tagged with the
 * domain); reading it returns 0xE9, as Bochs and Xen do.  Other ports read
 * as all ones and ignore writes, with a rate-limited log line.
 */
#include <keel/domain.h>
#include <keel/lib.h>
#include <keel/printk.h>
#include <keel/vcpu.h>
#include <asm/hvm.h>

#define DEBUG_PORT 0xE9

bool hvm_portio(struct vcpu *v, uint16_t port, unsigned bytes, bool in, bool string, bool rep)
{
    uint64_t mask = bytes == 4 ? 0xFFFFFFFFULL : (1ULL << (8 * bytes)) - 1;
    if (string) {
        domain_crash(v->domain, "vCPU %u: string I/O (%s%s port %#x) is not supported", v->id, rep ? "rep " : "",
                     in ? "ins" : "outs", port);
        return false;
    }
    if (port == DEBUG_PORT) {
        if (in) {
            v->regs.rax = (v->regs.rax & ~mask) | (DEBUG_PORT & mask);
        } else {
            char c = (char)v->regs.rax;
            guest_console_write(v->domain, &c, 1);
        }
        return true;
    }
    if (in)
        v->regs.rax |= mask;
    if (!gprintk_ready(v->domain))
        return true;
    if (in)
        gprintk(v->domain, LOG_DEBUG, "vCPU %u: in%c from unhandled port %#x reads all ones\n", v->id,
                bytes == 1 ? 'b' : bytes == 2 ? 'w' : 'l', port);
    else
        gprintk(v->domain, LOG_DEBUG, "vCPU %u: out%c %#lx to unhandled port %#x dropped\n", v->id,
                bytes == 1 ? 'b' : bytes == 2 ? 'w' : 'l', (unsigned long)(v->regs.rax & mask), port);
    return true;
}
