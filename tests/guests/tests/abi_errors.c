/*
 * The error paths of every hypercall (needs vcpus=2 and a second domain
 * that stays alive meanwhile: the same kernel with role=bystander, told
 * our id with peer=; it waits until we are gone):
 *  - unknown hypercall numbers: every unused one below 128 through the
 *    page, and 64, 128, 1000, 0xFFFFFFFF (and numbers with high bits set in
 *    64-bit mode) directly: -ENOSYS;
 *  - unknown sub-operations of every hypercall: -ENOSYS (-EPERM first for
 *    the control-only domctl and sysctl);
 *  - every control-only operation (abi_all_subops): -EPERM;
 *  - bad pointers for every operation that takes one: a page the guest
 *    left unmapped, a read-only page for results, guest-physical memory
 *    that is not RAM, a structure running into an unmapped page, and
 *    non-canonical and high-half addresses: -EFAULT;
 *  - bad values: ports, vCPU ids (-ENOENT as Xen), shutdown reasons,
 *    parameters, timers, grant operations, event channels;
 *  - bad or foreign domain ids: -ESRCH, -EPERM;
 *  - CPL 3 callers (through the page, VMCALL/VMMCALL, and for a shutdown):
 *    -EPERM, with nothing done.
 * The domain is alive and well at the end.
 */
#include "keel_test.h"

#define MS 1000000ULL
#define NOT_A_DOMAIN 0x7000 /* below DOMID_FIRST_RESERVED, never created */

static uint16_t peer;

/* Two pages: the first stays writable, the second is made not-present (a
 * structure can run from one into the other); and a read-only page. */
static uint8_t pair[2 * PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t ro_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t scratch[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));

#define NBAD 6
static const char *const bad_names[NBAD] = {
    "unmapped page", "not RAM", "runs into an unmapped page", "read-only page", "non-canonical", "high half",
};
static unsigned long bad_ptrs[NBAD];
static unsigned nbad;

static void setup_bad_pointers(void)
{
    bool ok = pte_modify(pair + PAGE_SIZE, 0, PTE_PRESENT);
    ok &= pte_modify(ro_page, 0, PTE_WRITABLE);
    check(ok, "pte_modify on the image");
    bad_ptrs[0] = (uintptr_t)unmapped_page + 64;
    bad_ptrs[1] = (uintptr_t)alloc_unpopulated(PAGE_SIZE);
    bad_ptrs[2] = (uintptr_t)pair + PAGE_SIZE - 1; /* 1 good byte: every structure crosses */
    bad_ptrs[3] = (uintptr_t)ro_page;              /* read-only: for calls that write */
    nbad = 4;
#if defined(__x86_64__)
    bad_ptrs[4] = 0x8000000000000000UL;
    bad_ptrs[5] = 0xFFFF800000001000UL;
    nbad = 6;
#endif
}

/* Every operation taking a pointer, and whether it writes through it. */
struct ptr_op {
    unsigned nr;
    unsigned cmd;
    const char *name;
    /* Writes its result whatever the (zeroed) input says: tried with the
     * read-only page too.  Others validate first (domain 0 does not
     * exist) or would allocate before failing. */
    bool writes;
};

