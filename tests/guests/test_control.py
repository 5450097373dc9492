"""The control domain's interface (domctl 36, sysctl 35) on both backends.

One boot per backend, shared by the tests below (domains.shared_boot): Keel
with no manifest, dom0 = the ctl test kernel (tests/ctl.c), its ramdisk =
the child image (tests/ctlchild.c), dom0_mem=32M, 4 CPUs.  The dom0 kernel
builds children from that image through domctl with its own PVH builder and
prints one PASS/FAIL line per check, grouped in sections; each test below
reads one section and cross-checks it against the hypervisor's own log.

The refusal of the interface to a domain that is not the control domain
(-EPERM) is checked by the ctleperm kernel in the shared core boot of
test_core.py (and in the guest batch, manifest.d/core.toml)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import cast

import pytest

import tests.guests.test_core  # noqa: F401  (registers the shared core boot)
from tests.guests.domains import Backend, Dom0Boot, SetResult, register_shared_boot, shared_boot

BACKENDS = ["qemu", "bochs"]

# Iterations per backend.  The control-domain issue's counts (100 builds, 200 life cycles)
# hold on both backends; Bochs only takes longer.
COUNTS = {
    "qemu": {"build": 100, "lifecycle": 200, "poweroff": 30, "pinned": 200, "hotplug": 32},
    "bochs": {"build": 100, "lifecycle": 200, "poweroff": 30, "pinned": 200, "hotplug": 32},
}
# Seconds: on two busy cores QEMU needs about 12, Bochs about 125; the
# limits only tell a hang from a slow machine.
TIMEOUT = {"qemu": 180.0, "bochs": 600.0}


def make_control(backend: str, workdir: Path) -> SetResult:
    from tests.harness import boot

    counts = COUNTS[backend]
    cmdline = " ".join(f"{k}={v}" for k, v in counts.items())
    run = Dom0Boot(
        cast(Backend, backend), "ctl", "ctlchild", cmdline=cmdline, dom0_mem=32, cpus=4, timeout=TIMEOUT[backend]
    )
    return run.boot(lambda spec: boot(spec, workdir=workdir))


register_shared_boot("control", make_control)


class Dom0Output:
    """dom0's lines, split by section."""

    def __init__(self, result: SetResult) -> None:
        self.result = result
        self.log = result.domain("Domain-0")
        self.sections: dict[str, list[str]] = {}
        current: list[str] | None = None
        for line in self.log.lines:
            if m := re.match(r"ctl: section (\w+)( done)?$", line):
                current = None if m.group(2) else self.sections.setdefault(m.group(1), [])
            elif current is not None:
                current.append(line)

    def section(self, name: str) -> list[str]:
        """The section's lines; fails unless it ran to its end."""
        if name not in self.sections:
            raise self.fail(f"section {name!r} never started")
        if f"ctl: section {name} done" not in self.log.lines:
            raise self.fail(f"section {name!r} did not finish")
        return self.sections[name]

    def passes(self, name: str) -> list[str]:
        return [ln for ln in self.section(name) if ln.startswith(f"PASS: {name}:")]

    def require_clean(self, name: str, *wanted: str) -> list[str]:
        """No FAIL line in the section, and a PASS line matching each of wanted."""
        lines = self.section(name)
        fails = [ln for ln in lines if ln.startswith("FAIL")]
        if fails:
            raise self.fail(f"section {name}: {len(fails)} failed checks:\n  " + "\n  ".join(fails))
        passes = self.passes(name)
        for w in wanted:
            if not any(re.search(w, p) for p in passes):
                raise self.fail(f"section {name}: no PASS line matching {w!r}")
        return passes

    def fail(self, message: str) -> AssertionError:
        tail = "\n".join(self.log.lines[-30:])
        boot = self.result.boot.describe()
        return AssertionError(f"{message}\n--- dom0's last lines ---\n{tail}\n--- boot ---\n{boot}")


@pytest.fixture
def control_run(request: pytest.FixtureRequest, backend: str) -> Dom0Output:
    """The shared control boot.  Each test needs only its own section to have
    run to its end (a later hang or crash is test_dom0_verdict's failure);
    a panic fails them all."""
    out = Dom0Output(cast(SetResult, shared_boot(request, "control", backend)))
    out.result.boot.require_absent(r"KEEL PANIC")
    return out


def hv_lines(out: Dom0Output, pattern: str) -> list[re.Match[str]]:
    return out.result.boot.find_all(pattern)


pytestmark = [pytest.mark.boot, pytest.mark.parametrize("backend", BACKENDS)]


