"""Guest-ABI boots that need more than a manifest test can say: checks on the
hypervisor log, a control domain, and booting without a manifest.

The manifest tests of manifest.d/abi.toml (test_guests.py runs them) cover
the ABI from inside the guests; these add:

- test_shutdown_reasons: one boot per backend with a control domain
  (tests/reaper.c) and ten domains of both flavours ending in every way
  (tests/shutdown.c): each reason reaches the log as
  "Domain N (name) shut down: <reason>"; SCHEDOP_shutdown_code overrides a
  later shutdown's reason; taking the last vCPU down is a poweroff; a triple
  fault is a crash; preserved domains (suspend, watchdog, soft_reset) are
  destroyed by the control domain, whose own poweroff powers the machine
  off; console_io and port 0xE9 output reach the log as expected.
- test_dom0_single_module: one module, no manifest: it is dom0 (SIF_INITDOMAIN,
  XENFEAT_dom0), and its poweroff powers the machine off.
- test_timer_precision: tests/abi_timer.c alone, QEMU with -icount, so that
  the bound (50 ms of emulated time) is about Keel, not host load.
- test_virq_dom_exc: the control domain hears of shutdowns through
  VIRQ_DOM_EXC.

Boots with three or more domains hang under Bochs (VT-x) for now: a CPU
that must switch between runnable vCPUs stops (vmx/, being finished).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.guests.domains import DomainSet, Flavour, RunBoot, SetResult, image_path, parse
from tests.harness import BOCHS_ISO, QEMU_KERNEL, BootSpec, Module

BACKENDS = ("qemu", "bochs")
FLAVOURS: tuple[Flavour, ...] = ("64", "32")


@dataclass(frozen=True)
class Guest:
    name: str
    image: str
    flavour: Flavour
    cmdline: str = ""
    control: bool = False
    memory: int = 16


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def mixed_boot(backend: str, guests: list[Guest], workdir: Path, timeout: float) -> BootSpec:
    """A boot manifest whose domains may be of either flavour."""
    workdir.mkdir(parents=True, exist_ok=True)
    lines = ["# written by tests/guests/test_abi.py", "keel-manifest 1"]
    for g in guests:
        parts = [
            f"name={g.name}",
            f"kernel={image_path(g.image, g.flavour).name}",
            f"memory={g.memory}",
            "vcpus=1",
            "on_poweroff=destroy",
            "on_reboot=destroy",
            "on_crash=destroy",
        ]
        if g.cmdline:
            parts.append(f"cmdline={_quote(g.cmdline)}")
        if g.control:
            parts.append("control=1")
        lines.append("domain " + " ".join(parts))
    manifest = workdir / "manifest.txt"
    manifest.write_text("\n".join(lines) + "\n")
    images = sorted({image_path(g.image, g.flavour) for g in guests})
    base = QEMU_KERNEL if backend == "qemu" else BOCHS_ISO
    return base.replace(
        cpus=2,
        memory_mib=max(256, 64 + 32 * len(guests)),
        modules=(Module(manifest, "manifest"), *(Module(p, p.name) for p in images)),
        timeout=timeout * (3 if backend == "bochs" else 1),
        label=f"{backend}-abi",
    )


# name, flavour, command line, the reason the log must show, crashed first
SHUTDOWNS = [
    ("sd-poweroff", "64", "reason=poweroff", "poweroff", False),
    ("sd-reboot", "32", "reason=reboot", "reboot", False),
    ("sd-crash", "64", "reason=crash", "crash", False),
    ("sd-suspend", "32", "reason=suspend", "suspend", False),
    ("sd-watchdog", "64", "reason=watchdog", "watchdog", False),
    ("sd-soft_reset", "32", "reason=soft_reset", "soft_reset", False),
    ("sd-code", "64", "code=reboot reason=poweroff", "reboot", False),
    ("sd-lastdown", "32", "how=lastdown", "poweroff", False),
    ("sd-triple", "64", "how=triplefault", "crash", True),
    ("sd-console", "32", "console=1 reason=poweroff", "poweroff", False),
]


@pytest.mark.boot
@pytest.mark.parametrize("backend", BACKENDS)
def test_shutdown_reasons(run_boot: RunBoot, tmp_path: Path, backend: str) -> None:
    guests = [Guest("reaper", "reaper", "64", f"domains={len(SHUTDOWNS)}", control=True)]
    guests += [Guest(name, "shutdown", flavour, cmdline) for name, flavour, cmdline, _, _ in SHUTDOWNS]  # type: ignore[arg-type]
    result = run_boot(mixed_boot(backend, guests, tmp_path, timeout=60))
    res: SetResult = parse(result, [g.name for g in guests])
    result.require_clean_poweroff()
    assert not res.manifest_errors, res.manifest_errors
    result.require(r"Control domain powered off: powering the machine off")
    reaper = res.domain("reaper")
    assert reaper.domid == 0 and reaper.result == "SUCCESS", res.describe("reaper")

    problems = []
    for name, _, _, reason, crashed in SHUTDOWNS:
        d = res.domain(name)
        if d.domid is None:
            problems.append(f"{name}: never created")
            continue
        want = rf"^Domain {d.domid} \({re.escape(name)}\) shut down: {reason}$"
        if not result.find(want):
            problems.append(f"{name}: no line /{want}/\n{res.describe(name)}")
        if crashed and not d.crash:
            problems.append(f"{name}: no 'crashed:' line")
        if not crashed and d.crash:
            problems.append(f"{name}: crashed: {d.crash}")
        if not d.find(r"^shutdown: "):
            problems.append(f"{name}: the kernel never ran")
        if d.find(r"^FAIL: "):
            problems.append(f"{name}: it ran on after asking to shut down\n{res.describe(name)}")
    for name in ("sd-suspend", "sd-watchdog", "sd-soft_reset"):
        d = res.domain(name)
        if d.domid is not None and not reaper.find(rf"^reaper: domain {d.domid} \({name}\) stayed .*destroy 0$"):
            problems.append(f"{name}: the control domain did not find it preserved and destroy it")
    if (triple := res.domain("sd-triple").crash) and "triple fault" not in triple:
        problems.append(f"sd-triple: crash reason {triple!r}")

    console = res.domain("sd-console")
    letters = "".join(chr(ord("A") + i % 26) for i in range(300))
    want_lines = [
        (letters[:255], "a 300-byte line is cut at 255 bytes"),
        (letters[255:], "and goes on in the next line"),
        ("console: control ??? end", "control bytes become '?'"),
        ("console: pieces joined up", "a line written in three pieces is one line"),
        ("console: via port 0xe9", "port 0xE9 output reaches the log"),
    ]
    for text, what in want_lines:
        if text not in console.lines:
            problems.append(f"sd-console: {what}: no line {text!r}\n{res.describe('sd-console')}")
    assert not problems, "\n".join(problems)


@pytest.mark.boot
@pytest.mark.parametrize(("backend", "flavour"), [(b, f) for b in BACKENDS for f in FLAVOURS])
def test_dom0_single_module(run_boot: RunBoot, tmp_path: Path, backend: str, flavour: Flavour) -> None:
    kernel = image_path("shutdown", flavour)
    base = QEMU_KERNEL if backend == "qemu" else BOCHS_ISO
    spec = base.replace(
        cpus=2,
        memory_mib=256,
        cmdline="dom0_mem=32M",
        modules=(Module(kernel, "reason=poweroff"),),
        timeout=60 * (3 if backend == "bochs" else 1),
        label=f"{backend}-{flavour}-dom0",
    )
    result = run_boot(spec)
    result.require_clean_poweroff()
    result.require(r"^\(d0\) shutdown: domain 0, start info flags 0x3, features 0x[0-9a-f]+ \(initial domain\)$")
    m = result.require(r"^\(d0\) shutdown: domain 0, .*features (0x[0-9a-f]+)")
    assert int(m.group(1), 16) & (1 << 11), "XENFEAT_dom0 missing"
    result.require(r"^Domain 0 \(Domain-0\) shut down: poweroff$")
    result.require(r"^Control domain powered off: powering the machine off$")


@pytest.mark.boot
@pytest.mark.parametrize(("backend", "flavour"), [(b, f) for b in BACKENDS for f in FLAVOURS])
def test_timer_precision(run_boot: RunBoot, tmp_path: Path, backend: str, flavour: Flavour) -> None:
    """tests/abi_timer.c alone, in emulated time: QEMU with -icount (guest
    time counts instructions, as it always does under Bochs), so that host
    load cannot show up as lateness."""
    s = DomainSet(backend=backend, flavour=flavour, cpus=2, timeout=60 * (3 if backend == "bochs" else 1))  # type: ignore[arg-type]
    s.add("timer", "abi_timer", cmdline="count=20 max_late_ms=50")
    spec = s.spec(tmp_path)
    if backend == "qemu":
        spec = spec.replace(icount=True)
    res = parse(run_boot(spec), ["timer"])
    res.boot.require_clean_poweroff()
    d = res.domain("timer")
    assert d.result == "SUCCESS", res.describe("timer")
    assert len(d.find(r"^PASS: .*none early, lateness")) == 3, res.describe("timer")


@pytest.mark.boot
@pytest.mark.parametrize("backend", ["qemu", "bochs"])
def test_virq_dom_exc(run_boot: RunBoot, tmp_path: Path, backend: str) -> None:
    """The control domain hears through VIRQ_DOM_EXC that a domain shut down
    or was destroyed.  The domain suspends, which Keel preserves for the
    control domain, so at least its destruction by the reaper comes after
    the reaper bound the VIRQ, however the two domains are scheduled."""
    guests = [
        Guest("reaper", "reaper", "64", "domains=1", control=True),
        Guest("sd-suspend", "shutdown", "64", "reason=suspend"),
    ]
    result = run_boot(mixed_boot(backend, guests, tmp_path, timeout=60 if backend == "qemu" else 180))
    res = parse(result, [g.name for g in guests])
    result.require_clean_poweroff()
    result.require(r"^Domain 1 \(sd-suspend\) shut down: suspend")
    assert res.domain("reaper").find(r"^reaper: domain 1 \(sd-suspend\) stayed after shutting down"), res.describe(
        "reaper"
    )
    m = res.domain("reaper").find(r"^reaper: (\d+) VIRQ_DOM_EXC events")
    assert m and int(m[0].group(1)) >= 1, res.describe("reaper")