static const struct ptr_op ptr_ops[] = {
    { __HYPERVISOR_xen_version, XENVER_extraversion, "XENVER_extraversion", true },
    { __HYPERVISOR_xen_version, XENVER_compile_info, "XENVER_compile_info", true },
    { __HYPERVISOR_xen_version, XENVER_capabilities, "XENVER_capabilities", true },
    { __HYPERVISOR_xen_version, XENVER_changeset, "XENVER_changeset", true },
    { __HYPERVISOR_xen_version, XENVER_platform_parameters, "XENVER_platform_parameters", true },
    { __HYPERVISOR_xen_version, XENVER_get_features, "XENVER_get_features", true },
    { __HYPERVISOR_xen_version, XENVER_guest_handle, "XENVER_guest_handle", true },
    { __HYPERVISOR_memory_op, XENMEM_current_reservation, "XENMEM_current_reservation", false },
    { __HYPERVISOR_memory_op, XENMEM_maximum_reservation, "XENMEM_maximum_reservation", false },
    { __HYPERVISOR_memory_op, XENMEM_add_to_physmap, "XENMEM_add_to_physmap", false },
    { __HYPERVISOR_memory_op, XENMEM_memory_map, "XENMEM_memory_map", true },
    { __HYPERVISOR_hvm_op, HVMOP_get_param, "HVMOP_get_param", false },
    { __HYPERVISOR_hvm_op, HVMOP_set_param, "HVMOP_set_param", false },
    { __HYPERVISOR_hvm_op, HVMOP_set_evtchn_upcall_vector, "HVMOP_set_evtchn_upcall_vector", false },
    { __HYPERVISOR_sched_op, SCHEDOP_shutdown, "SCHEDOP_shutdown", false },
    { __HYPERVISOR_sched_op, SCHEDOP_shutdown_code, "SCHEDOP_shutdown_code", false },
    { __HYPERVISOR_sched_op, SCHEDOP_poll, "SCHEDOP_poll", false },
    { __HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound, "EVTCHNOP_alloc_unbound", false },
    { __HYPERVISOR_event_channel_op, EVTCHNOP_bind_interdomain, "EVTCHNOP_bind_interdomain", false },
    { __HYPERVISOR_event_channel_op, EVTCHNOP_bind_virq, "EVTCHNOP_bind_virq", false },
    { __HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, "EVTCHNOP_bind_ipi", false },
    { __HYPERVISOR_event_channel_op, EVTCHNOP_close, "EVTCHNOP_close", false },
    { __HYPERVISOR_event_channel_op, EVTCHNOP_send, "EVTCHNOP_send", false },
    { __HYPERVISOR_event_channel_op, EVTCHNOP_status, "EVTCHNOP_status", false },
    { __HYPERVISOR_event_channel_op, EVTCHNOP_unmask, "EVTCHNOP_unmask", false },
    { __HYPERVISOR_event_channel_op, EVTCHNOP_bind_vcpu, "EVTCHNOP_bind_vcpu", false },
    { __HYPERVISOR_grant_table_op, GNTTABOP_map_grant_ref, "GNTTABOP_map_grant_ref", true },
    { __HYPERVISOR_grant_table_op, GNTTABOP_unmap_grant_ref, "GNTTABOP_unmap_grant_ref", true },
    { __HYPERVISOR_grant_table_op, GNTTABOP_setup_table, "GNTTABOP_setup_table", true },
    { __HYPERVISOR_grant_table_op, GNTTABOP_query_size, "GNTTABOP_query_size", true },
    { __HYPERVISOR_vcpu_op, VCPUOP_initialise, "VCPUOP_initialise", false },
    { __HYPERVISOR_vcpu_op, VCPUOP_get_runstate_info, "VCPUOP_get_runstate_info", true },
    { __HYPERVISOR_vcpu_op, VCPUOP_register_runstate_memory_area, "VCPUOP_register_runstate_memory_area", false },
    { __HYPERVISOR_vcpu_op, VCPUOP_set_periodic_timer, "VCPUOP_set_periodic_timer", false },
    { __HYPERVISOR_vcpu_op, VCPUOP_set_singleshot_timer, "VCPUOP_set_singleshot_timer", false },
    { __HYPERVISOR_vcpu_op, VCPUOP_register_vcpu_info, "VCPUOP_register_vcpu_info", false },
    { __HYPERVISOR_console_io, CONSOLEIO_write, "CONSOLEIO_write", false },
};

static long call_ptr(const struct ptr_op *op, unsigned long p)
{
    switch (op->nr) {
    case __HYPERVISOR_vcpu_op:
        /* vCPU 1 is down (initialise takes a down vCPU); timers are per
         * vCPU: our own. */
        return keel_hypercall(op->nr, op->cmd, op->cmd == VCPUOP_initialise ? 1 : 0, p, 0, 0);
    case __HYPERVISOR_grant_table_op:
        return keel_hypercall(op->nr, op->cmd, p, 1, 0, 0);
    case __HYPERVISOR_console_io:
        return keel_hypercall(op->nr, op->cmd, 16, p, 0, 0);
    default:
        return keel_hypercall(op->nr, op->cmd, p, 0, 0, 0);
    }
}

static void test_bad_pointers(void)
{
    unsigned fails = 0, tried = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(ptr_ops); i++) {
        const struct ptr_op *op = &ptr_ops[i];
        for (unsigned b = 0; b < nbad; b++) {
            if (b == 3 && !op->writes)
                continue;
            long rc = call_ptr(op, bad_ptrs[b]);
            tried++;
            if (rc != -EFAULT) {
                fails++;
                report_fail("%s with a pointer to %s (%#lx): %ld, want -EFAULT", op->name, bad_names[b], bad_ptrs[b], rc);
            }
        }
    }
    report(fails == 0, "bad pointers: %u calls, every one -EFAULT", tried);
    bool ro_intact = true;
    for (unsigned i = 0; i < PAGE_SIZE; i++)
        ro_intact &= ro_page[i] == 0;
    report(ro_intact, "nothing was written to the read-only page");

    /* Pointers inside a structure: the memory_map buffer, poll's port
     * list, setup_table's frame list. */
    struct xen_memory_map mm = { .nr_entries = 4 };
    mm.buffer = (void *)bad_ptrs[0];
    long rc = HYPERVISOR_memory_op(XENMEM_memory_map, &mm);
    report(rc == -EFAULT, "memory_map into an unmapped buffer: %ld", rc);
    struct sched_poll sp = { .nr_ports = 1, .timeout = 1 };
    sp.ports = (void *)bad_ptrs[0];
    rc = HYPERVISOR_sched_op(SCHEDOP_poll, &sp);
    report(rc == -EFAULT, "poll with an unmapped port list: %ld", rc);
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 1 };
    st.frame_list = (void *)bad_ptrs[3];
    rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
    report(rc == -EFAULT, "setup_table with a read-only frame list: %ld", rc);
    rc = HYPERVISOR_console_io(CONSOLEIO_write, PAGE_SIZE, pair + PAGE_SIZE - 16);
    HYPERVISOR_console_io(CONSOLEIO_write, 1, "\n");
    report(rc == -EFAULT, "console_io write running into an unmapped page: %ld", rc);
}