def test_build_run_destroy(control_run: Dom0Output, backend: str) -> None:
    """Dom0 creates a domain from the image it got as its ramdisk,
    copies it in, sets its context, unpauses it, finds the child's own
    "(dN) ctlchild: hello tag=bI domid=N" line through sysctl readconsole,
    sees its shutdown reason (poweroff, reboot and crash in turn, with
    on_*=preserve) and destroys it, 100 times; free pages back exactly to the
    baseline, the domain list unchanged, no log bytes lost.  Cross-checked:
    the hypervisor logged each creation by domain 0 and each destruction."""
    n = COUNTS[backend]["build"]
    control_run.require_clean(
        "build",
        rf"{n} of {n} children built, run and destroyed",
        rf"{n} of {n} children's output read back",
        rf"{n} of {n} shutdown reasons right",
        r"free pages (\d+) before, \1 after",
        r"domain list unchanged",
        r"log bytes lost while reading: 0",
    )
    created = hv_lines(control_run, r"^Domain (\d+) \(build-(\d+)\) created by domain 0")
    destroyed = hv_lines(control_run, r"^Domain (\d+) \(build-(\d+)\) destroyed")
    assert len(created) == n and len(destroyed) == n, (len(created), len(destroyed))
    reasons = [m.group(2) for m in hv_lines(control_run, r"^Domain \d+ \(build-(\d+)\) shut down: (\w+)")]
    assert reasons == ["poweroff", "reboot", "crash"] * (n // 3) + ["poweroff", "reboot", "crash"][: n % 3]


def test_lifecycle_memory(control_run: Dom0Output, backend: str) -> None:
    """200 domains created (populate, copy the tiny PVH kernel, set
    context), unpaused, run to their shutdown (polled with getdomaininfo)
    and destroyed in a loop from dom0; sysctl physinfo's free_pages returns
    exactly to the baseline and each child really held its memory while it
    existed."""
    n = COUNTS[backend]["lifecycle"]
    control_run.require_clean(
        "lifecycle",
        rf"{n} of {n} domains created, run and destroyed",
        r"free pages (\d+) before, \1 after",
        r"a child took \d+ pages",
        r"domain list unchanged",
    )
    assert len(hv_lines(control_run, r"^Domain \d+ \(lc-\d+\) destroyed")) == n


def test_bad_requests(control_run: Dom0Output, backend: str) -> None:
    """Bad requests get clean errors and leak nothing: unknown
    domain (-ESRCH), memory beyond the host (-ENOMEM, at create; at populate,
    with nothing kept), vCPUs beyond the maximum (-EINVAL), a wrong interface
    version on every domctl and sysctl operation of the spec (-EACCES),
    copies outside the domain (-EFAULT), populate twice (-EEXIST), duplicate
    names (-EEXIST), bad names (-EINVAL); free_pages and the domain list
    unchanged."""
    control_run.require_clean(
        "badreq",
        r"unknown domain \d+: -ESRCH",
        r"MiB host: -12 \(-ENOMEM\)",
        r"populating \d+ pages with \d+ free: -12, free pages (\d+) -> \1",
        r"vCPUs: -22, 0 vCPUs: -22",
        r"operations with a wrong version: -EACCES",
        r"copy outside the domain: -14, -14, -14",
        r"populate twice: 0 then -17, overlapping -17",
        r"duplicate names .*: -17, -17",
        r"names .* -22, -22",
        r"the failed requests took nothing: free pages (\d+) -> \1",
        r"free pages (\d+) before, \1 after",
        r"domain list unchanged",
    )
    # Every refusal of a wrong version is logged for dom0, rate-limited.
    assert hv_lines(control_run, r"^\(d0\) (control|sysctl) interface version 0x4b450000, Keel speaks 0x4b450001")


def test_hotplug(control_run: Dom0Output, backend: str) -> None:
    """A 32-vCPU child goes 1 -> 32 -> 4 online.  dom0 drives
    KEEL_DOMCTL_vcpus_online; the child is told by VIRQ_ARCH_0 and brings
    vCPUs up with VCPUOP_initialise + VCPUOP_up (-EPERM beyond the online
    count); each online vCPU increments its own counter, each offline one's
    counter freezes (the child checks and reports; dom0 reads its verdict
    from the log); getdomaininfo and getvcpuinfo agree; memory comes back."""
    n = COUNTS[backend]["hotplug"]
    control_run.require_clean(
        "hotplug",
        r"vcpus_online 1 before the start",
        rf"vcpus_online {n + 1} and 0 are refused",
        r"1 vCPU online at the start",
        rf"getdomaininfo says {n} online",
        r"getdomaininfo says 4 online after going down to 4",
        r"offline \(getvcpuinfo\)",
        r"the child's verdict: SUCCESS, 0 failures",
        r"free pages (\d+) before, \1 after",
    )
    child = control_run.result.boot.lines_after(r"^Domain \d+ \(hotplug\) created by domain 0")
    texts = [ln.text for ln in child]
    assert any(re.search(r"\(was 1\)$", t) and f": {n} vCPUs online" in t for t in texts), "no 1 -> 32 log line"
    assert any(re.search(rf": 4 vCPUs online \(was {n}\)$", t) for t in texts), "no 32 -> 4 log line"
    assert any(re.search(rf"PASS: hotplug: {n} of {n} vCPUs counted", t) for t in texts)
    assert any(re.search(rf"PASS: hotplug: 4 online \(is_up\), 4 counting, {n - 4} frozen", t) for t in texts)


def test_on_poweroff_destroy(control_run: Dom0Output, backend: str) -> None:
    """A domain created with on_poweroff=destroy that
    powers off is removed by Keel: getdomaininfo then gives -ESRCH (dom0
    polls it hard meanwhile, and must never read garbage); memory back."""
    n = COUNTS[backend]["poweroff"]
    control_run.require_clean(
        "poweroff",
        rf"{n} of {n} on_poweroff=destroy domains gone \(getdomaininfo -ESRCH\)",
        r"free pages (\d+) before, \1 after",
    )
    assert len(hv_lines(control_run, r"^Domain \d+ \(pd-\d+\) destroyed")) == n
    assert not hv_lines(control_run, r"^Domain \d+ \(pd-\d+\) preserved")


def test_exit_counters_domctl(control_run: Dom0Output, backend: str) -> None:
    """KEEL_DOMCTL_exit_counters + KEEL_SYSCTL_exit_name
    give a stopped child's per-reason exit counts with names, respecting the
    caller's capacity; they equal what Keel prints when it destroys the
    domain ("Domain N exits: ...")."""
    control_run.require_clean("exits", r"capacity 1: rc 0", r"exits under \d+ reasons, all named", r"is empty")
    line = next((ln for ln in control_run.section("exits") if ln.startswith("ctl: exits d=")), None)
    assert line, "dom0 printed no counters"
    m = re.match(r"ctl: exits d=(\d+):(.*)$", line)
    assert m
    domid, counted = int(m.group(1)), m.group(2).strip()
    printed = hv_lines(control_run, rf"^Domain {domid} exits: (.*)$")
    assert printed, f"Keel printed no exit counters when it destroyed domain {domid}"
    assert printed[0].group(1).strip() == counted, (printed[0].group(0), line)
    hypercall = "VMMCALL" if backend == "qemu" else "VMCALL"
    assert re.search(rf"\b{hypercall} [1-9]", counted), f"no {hypercall} exits counted: {counted}"


def test_pinned_vcpu(control_run: Dom0Output, backend: str) -> None:
    """A 2-vCPU child pinned to CPU 1 (createdomain's
    cpumap) is sampled 200 times, 1 ms apart, with KEEL_DOMCTL_getvcpuinfo
    from dom0 (itself pinned to CPU 0): never on another CPU, often running,
    both vCPUs sharing the CPU; moved with setvcpuaffinity to CPU 2, it is
    then never seen elsewhere and keeps running; an empty map is -EINVAL."""
    control_run.require_clean(
        "pinned",
        r"pinned to CPU 1: 0 elsewhere, [1-9]\d* running",
        r"the two vCPUs share CPU 1",
        r"after setvcpuaffinity to CPU 2: 0 samples elsewhere, [1-9]\d* running",
        r"both vCPUs ran",
        r"empty CPU map is refused",
    )


def test_dom0_verdict(control_run: Dom0Output, backend: str) -> None:
    """The control-domain kernel as a whole: every section ran, nothing failed,
    and Keel powered the machine off when dom0 powered off."""
    log = control_run.log
    boot = control_run.result.boot
    if boot.outcome != "powered_off":
        raise control_run.fail(f"the control boot ended {boot.outcome}, not with dom0 powering off the machine")
    assert log.result == "SUCCESS", "\n".join(ln for ln in log.lines if ln.startswith(("FAIL", "ERROR")))
    control_run.result.boot.require(r"Control domain powered off: powering the machine off")
    control_run.result.boot.require_absent(r"KEEL PANIC|\(d\d+\) Test result: ERROR")


def _control_subops() -> list[str]:
    """The domctl and sysctl sub-operations of the spec (build/gen/keel_abi.py)."""
    from tests.harness import BUILD_DIR

    text = (BUILD_DIR / "gen" / "keel_abi.py").read_text()
    return re.findall(r"'(\w+)': \('(?:domctl|sysctl)', \d+, True", text)


@pytest.fixture
def core_run(request: pytest.FixtureRequest, backend: str) -> SetResult:
    """The shared core boot of test_core.py (its ctleperm domain)."""
    return cast(SetResult, shared_boot(request, "core", backend))


def test_eperm_from_guest(core_run: SetResult, backend: str) -> None:
    """Every domctl and sysctl operation issued from a domain that is
    not the control domain gets -EPERM.  The ctleperm kernel (in the shared
    core boot) walks abi_all_subops[] for hypercalls 35 and 36, so an
    operation added to the spec is covered without touching the test; each
    call is well formed and aimed at a domain that does not exist, so a
    missing policy check shows as another error.  An unknown sub-operation
    and the other control-only sub-operations (XENVER_commandline,
    CONSOLEIO_read, SCHEDOP_remote_shutdown) get -EPERM too."""
    d = core_run.domain("eperm")
    assert d.result == "SUCCESS", "\n".join(d.lines[-30:])
    n = len(_control_subops())
    assert n >= 20
    want = f"PASS: eperm: {n} of {n} domctl/sysctl sub-operations gave -EPERM"
    assert want in d.lines, (want, [ln for ln in d.lines if "eperm" in ln])
    assert any(ln.startswith("PASS: eperm: unknown domctl/sysctl sub-operation: -1, -1") for ln in d.lines)
