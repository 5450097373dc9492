/*
 * Ends its domain in a chosen way, for tests that read the hypervisor log
 * (tests/guests/test_abi.py): "Domain N (name) shut down: <reason>", and
 * "Control domain powered off" when it is the control domain.
 *
 *   reason=poweroff|reboot|suspend|crash|watchdog|soft_reset  (default poweroff)
 *   code=<reason>   SCHEDOP_shutdown_code first (a later shutdown reports it)
 *   how=sched       SCHEDOP_shutdown(reason)             (the default)
 *   how=lastdown    VCPUOP_down on its only running vCPU (Xen: poweroff)
 *   how=triplefault an exception with no usable IDT      (crash)
 *   console=1       first write marker lines for the log checks
 *
 * It prints "shutdown: <how> <reason>" first.  Nothing after the call
 * should run: if it does, it says so and fails.
 */
#include "keel_test.h"

static const char *const names[] = { "poweroff", "reboot", "suspend", "crash", "watchdog", "soft_reset" };

static uint32_t reason_of(const char *key, uint32_t def)
{
    char buf[16];
    if (!cmdline_str(key, buf, sizeof(buf)))
        return def;
    for (uint32_t i = 0; i < ARRAY_SIZE(names); i++)
        if (!strcmp(buf, names[i]))
            return i;
    test_error("unknown %s '%s'", key, buf);
}

static void console_markers(void)
{
    /* A long line is cut at the hypervisor's line limit, control bytes
     * become '?', and a line written in pieces arrives whole. */
    char line[400];
    for (unsigned i = 0; i < 300; i++)
        line[i] = (char)('A' + i % 26);
    line[300] = '\n';
    HYPERVISOR_console_io(CONSOLEIO_write, 301, line);
    static const char *const parts[] = { "console: control \x01\x02\x7f end\n", "console: pieces", " joined up", "\n" };
    for (unsigned i = 0; i < ARRAY_SIZE(parts); i++)
        HYPERVISOR_console_io(CONSOLEIO_write, (uint32_t)strlen(parts[i]), parts[i]);
    /* Port 0xE9 reaches the log too. */
    static const char e9[] = "console: via port 0xe9\n";
    e9_write(e9, sizeof(e9) - 1);
}

static void no_idt(void)
{
    static const struct {
        uint16_t limit;
        unsigned long base;
    } __attribute__((packed)) empty = { 0, 0 };
    __asm__ volatile("lidt %0; int3" : : "m"(empty));
}

void test_main(const struct hvm_start_info *si)
{
    uint32_t reason = reason_of("reason", SHUTDOWN_poweroff);
    char how[16] = "sched";
    cmdline_str("how", how, sizeof(how));
    bool initdom = si && (si->flags & SIF_INITDOMAIN);
    struct xen_feature_info fi = { .submap_idx = 0 };
    HYPERVISOR_xen_version(XENVER_get_features, &fi);
    printf("shutdown: domain %u, start info flags %#x, features %#x%s\n", hypervisor.domid, si ? si->flags : 0,
           fi.submap, initdom ? " (initial domain)" : "");
    if (cmdline_bool("console", false))
        console_markers();
    if (cmdline_has("code")) {
        struct sched_shutdown c = { .reason = reason_of("code", 0) };
        long rc = HYPERVISOR_sched_op(SCHEDOP_shutdown_code, &c);
        printf("shutdown: shutdown_code(%s): %ld\n", names[c.reason], rc);
    }
    printf("shutdown: %s %s\n", how, names[reason]);
    if (!strcmp(how, "sched")) {
        long rc = sched_shutdown(reason);
        report_fail("SCHEDOP_shutdown(%s) returned %ld", names[reason], rc);
    } else if (!strcmp(how, "lastdown")) {
        long rc = HYPERVISOR_vcpu_op(VCPUOP_down, 0, NULL);
        report_fail("VCPUOP_down of the last vCPU returned %ld and we still run", rc);
    } else if (!strcmp(how, "triplefault")) {
        no_idt();
        report_fail("still running after a triple fault");
    } else {
        test_error("unknown how '%s'", how);
    }
}