static void test_unknown_numbers(void)
{
    unsigned fails = 0, tried = 0;
    for (unsigned nr = 0; nr < 128; nr++) {
        bool known = false;
        for (unsigned i = 0; i < ABI_NR_HYPERCALLS; i++)
            known |= abi_all_hypercalls[i].number == nr;
        if (known)
            continue;
        long rc = keel_hypercall(nr, 0, 0, 0, 0, 0);
        tried++;
        if (rc != -ENOSYS) {
            fails++;
            report_fail("hypercall %u through the page: %ld, want -ENOSYS", nr, rc);
        }
    }
    report(fails == 0 && tried > 100, "%u unused hypercall numbers below 128: -ENOSYS", tried);

    enum hypercall_mode saved = hypercall_get_mode();
    hypercall_mode_direct();
    static const unsigned long big[] = {
        64, 127, 128, 1000, 0xFFFFFFFFUL,
#if defined(__x86_64__)
        0x10000000CUL,          /* memory_op's number with high bits set */
        0xFFFFFFFF00000011UL,   /* xen_version's */
        0xFFFFFFFFFFFFFFFFUL,
#endif
    };
    for (unsigned i = 0; i < ARRAY_SIZE(big); i++) {
        long rc = keel_hypercall(big[i], XENVER_version, 0, 0, 0, 0);
        report(rc == -ENOSYS, "hypercall %#lx (direct): %ld", big[i], rc);
    }
    hypercall_set_mode(saved);
}

static void test_unknown_subops(void)
{
    static const unsigned long subops[] = { 12, 31, 1000, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF };
    for (unsigned h = 0; h < ABI_NR_HYPERCALLS; h++) {
        const struct abi_guest_hypercall *hc = &abi_all_hypercalls[h];
        if (hc->number == __HYPERVISOR_set_timer_op)
            continue; /* no sub-operations */
        unsigned fails = 0;
        for (unsigned i = 0; i < ARRAY_SIZE(subops); i++) {
            bool known = false;
            for (unsigned k = 0; k < ABI_NR_SUBOPS; k++)
                known |= abi_all_subops[k].hypercall == hc->number && abi_all_subops[k].number == subops[i];
            if (known)
                continue;
            long want = hc->control_only ? -EPERM : -ENOSYS;
            long rc = keel_hypercall(hc->number, subops[i], (uintptr_t)scratch, 1, 0, 0);
            if (rc != want) {
                fails++;
                report_fail("%s sub-op %#lx: %ld, want %ld", hc->name, subops[i], rc, want);
            }
        }
        report(fails == 0, "%s: unknown sub-operations give %s", hc->name, hc->control_only ? "-EPERM" : "-ENOSYS");
    }
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_init_control, scratch);
    report(rc == -ENOSYS, "EVTCHNOP_init_control (FIFO): %ld, -ENOSYS: guests fall back to 2-level", rc);
}

static void test_control_only(void)
{
    unsigned n = 0, fails = 0;
    for (unsigned k = 0; k < ABI_NR_SUBOPS; k++) {
        const struct abi_guest_subop *s = &abi_all_subops[k];
        if (!s->control_only)
            continue;
        memset(scratch, 0, sizeof(scratch));
        long rc = keel_hypercall(s->hypercall, s->number, (uintptr_t)scratch, (uintptr_t)scratch, 0, 0);
        n++;
        if (rc != -EPERM) {
            fails++;
            report_fail("%s from a domU: %ld, want -EPERM", s->name, rc);
        }
    }
    report(fails == 0 && n >= 20, "%u control-only operations from a domU: -EPERM", n);
    /* Specifically: remote_shutdown of our neighbour, and of ourselves. */
    struct sched_remote_shutdown rs = { .domain_id = peer, .reason = SHUTDOWN_poweroff };
    long rc = HYPERVISOR_sched_op(SCHEDOP_remote_shutdown, &rs);
    rs.domain_id = hypervisor.domid;
    long rc2 = HYPERVISOR_sched_op(SCHEDOP_remote_shutdown, &rs);
    report(rc == -EPERM && rc2 == -EPERM, "SCHEDOP_remote_shutdown of domain %u / ourselves: %ld / %ld", peer, rc, rc2);
    char buf[16];
    rc = HYPERVISOR_console_io(CONSOLEIO_read, sizeof(buf), buf);
    report(rc == -EPERM, "CONSOLEIO_read: %ld", rc);
}

