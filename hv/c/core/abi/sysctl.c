/* sysctl: host-wide information for the control domain. */
#include <abi.h>
#include <keel/domain.h>
#include <keel/guest_mem.h>
#include <keel/heap.h>
#include <keel/hypercall.h>
#include <keel/lib.h>
#include <keel/mm.h>
#include <keel/printk.h>
#include <keel/time.h>
#include <keel/vcpu.h>
#include <keel/version.h>
#include <asm/features.h>
#include <asm/hvm.h>
#include <asm/percpu.h>
#include <keel/acpi.h>

#define CHUNK PAGE_SIZE


static int get_arg(struct vcpu *v, abi_gva_t arg, void *buf, size_t size)
{
    if (copy_from_guest(v, buf, arg, size))
        return -EFAULT;
    const struct keel_ctl_header *h = buf;
    if (h->interface_version != KEEL_SYSCTL_INTERFACE_VERSION) {
        gprintk(v->domain, LOG_WARNING, "sysctl interface version %#x, Keel speaks %#x: refused\n",
                h->interface_version, KEEL_SYSCTL_INTERFACE_VERSION);
        return -EACCES;
    }
    return 0;
}

static long physinfo(struct vcpu *v, abi_gva_t arg)
{
    struct keel_sysctl_physinfo p;
    struct frame_stats fs;
    int rc = get_arg(v, arg, &p, sizeof(p));
    if (rc)
        return rc;
    frame_get_stats(&fs);
    p.nr_cpus = nr_cpus_online;
    p.capabilities = (boot_cpu.vmx && hvm == &vmx_ops ? KEEL_CAP_VMX | KEEL_CAP_EPT : 0) |
                     (hvm == &svm_ops ? KEEL_CAP_SVM | KEEL_CAP_NPT : 0) |
                     (acpi_iommu.dmar || acpi_iommu.ivrs ? KEEL_CAP_IOMMU : 0);
    p.total_pages = fs.total_pages;
    p.free_pages = fs.free_pages;
    p.version = (KEEL_VERSION_MAJOR << 16) | KEEL_VERSION_MINOR;
    p.tsc_khz = (uint32_t)tsc_khz;
    p.nr_domains = domain_count();
    p.pad = 0;
    memset(p.hypervisor, 0, sizeof(p.hypervisor));
    strlcpy((char *)p.hypervisor, hvm ? hvm->name : "none", sizeof(p.hypervisor));
    return copy_to_guest(v, arg, &p, sizeof(p)) ? -EFAULT : 0;
}

static long domainlist(struct vcpu *v, abi_gva_t arg)
{
    struct keel_sysctl_domainlist l;
    int rc = get_arg(v, arg, &l, sizeof(l));
    if (rc)
        return rc;
    if (l.max > DOMAIN_MAX_ID + 1)
        return -EINVAL;
    uint32_t n = 0;
    struct keel_domaininfo info;
    for (uint32_t id = l.first_domain; id <= DOMAIN_MAX_ID && n < l.max; id++) {
        struct domain *d = domain_get(id);
        if (!d)
            continue;
        domain_fill_info(d, &info);
        domain_put(d);
        if (copy_to_guest(v, l.buffer + (uint64_t)n * sizeof(info), &info, sizeof(info)))
            return -EFAULT;
        n++;
    }
    l.num = n;
    return copy_to_guest(v, arg, &l, sizeof(l)) ? -EFAULT : 0;
}

static long readconsole(struct vcpu *v, abi_gva_t arg)
{
    struct keel_sysctl_readconsole r;
    int rc = get_arg(v, arg, &r, sizeof(r));
    if (rc)
        return rc;
    if (r.flags & ~KEEL_READCONSOLE_CLEAR)
        return -EINVAL;
    char *buf = kmalloc(CHUNK);
    if (!buf)
        return -ENOMEM;
    uint32_t copied = 0;
    uint64_t index = r.index;
    r.lost = 0;
    while (copied < r.count) {
        struct log_read_result got = log_read(index, buf, MIN((size_t)(r.count - copied), (size_t)CHUNK));
        r.lost += got.lost;
        /* Where to continue, even when nothing was copied: an index past
         * the head (or before the tail) comes back clamped to the ring, so
         * the caller's next read starts where data will appear. */
        index = got.next;
        if (!got.copied)
            break;
        if (copy_to_guest(v, r.buffer + copied, buf, got.copied)) {
            kfree(buf);
            return -EFAULT;
        }
        copied += (uint32_t)got.copied;
    }
    kfree(buf);
    if (r.flags & KEEL_READCONSOLE_CLEAR)
        log_clear();
    r.count = copied;
    r.index = index;
    return copy_to_guest(v, arg, &r, sizeof(r)) ? -EFAULT : 0;
}

static long exit_name(struct vcpu *v, abi_gva_t arg)
{
    struct keel_sysctl_exit_name e;
    int rc = get_arg(v, arg, &e, sizeof(e));
    if (rc)
        return rc;
    memset(e.name, 0, sizeof(e.name));
    const char *name = e.reason < hvm->nr_exit_reasons ? hvm->exit_name(e.reason) : NULL;
    if (name)
        strlcpy((char *)e.name, name, sizeof(e.name));
    return copy_to_guest(v, arg, &e, sizeof(e)) ? -EFAULT : 0;
}

long do_sysctl(struct vcpu *v, uint32_t cmd, abi_gva_t arg)
{
    switch (cmd) {
    case KEEL_SYSCTL_physinfo: return physinfo(v, arg);
    case KEEL_SYSCTL_domainlist: return domainlist(v, arg);
    case KEEL_SYSCTL_readconsole: return readconsole(v, arg);
    case KEEL_SYSCTL_exit_name: return exit_name(v, arg);
    default: return -ENOSYS;
    }
}
