/* Per-domain guest-ABI state.  Later parts (shared info, event channels,
 * grant tables) hook their setup and teardown here. */
#include <keel/domain.h>

__attribute__((weak)) int domain_abi_init(struct domain *d)
{
    (void)d;
    return 0;
}

__attribute__((weak)) void domain_abi_teardown(struct domain *d)
{
    (void)d;
}

int domain_arch_init(struct domain *d)
{
    return domain_abi_init(d);
}

void domain_arch_teardown(struct domain *d)
{
    domain_abi_teardown(d);
}