static void test_bad_values(void)
{
    long rc;
    /* console_io and xen_version */
    rc = HYPERVISOR_console_io(CONSOLEIO_write, 0x10001, scratch);
    report(rc == -EINVAL, "console_io write of more than 64 KiB: %ld (Keel's limit)", rc);
    struct xen_feature_info fi = { .submap_idx = 1 };
    rc = HYPERVISOR_xen_version(XENVER_get_features, &fi);
    report(rc == -EINVAL, "get_features submap 1: %ld", rc);

    /* sched_op */
    static const uint32_t reasons[] = { 6, 255, 0xFFFFFFFF };
    for (unsigned i = 0; i < ARRAY_SIZE(reasons); i++) {
        struct sched_shutdown s = { .reason = reasons[i] };
        rc = HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
        long rc2 = HYPERVISOR_sched_op(SCHEDOP_shutdown_code, &s);
        report(rc == -EINVAL && rc2 == -EINVAL, "shutdown / shutdown_code with reason %#x: %ld / %ld", reasons[i], rc,
               rc2);
    }
    uint32_t ports[200];
    memset(ports, 0, sizeof(ports));
    struct sched_poll sp = { .nr_ports = 200, .timeout = 1 };
    sp.ports = ports;
    rc = HYPERVISOR_sched_op(SCHEDOP_poll, &sp);
    report(rc == -EINVAL, "poll of 200 ports: %ld", rc);
    ports[0] = 100000;
    sp.nr_ports = 1;
    rc = HYPERVISOR_sched_op(SCHEDOP_poll, &sp);
    report(rc == -EINVAL, "poll of port 100000: %ld", rc);

    /* vcpu_op */
    static const uint32_t vcpus[] = { 2, 127, 128, 0xFFFFFFFF };
    static const uint32_t vops[] = { VCPUOP_up, VCPUOP_down, VCPUOP_is_up, VCPUOP_get_runstate_info,
                                     VCPUOP_stop_singleshot_timer, VCPUOP_register_vcpu_info };
    unsigned fails = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(vcpus); i++)
        for (unsigned k = 0; k < ARRAY_SIZE(vops); k++) {
            rc = HYPERVISOR_vcpu_op(vops[k], vcpus[i], scratch);
            if (rc != -ENOENT) {
                fails++;
                report_fail("vcpu_op %u on vCPU %#x: %ld, want -ENOENT", vops[k], vcpus[i], rc);
            }
        }
    report(fails == 0, "vcpu_op on vCPUs that do not exist: -ENOENT");
    rc = HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
    report(rc == -EINVAL, "VCPUOP_up of a vCPU never initialised: %ld", rc);
    struct vcpu_hvm_context ctx;
    memset(&ctx, 0, sizeof(ctx));
    ctx.mode = 7;
    rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
    report(rc == -EINVAL, "VCPUOP_initialise with mode 7: %ld", rc);
    ctx.mode = VCPU_HVM_MODE_64B; /* without EFER.LME, CR0.PG, CR4.PAE */
    rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
    report(rc == -EINVAL, "VCPUOP_initialise of a 64-bit context without long mode: %ld", rc);
    ctx.mode = VCPU_HVM_MODE_32B;
    rc = HYPERVISOR_vcpu_op(VCPUOP_initialise, 0, &ctx);
    report(rc == -EBUSY || rc == -EEXIST, "VCPUOP_initialise of the running vCPU 0: %ld", rc);
    struct vcpu_set_periodic_timer pt = { .period_ns = 999999 };
    rc = HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, &pt);
    report(rc == -EINVAL, "periodic timer below 1 ms: %ld", rc);
    struct vcpu_set_singleshot_timer ss = { .timeout_abs_ns = pvclock_ns() + 1000 * MS };
    rc = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 1, &ss);
    report(rc == -EINVAL, "singleshot timer of another vCPU: %ld", rc);
    struct vcpu_register_vcpu_info ri = { .mfn = (uintptr_t)scratch / PAGE_SIZE, .offset = PAGE_SIZE - 32 };
    rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 1, &ri);
    report(rc == -EINVAL, "register_vcpu_info crossing a page: %ld", rc);
    ri.offset = 4;
    rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 1, &ri);
    report(rc == -EINVAL, "register_vcpu_info at a misaligned offset: %ld", rc);
    ri.offset = 0;
    ri.rsvd = 1;
    rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 1, &ri);
    report(rc == -EINVAL, "register_vcpu_info with rsvd set: %ld", rc);
    ri.rsvd = 0;
    ri.mfn = (uintptr_t)alloc_unpopulated(PAGE_SIZE) / PAGE_SIZE;
    rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 1, &ri);
    report(rc == -EINVAL, "register_vcpu_info in a frame that is not RAM: %ld", rc);
    ri.mfn = 0xFFFFFFFFFULL;
    rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 1, &ri);
    report(rc == -EINVAL, "register_vcpu_info in frame 2^36-1: %ld", rc);

    /* memory_op */
    struct xen_add_to_physmap xatp = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info, .idx = 1,
                                       .gpfn = (uintptr_t)scratch / PAGE_SIZE };
    rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    report(rc == -EINVAL, "add_to_physmap(shared_info) idx 1: %ld", rc);
    xatp.idx = 0;
