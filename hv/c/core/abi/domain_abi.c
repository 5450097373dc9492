/* Per-domain guest-ABI state: shared info, event channels, grant tables. */
#include <keel/domain.h>
#include <keel/event.h>
#include <keel/grant.h>

int domain_abi_init(struct domain *d)
{
    int rc = shared_info_init(d);
    if (!rc)
        rc = evtchn_init(d);
    if (!rc)
        rc = gnttab_init(d);
    return rc;
}

void domain_abi_teardown(struct domain *d)
{
    gnttab_teardown(d);
    evtchn_teardown(d);
    shared_info_teardown(d);
}

int domain_arch_init(struct domain *d)
{
    return domain_abi_init(d);
}

void domain_arch_teardown(struct domain *d)
{
    domain_abi_teardown(d);
}
