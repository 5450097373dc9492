/* console_io: guests write to the hypervisor log; the control domain reads
 * console input. */
#include <abi.h>
#include <keel/console.h>
#include <keel/domain.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/vcpu.h>

#define CHUNK 256
#define MAX_WRITE (64 * 1024)

long do_console_io(struct vcpu *v, uint32_t cmd, uint32_t count, abi_gva_t buffer)
{
    char buf[CHUNK];
    if (cmd == CONSOLEIO_write) {
        if (count > MAX_WRITE)
            return -EINVAL;
        for (uint32_t done = 0; done < count;) {
            uint32_t n = MIN(count - done, (uint32_t)CHUNK);
            if (copy_from_guest(v, buf, buffer + done, n))
                return -EFAULT;
            guest_console_write(v->domain, buf, n);
            done += n;
        }
        return 0;
    }
    /* CONSOLEIO_read (control domain only: checked by the dispatcher). */
    uint32_t n = 0;
    while (n < count && n < CHUNK) {
        int c = console_getc();
        if (c < 0)
            break;
        buf[n++] = (char)c;
    }
    if (n && copy_to_guest(v, buffer, buf, n))
        return -EFAULT;
    return n;
}