#if defined(__x86_64__)
    xatp.gpfn = 1UL << 40;
    rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    report(rc == -EINVAL, "add_to_physmap at gfn 2^40: %ld", rc);
#endif
    xatp.space = XENMAPSPACE_grant_table;
    xatp.idx = GNTTAB_MAX_FRAMES;
    rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    report(rc == -EINVAL, "add_to_physmap(grant_table) frame %u: %ld", GNTTAB_MAX_FRAMES, rc);
    xatp.space = 99;
    xatp.idx = 0;
    rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    report(rc < 0, "add_to_physmap space 99: %ld", rc);
    xatp.space = XENMAPSPACE_shared_info;
    xatp.domid = peer;
    rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    report(rc == -EPERM, "add_to_physmap for domain %u: %ld", peer, rc);
#if defined(__x86_64__)
    /* Shared info moved to a new GiB each time, so that each move needs new
     * page tables: Keel's page-table budget for the domain must end it
     * (-ENOMEM) long before the host's memory is gone (4096 moves would
     * take 32 MiB of tables); moving it back then still works. */
    xatp.domid = DOMID_SELF;
    xatp.space = XENMAPSPACE_shared_info;
    unsigned moves = 0;
    for (rc = 0; rc == 0 && moves < 4096; moves++) {
        xatp.gpfn = (1UL << 18) * (moves + 1);
        rc = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    }
    xatp.gpfn = (uintptr_t)shared_info / PAGE_SIZE;
    long back = HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
    report(rc == -ENOMEM && moves < 1000 && back == 0,
           "shared info moved a GiB at a time: -ENOMEM after %u moves (%ld); moved back: %ld", moves, rc, back);
#endif
    uint16_t dom = NOT_A_DOMAIN;
    rc = HYPERVISOR_memory_op(XENMEM_current_reservation, &dom);
    report(rc == -ESRCH, "current_reservation of domain %#x: %ld", dom, rc);
    dom = peer;
    rc = HYPERVISOR_memory_op(XENMEM_maximum_reservation, &dom);
    report(rc == -EPERM, "maximum_reservation of domain %u: %ld", dom, rc);

    /* hvm_op */
    uint64_t v;
    rc = hvm_get_param(HVM_NR_PARAMS, &v);
    long rc2 = hvm_get_param(0xFFFFFFFF, &v);
    report(rc == -EINVAL && rc2 == -EINVAL, "get_param index %u / 0xffffffff: %ld / %ld", HVM_NR_PARAMS, rc, rc2);
    rc = hvm_set_param(HVM_PARAM_STORE_PFN, 5);
    rc2 = hvm_set_param(HVM_PARAM_CONSOLE_EVTCHN, 5);
    report(rc == -EPERM && rc2 == -EPERM, "set_param STORE_PFN / CONSOLE_EVTCHN from a domU: %ld / %ld", rc, rc2);
    rc = hvm_set_param(HVM_PARAM_CALLBACK_IRQ, ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | 0x0F);
    report(rc == -EINVAL, "CALLBACK_IRQ with vector 0x0f: %ld", rc);
    rc = hvm_set_param(HVM_PARAM_CALLBACK_IRQ, 5); /* type 0: a GSI */
    report(rc == -EOPNOTSUPP, "CALLBACK_IRQ as GSI 5: %ld (no emulated interrupt controller)", rc);
    struct xen_hvm_param hp = { .domid = NOT_A_DOMAIN, .index = HVM_PARAM_STORE_PFN };
    rc = HYPERVISOR_hvm_op(HVMOP_get_param, &hp);
    hp.domid = peer;
    rc2 = HYPERVISOR_hvm_op(HVMOP_get_param, &hp);
    report(rc == -ESRCH && rc2 == -EPERM, "get_param of domain %#x / %u: %ld / %ld", NOT_A_DOMAIN, peer, rc, rc2);
    struct xen_hvm_evtchn_upcall_vector uv = { .vcpu = 5, .vector = 0xF0 };
    rc = HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &uv);
    uv.vcpu = 0;
    uv.vector = 0x0F;
    rc2 = HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &uv);
    report(rc == -ENOENT && rc2 == -EINVAL, "set_evtchn_upcall_vector vCPU 5 / vector 0x0f: %ld / %ld", rc, rc2);
}

