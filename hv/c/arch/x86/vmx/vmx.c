/* VT-x backend: not written yet.  The empty ops table makes hvm_init()
 * report that this CPU cannot run guests yet. */
#include <asm/hvm.h>

const struct hvm_ops vmx_ops = {
    .name = "VT-x",
    .p2m_name = "EPT",
};
