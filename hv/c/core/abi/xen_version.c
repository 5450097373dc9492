/* xen_version: version, features and build information. */
#include <abi.h>
#include <keel/boot.h>
#include <keel/domain.h>
#include <keel/guest_mem.h>
#include <keel/lib.h>
#include <keel/vcpu.h>
#include <keel/version.h>

static long copy_str(struct vcpu *v, abi_gva_t arg, const char *s, size_t size)
{
    char buf[1024];
    memset(buf, 0, size);
    strlcpy(buf, s, size);
    return copy_to_guest(v, arg, buf, size) ? -EFAULT : 0;
}

long do_xen_version(struct vcpu *v, uint32_t cmd, abi_gva_t arg)
{
    switch (cmd) {
    case XENVER_version:
        return (KEEL_XEN_MAJOR << 16) | KEEL_XEN_MINOR;
    case XENVER_extraversion:
        return copy_str(v, arg, "-keel" KEEL_VERSION, XENVER_EXTRAVERSION_LEN);
    case XENVER_compile_info: {
        struct xen_compile_info ci;
        memset(&ci, 0, sizeof(ci));
        strlcpy((char *)ci.compiler, "gcc", sizeof(ci.compiler));
        strlcpy((char *)ci.compile_by, "keel", sizeof(ci.compile_by));
        strlcpy((char *)ci.compile_domain, "keel", sizeof(ci.compile_domain));
        strlcpy((char *)ci.compile_date, KEEL_BUILD_INFO, sizeof(ci.compile_date));
        return copy_to_guest(v, arg, &ci, sizeof(ci)) ? -EFAULT : 0;
    }
    case XENVER_capabilities:
        return copy_str(v, arg, "hvm-3.0-x86_64 hvm-3.0-x86_32p", XENVER_CAPABILITIES_LEN);
    case XENVER_changeset:
        return copy_str(v, arg, KEEL_BUILD_INFO, XENVER_CHANGESET_LEN);
    case XENVER_platform_parameters: {
        /* No hypervisor hole in an HVM guest's address space. */
        uint64_t virt_start = 0;
        return copy_to_guest(v, arg, &virt_start, guest_compat(v) ? 4 : 8) ? -EFAULT : 0;
    }
    case XENVER_get_features: {
        struct xen_feature_info fi;
        if (copy_from_guest(v, &fi, arg, sizeof(fi)))
            return -EFAULT;
        if (fi.submap_idx >= XENFEAT_NR_SUBMAPS)
            return -EINVAL;
        fi.submap = (1u << XENFEAT_auto_translated_physmap) | (1u << XENFEAT_supervisor_mode_kernel) |
                    (1u << XENFEAT_hvm_callback_vector) | (1u << XENFEAT_hvm_safe_pvclock) |
                    (1u << XENFEAT_linux_rsdp_unrestricted) |
                    (v->domain->is_control ? (1u << XENFEAT_dom0) : 0);
        return copy_to_guest(v, arg, &fi, sizeof(fi)) ? -EFAULT : 0;
    }
    case XENVER_pagesize:
        return PAGE_SIZE;
    case XENVER_guest_handle: {
        uint8_t handle[16];
        memset(handle, 0, sizeof(handle));
        handle[0] = (uint8_t)v->domain->id;
        handle[1] = (uint8_t)(v->domain->id >> 8);
        return copy_to_guest(v, arg, handle, sizeof(handle)) ? -EFAULT : 0;
    }
    case XENVER_commandline:
        return copy_str(v, arg, boot_info.cmdline, XENVER_COMMANDLINE_LEN);
    default:
        return -ENOSYS;
    }
}