static void test_evtchn_errors(void)
{
    long rc, rc2, rc3;
    uint32_t p;
    rc = evtchn_init(0xF0);
    check(rc == 0, "evtchn_init: %ld", rc);
    uint32_t max = EVTCHN_NR_PORTS;
    static const uint32_t bad[] = { 0, 4096, 1024, 0xFFFFFFFF };
    unsigned fails = 0;
    for (unsigned i = 0; i < ARRAY_SIZE(bad); i++) {
        if (bad[i] && bad[i] < max)
            continue; /* 1024 is valid in the 64-bit layout */
        rc = evtchn_send(bad[i]);
        rc2 = evtchn_close(bad[i]);
        rc3 = evtchn_unmask(bad[i]);
        if (rc != -EINVAL || rc2 != -EINVAL || rc3 != -EINVAL) {
            fails++;
            report_fail("port %#x: send %ld close %ld unmask %ld, want -EINVAL", bad[i], rc, rc2, rc3);
        }
    }
    report(fails == 0, "send/close/unmask of port 0 and ports beyond %u: -EINVAL", max - 1);
    rc = evtchn_send(77);
    rc2 = evtchn_close(77);
    report(rc == -EINVAL && rc2 == -EINVAL, "send / close of a free port: %ld / %ld", rc, rc2);

    rc = evtchn_bind_virq(NR_VIRQS, 0, &p);
    rc2 = evtchn_bind_virq(VIRQ_TIMER, 2, &p);
    report(rc == -EINVAL && rc2 == -ENOENT, "bind_virq of virq %u / on vCPU 2: %ld / %ld", NR_VIRQS, rc, rc2);
    rc = evtchn_bind_virq(VIRQ_DOM_EXC, 0, &p);
    report(rc == -EPERM, "bind_virq(VIRQ_DOM_EXC) from a domU: %ld", rc);
    rc = evtchn_bind_virq(VIRQ_TIMER, 0, &p);
    uint32_t p2;
    rc2 = evtchn_bind_virq(VIRQ_TIMER, 0, &p2);
    report(rc == 0 && rc2 == -EEXIST, "bind_virq(VIRQ_TIMER) twice: %ld, then %ld", rc, rc2);
    rc3 = evtchn_bind_vcpu(p, 1);
    report(rc3 == -EINVAL, "bind_vcpu of a per-vCPU VIRQ port: %ld", rc3);
    evtchn_close(p);
    rc = evtchn_bind_ipi(2, &p);
    rc2 = evtchn_bind_ipi(0xFFFFFFFF, &p);
    report(rc == -ENOENT && rc2 == -ENOENT, "bind_ipi to vCPU 2 / 0xffffffff: %ld / %ld", rc, rc2);
    rc = evtchn_bind_ipi(0, &p);
    rc2 = evtchn_bind_vcpu(p, 2);
    rc3 = evtchn_bind_vcpu(0, 0);
    report(rc == 0 && rc2 == -ENOENT && rc3 == -EINVAL, "bind_vcpu to vCPU 2 / of port 0: %ld / %ld", rc2, rc3);
    evtchn_close(p);

    rc = evtchn_alloc_unbound(NOT_A_DOMAIN, &p);
    report(rc == -ESRCH, "alloc_unbound for domain %#x: %ld", NOT_A_DOMAIN, rc);
    struct evtchn_alloc_unbound au = { .dom = peer, .remote_dom = DOMID_SELF };
    rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
    au.dom = NOT_A_DOMAIN;
    rc2 = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &au);
    report(rc == -EPERM && rc2 == -ESRCH, "alloc_unbound in domain %u / %#x: %ld / %ld", peer, NOT_A_DOMAIN, rc, rc2);
    rc = evtchn_bind_interdomain(NOT_A_DOMAIN, 1, &p);
    rc2 = evtchn_bind_interdomain(peer, 0, &p);
    rc3 = evtchn_bind_interdomain(peer, 2, &p); /* free: the bystander only ever has port 1 */
    report(rc == -ESRCH && rc2 == -EINVAL && rc3 == -EINVAL, "bind_interdomain to %#x / port 0 / a port not ours: %ld / %ld / %ld",
           NOT_A_DOMAIN, rc, rc2, rc3);
    uint32_t a;
    evtchn_alloc_unbound(DOMID_SELF, &a);
    rc = evtchn_bind_interdomain(DOMID_SELF, a, &p);
    rc2 = evtchn_bind_interdomain(DOMID_SELF, a, &p2);
    report(rc == 0 && rc2 == -EINVAL, "bind_interdomain to a port already bound: %ld", rc2);
    evtchn_close(p);
    evtchn_close(a);
    struct evtchn_status st;
    rc = evtchn_status(peer, 1, &st);
    rc2 = evtchn_status(NOT_A_DOMAIN, 1, &st);
    rc3 = evtchn_status(DOMID_SELF, max, &st);
    report(rc == -EPERM && rc2 == -ESRCH && rc3 == -EINVAL, "status in domain %u / %#x / of port %u: %ld / %ld / %ld", peer,
           NOT_A_DOMAIN, max, rc, rc2, rc3);
}

static void test_grant_errors(void)
{
    long rc = gnttab_init(1);
    check(rc == 0, "gnttab_init: %ld", rc);
    struct gnttab_query_size q[1];
    rc = HYPERVISOR_grant_table_op(GNTTABOP_query_size, q, 513);
    report(rc == -EINVAL, "grant_table_op with count 513: %ld", rc);
    q[0] = (struct gnttab_query_size){ .dom = NOT_A_DOMAIN };
    rc = HYPERVISOR_grant_table_op(GNTTABOP_query_size, q, 1);
    report(rc == 0 && q[0].status == GNTST_bad_domain, "query_size of domain %#x: status %d", NOT_A_DOMAIN, q[0].status);
    q[0] = (struct gnttab_query_size){ .dom = peer };
    rc = HYPERVISOR_grant_table_op(GNTTABOP_query_size, q, 1);
    report(rc == 0 && q[0].status == GNTST_permission_denied, "query_size of domain %u: status %d", peer, q[0].status);
    unsigned long frames[40];
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = GNTTAB_MAX_FRAMES + 1 };
    st.frame_list = frames;
    rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
    report(rc == 0 && st.status == GNTST_general_error, "setup_table of %u frames: status %d", GNTTAB_MAX_FRAMES + 1,
           st.status);
    st.dom = peer;
    st.nr_frames = 1;
    rc = HYPERVISOR_grant_table_op(GNTTABOP_setup_table, &st, 1);
    report(rc == 0 && st.status == GNTST_permission_denied, "setup_table of domain %u: status %d", peer, st.status);

    uint64_t at = (uintptr_t)alloc_unpopulated(PAGE_SIZE);
    gnttab_grant(3, hypervisor.domid, (uint32_t)((uintptr_t)scratch / PAGE_SIZE), false);
    uint32_t h;
    int16_t s;
    gnttab_map(hypervisor.domid, 3, at, 0, &h, &s);
    report(s == GNTST_general_error, "map without GNTMAP_host_map: status %d", s);
    gnttab_map(hypervisor.domid, 3, at + 8, GNTMAP_host_map, &h, &s);
    report(s == GNTST_bad_virt_addr, "map at an unaligned address: status %d", s);
    gnttab_map(NOT_A_DOMAIN, 3, at, GNTMAP_host_map, &h, &s);
    report(s == GNTST_bad_domain, "map from domain %#x: status %d", NOT_A_DOMAIN, s);
    gnttab_map(hypervisor.domid, 0xFFFFFFFF, at, GNTMAP_host_map, &h, &s);
    report(s == GNTST_bad_gntref, "map of ref 0xffffffff: status %d", s);
    gnttab_map(peer, 3, at, GNTMAP_host_map, &h, &s);
    report(s == GNTST_permission_denied || s == GNTST_bad_gntref, "map of an entry domain %u never granted us: status %d",
           peer, s);
    gnttab_grant(4, hypervisor.domid, 0xFFFFF, false); /* a frame that is not RAM */
    gnttab_map(hypervisor.domid, 4, at, GNTMAP_host_map, &h, &s);
    report(s == GNTST_bad_page, "map of a grant of a frame that is not RAM: status %d", s);
    report(!(grant_table[4].flags & (GTF_reading | GTF_writing)), "and the entry is not left marked in use");
    gnttab_unmap(12345, 0, &s);
    report(s == GNTST_bad_handle, "unmap of handle 12345: status %d", s);
    gnttab_revoke(3);
    gnttab_revoke(4);
}

/* --- Ring 3 --------------------------------------------------------------- */

static volatile long user_rc[8];
static volatile unsigned user_cpl;
static uint8_t user_buf[64];

static void user_calls(void *arg)
{
    (void)arg;
    user_cpl = current_cpl();
    user_rc[0] = HYPERVISOR_xen_version(XENVER_version, NULL);
    user_rc[1] = HYPERVISOR_console_io(CONSOLEIO_write, 6, "ring3\n");
    struct sched_shutdown s = { .reason = SHUTDOWN_poweroff };
    user_rc[2] = HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
    user_rc[3] = HYPERVISOR_xen_version(XENVER_extraversion, user_buf);
    user_rc[4] = keel_hypercall(60, 0, 0, 0, 0, 0);
    hypercall_mode_direct(); /* a plain store: allowed in ring 3 */
    user_rc[5] = HYPERVISOR_xen_version(XENVER_version, NULL);
    user_rc[6] = HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
    hypercall_set_mode(HYPERCALL_PAGE);
}

static void user_cli(void *arg)
{
    (void)arg;
    cli();
}

static void test_user_mode(void)
{
    memset(user_buf, 0x77, sizeof(user_buf));
    struct fault_info fi;
    int vec = run_in_user_mode(user_calls, NULL, &fi);
    if (!report(vec == NO_FAULT && user_cpl == 3, "ran at CPL %u (fault %d)", user_cpl, vec))
        return;
    report(user_rc[0] == -EPERM, "CPL 3: xen_version through the page: %ld", user_rc[0]);
    report(user_rc[1] == -EPERM, "CPL 3: console_io write: %ld", user_rc[1]);
    report(user_rc[2] == -EPERM, "CPL 3: SCHEDOP_shutdown: %ld (and we are still here)", user_rc[2]);
    bool untouched = true;
    for (unsigned i = 0; i < sizeof(user_buf); i++)
        untouched &= user_buf[i] == 0x77;
    report(user_rc[3] == -EPERM && untouched, "CPL 3: XENVER_extraversion: %ld, buffer untouched", user_rc[3]);
    report(user_rc[4] == -EPERM, "CPL 3: an unknown hypercall: %ld", user_rc[4]);
    report(user_rc[5] == -EPERM && user_rc[6] == -EPERM, "CPL 3: %s directly: %ld, shutdown %ld",
           hypervisor.intel ? "VMCALL" : "VMMCALL", user_rc[5], user_rc[6]);
    vec = run_in_user_mode(user_cli, NULL, &fi);
    report(vec == X86_EXC_GP, "CPL 3 really is user mode: cli gives %s", vec == NO_FAULT ? "nothing" : exception_name(vec));
    report(HYPERVISOR_xen_version(XENVER_version, NULL) == (long)hypervisor.version, "CPL 0 again: hypercalls work");
}

/* --- The bystander -------------------------------------------------------- */

static void bystander(void)
{
    /* Stay alive while the domain testing us exists: alloc_unbound for it
     * fails with -ESRCH once it is gone. */
    uint64_t end = pvclock_ns() + cmdline_ull("timeout_s", 300) * 1000 * MS;
    unsigned long polls = 0;
    for (;;) {
        uint32_t p;
        long rc = evtchn_alloc_unbound(peer, &p);
        if (rc == -ESRCH)
            break;
        if (rc == 0)
            evtchn_close(p);
        if (pvclock_ns() > end) {
            report_fail("domain %u is still there after the timeout", peer);
            return;
        }
        polls++;
        sched_yield();
    }
    /* Nothing to check here: it exists so that the other domain has a
     * live domain id to use (it may well finish before we first run). */
    report_pass("bystander: stayed until domain %u was gone (%lu polls)", peer, polls);
}

void test_main(const struct hvm_start_info *si)
{
    (void)si;
    char role[16] = "";
    cmdline_str("role", role, sizeof(role));
    peer = cmdline_peer("peer", !strcmp(role, "bystander") ? -1 : 1);
    if (peer == DOMID_INVALID)
        test_error("no peer domain id");
    if (shared_info_map())
        test_error("shared info");
    if (!strcmp(role, "bystander")) {
        bystander();
        return;
    }
    /* The bystander must exist before we use its id. */
    uint32_t p;
    if (evtchn_offer(peer, &p, 30000 * MS))
        test_error("domain %u never appeared", peer);
    evtchn_close(p);

    setup_bad_pointers();
    test_unknown_numbers();
    test_unknown_subops();
    test_control_only();
    test_bad_pointers();
    test_bad_values();
    test_evtchn_errors();
    test_grant_errors();
    test_user_mode();
    report(HYPERVISOR_xen_version(XENVER_version, NULL) == (long)hypervisor.version, "still alive and well");
}
