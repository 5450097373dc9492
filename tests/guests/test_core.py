"""The virtualization core on both backends: scheduling, isolation, life
cycle, MSR policy, exit counters and boot-manifest errors.

One boot per backend, shared by the tests below (domains.shared_boot): a
boot manifest with no control domain, 4 CPUs, and these domains at once:

  iso-restart      isofault mode=restart, on_crash=restart: crashes as
                   domain 1, must come back as a new domain and pass
  spin-0..7        isospin mode=progress: 8 domains x 2 vCPUs, CPU-bound
  share-256/-512   isospin mode=share, both pinned to CPU 3 (cpus=3), weights
                   256 and 512
  neighbour        isospin mode=tick: keeps counting while others crash
  oob              isofault mode=oob: writes outside its memory
  triple           isofault mode=triple: triple-faults
  msr              isomsr: unknown MSRs raise #GP
  eperm            ctleperm: the control interface from a non-control domain
                   (test_control.py::test_eperm_from_guest reads it)

followed by manifest lines with errors, each of which must be rejected on its
own while every domain above still runs.  Keel powers off when the last
domain is gone."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import cast

import pytest

from tests.guests.domains import DomainSet, SetResult, register_shared_boot, shared_boot

BACKENDS = ["qemu", "bochs"]

# Sizes per backend.  Iteration counts are scaled to each emulator's speed
# (QEMU's TCG runs this loop at about a hundred million iterations per
# second per CPU on a loaded host; Bochs at a few million); times are the
# guests' own (TSC); the checks are the same.  Under QEMU the weights run
# lasts 10 s: with 3 s, the 1:2 ratio measured between the sparse progress
# lines moved between 1.97 and 2.26 with as little as the length of the
# boot's file paths (what Keel copies at boot shifts every later instruction
# count); over 10 s it stayed within 1.96 - 2.04.  Under Bochs (the same
# every run) 2 s gave an iteration ratio of 2.185, 4 s gives 2.106.
SIZES = {
    "qemu": {"progress": 10_000_000, "share_ms": 10000, "tick_ms": 2000, "timeout": 180.0},
    "bochs": {"progress": 3_000_000, "share_ms": 4000, "tick_ms": 1500, "timeout": 600.0},
}
# QEMU runs this boot with -icount: time is instructions (4 ns each), so the
# timing checks do not depend on the host's load (MTTCG threads starved by
# the host make a vCPU look scheduled while it runs nothing), and a run with
# the same files repeats exactly.  Bochs' clock is instruction-based already.
QEMU_ICOUNT = ("-icount", "shift=2,sleep=off")
PROGRESS_DOMAINS = 8
SHARE_CPU = "3"

# Bad manifest lines: (line, what the error must say).  Appended after the
# valid domains; "{img}" is the isospin image of the flavour.
BAD_LINES = [
    ("domain name=err-module kernel=nosuch.elf memory=16", r"kernel module not found"),
    ("domain name=spin-0 kernel={img} memory=16", r"duplicate domain name 'spin-0'"),
    ("domain name=err-memory kernel={img} memory=64G", r"domain 'err-memory' needs 65536 MiB but only \d+ MiB"),
    ("domain name=err-key kernel={img} memory=16 colour=blue", r"unknown key 'colour'"),
    ("domain name=err-cpus kernel={img} memory=16 cpus=0-x", r"bad cpus '0-x'"),
    ("domain name=err-nocpu kernel={img} memory=16 cpus=8-9", r"domain 'err-nocpu': its cpus name no online CPU"),
    ("domain name=err-vcpus kernel={img} memory=16 vcpus=3 maxvcpus=2", r"vcpus \(3\) above maxvcpus \(2\)"),
    ("domian name=typo kernel={img} memory=16", r"expected 'domain key=value \.\.\.'"),
]


def core_set(backend: str) -> DomainSet:
    z = SIZES[backend]
    s = DomainSet(backend, flavour="64", cpus=4, timeout=z["timeout"])  # type: ignore[arg-type]
    # First, so that it is domain 1 (ids follow the manifest's order).
    s.add("iso-restart", "isofault", cmdline="mode=restart crash_domid=1", extra={"on_crash": "restart"})
    for i in range(PROGRESS_DOMAINS):
        s.add(f"spin-{i}", "isospin", vcpus=2, cmdline=f"mode=progress vcpus=2 count={z['progress']}")
    for w in (256, 512):
        s.add(
            f"share-{w}",
            "isospin",
            cmdline=f"mode=share ms={z['share_ms']} print_ms=50",
            extra={"cpus": SHARE_CPU, "weight": str(w)},
        )
    s.add("neighbour", "isospin", cmdline=f"mode=tick ms={z['tick_ms']} tick_ms=50")
    s.add("oob", "isofault", cmdline="mode=oob delay_ms=600")
    s.add("triple", "isofault", cmdline="mode=triple delay_ms=900")
    s.add("msr", "isomsr")
    s.add("eperm", "ctleperm")
    img = "isospin.elf"
    s.raw_lines = [line.format(img=img) for line, _ in BAD_LINES]
    return s


def make_core(backend: str, workdir: Path) -> SetResult:
    from tests.harness import boot

    s = core_set(backend)
    if backend == "qemu":
        return s.boot(lambda spec: boot(spec.replace(emulator_args=QEMU_ICOUNT), workdir=workdir), workdir)
    return s.boot(lambda spec: boot(spec, workdir=workdir), workdir)


register_shared_boot("core", make_core)


@pytest.fixture
def core_run(request: pytest.FixtureRequest, backend: str) -> SetResult:
    return cast(SetResult, shared_boot(request, "core", backend))


def fail(result: SetResult, message: str, *names: str) -> AssertionError:
    parts = [message] + [result.describe(n) for n in names] + ["--- boot ---", result.boot.describe()]
    return AssertionError("\n".join(parts))


def require_result(result: SetResult, name: str, want: str = "SUCCESS") -> None:
    got = result.domain(name).result
    if got != want:
        raise fail(result, f"{name}: expected Test result {want}, got {got}", name)


pytestmark = [pytest.mark.boot, pytest.mark.parametrize("backend", BACKENDS)]


# --- Scheduling ---------------------------------------------------------------


def test_boot_clean(core_run: SetResult, backend: str) -> None:
    """The shared boot itself: every domain gone, Keel powered off, no panic."""
    core_run.boot.require_clean_poweroff()
    core_run.boot.require(r"Keel: no domains left and no control domain")


def test_progress(core_run: SetResult, backend: str) -> None:
    """8 domains x 2 vCPUs of CPU-bound loops on 4 CPUs
    (with the other domains of the boot also running) all make progress:
    every vCPU reports each quarter of its work and finishes, and the
    vCPUs progress together: every one of them has reported its first
    quarter before any of them reports its last (a vCPU starved, or run
    only after others finished, fails this)."""
    first_quarter: dict[str, float] = {}
    last_quarter: dict[str, float] = {}
    for i in range(PROGRESS_DOMAINS):
        name = f"spin-{i}"
        require_result(core_run, name)
        for v in (0, 1):
            quarters = {
                int(m.group(1)): t
                for t, text in core_run.domain(name).timed
                if (m := re.match(rf"spin: v={v} q=(\d) n=\d+$", text)) and t is not None
            }
            if sorted(quarters) != [1, 2, 3, 4]:
                raise fail(core_run, f"{name} vCPU {v}: quarters reported {sorted(quarters)}", name)
            first_quarter[f"{name}/v{v}"] = quarters[1]
            last_quarter[f"{name}/v{v}"] = quarters[4]
    slowest = max(first_quarter, key=lambda k: first_quarter[k])
    fastest = min(last_quarter, key=lambda k: last_quarter[k])
    assert first_quarter[slowest] < last_quarter[fastest], (
        f"unfair: {slowest} reported its first quarter at {first_quarter[slowest]:.3f} s, after {fastest} "
        f"had finished at {last_quarter[fastest]:.3f} s\nfirst quarters: {sorted(first_quarter.values())}\n"
        f"finishes: {sorted(last_quarter.values())}"
    )


def _series(result: SetResult, name: str, key: str) -> list[tuple[float, int]]:
    out = []
    for t, text in result.domain(name).timed:
        if t is not None and text.startswith("share: n="):
            fields = dict(kv.split("=", 1) for kv in text[len("share: ") :].split())
            out.append((t, int(fields[key])))
    return out


def _at(points: list[tuple[float, int]], t: float) -> float:
    """Linear interpolation of a monotonic series at time t."""
    for (t0, n0), (t1, n1) in itertools.pairwise(points):
        if t0 <= t <= t1:
            return n0 + (n1 - n0) * ((t - t0) / (t1 - t0)) if t1 > t0 else float(n1)
    raise ValueError(f"{t} outside {points[0][0]}..{points[-1][0]}")


def test_weights(core_run: SetResult, backend: str) -> None:
    """Two single-vCPU domains pinned to CPU 3 (cpus=3)
    with weights 256 and 512 get CPU shares of 1:2 within 10 %.  Both print
    their iteration count and their running time (VCPUOP_get_runstate_info)
    as they go; over the wall interval both are running (from the hypervisor
    log's timestamps, the first and last 10 % left out) the running times
    must be 1:2 within 10 %, and so must the iterations under Bochs (each
    emulated CPU runs a fixed number of instructions per emulated second).
    Under QEMU (-icount: one clock for all CPUs, advanced by whichever CPU
    executes) a CPU's instructions per second depend on how many others are
    busy at the time, so iterations are only reported there."""
    for w in (256, 512):
        require_result(core_run, f"share-{w}")
    ratios = {}
    for key in ("run_ns", "n"):
        low, high = _series(core_run, "share-256", key), _series(core_run, "share-512", key)
        start, end = max(low[0][0], high[0][0]), min(low[-1][0], high[-1][0])
        if end - start < 0.3:
            raise fail(core_run, f"the two domains ran together for {end - start:.3f} s only", "share-256", "share-512")
        t1, t2 = start + 0.1 * (end - start), end - 0.1 * (end - start)
        d_low, d_high = _at(low, t2) - _at(low, t1), _at(high, t2) - _at(high, t1)
        assert d_low > 0, f"share-256 made no progress ({key}) between {t1:.3f} and {t2:.3f} s"
        ratios[key] = (d_high / d_low, t2 - t1)
    cpu, window = ratios["run_ns"]
    iters = ratios["n"][0]
    summary = f"CPU time 512:256 = {cpu:.3f}, iterations {iters:.3f}, over {window:.3f} s"
    assert 1.8 <= cpu <= 2.2, summary
    if backend == "bochs":
        assert 1.8 <= iters <= 2.2, summary


# --- Isolation ------------------------------------------------------------------


def _ticks(result: SetResult) -> list[float]:
    return [t for t, text in result.domain("neighbour").timed if t is not None and text.startswith("tick: ")]


def test_isolation_outside_memory(core_run: SetResult, backend: str) -> None:
    """A guest that writes outside its memory is crashed,
    the log naming the guest-physical address; it never reaches the line
    after the write; a neighbour domain keeps counting before and after."""
    oob = core_run.domain("oob")
    m = next((re.search(r"writing to (0x[0-9a-f]+)", ln) for ln in oob.lines if "writing to" in ln), None)
    if not m:
        raise fail(core_run, "oob never announced its write", "oob")
    addr = int(m.group(1), 16)
    if not oob.crash or "outside its memory" not in oob.crash:
        raise fail(core_run, f"oob: no 'crashed: ... outside its memory' line (crash: {oob.crash})", "oob")
    assert re.search(rf"\b0x0*{addr:x}\b", oob.crash), f"the crash line does not name {addr:#x}: {oob.crash}"
    assert oob.result is None and not any(ln.startswith("FAIL") for ln in oob.lines), oob.lines
    ticks = _ticks(core_run)
    require_result(core_run, "neighbour")
    assert oob.crash_time is not None
    before = [t for t in ticks if t < oob.crash_time]
    after = [t for t in ticks if t > oob.crash_time]
    assert len(before) >= 2 and len(after) >= 2, f"neighbour ticks: {len(before)} before, {len(after)} after the crash"


def test_isolation_triple_fault(core_run: SetResult, backend: str) -> None:
    """A guest triple fault crashes that domain only:
    the log says so for it, no other domain crashes (the oob domain's crash
    is its own), the neighbour keeps counting after it, and every other
    domain finishes with its own verdict."""
    tri = core_run.domain("triple")
    if not tri.crash or "triple fault" not in tri.crash:
        raise fail(core_run, f"triple: no 'crashed: ... triple fault' line (crash: {tri.crash})", "triple")
    assert tri.result is None and not any(ln.startswith("FAIL") for ln in tri.lines), tri.lines
    crashed = sorted(n for n, d in core_run.domains.items() if d.crash)
    assert crashed == ["oob", "triple"], f"domains with a crash line: {crashed}"
    assert tri.crash_time is not None
    assert len([t for t in _ticks(core_run) if t > tri.crash_time]) >= 2, "the neighbour stopped with the triple fault"
    for name in ["neighbour", "msr", "eperm", *[f"spin-{i}" for i in range(PROGRESS_DOMAINS)]]:
        require_result(core_run, name)


# --- MSR policy, exits, life cycle, manifest -----------------------------------------


def test_unknown_msr_gp(core_run: SetResult, backend: str) -> None:
    """A guest's rdmsr/wrmsr of MSRs Keel does not know raise #GP(0)
    in the guest (it catches each and reports), known ones still work, and
    Keel logs the refusals (rate-limited)."""
    require_result(core_run, "msr")
    msr = core_run.domain("msr")
    assert any(re.match(r"PASS: msr: (\d+) of \1 unknown-MSR accesses raised #GP\(0\)", ln) for ln in msr.lines)
    assert any(ln.startswith("PASS: msr: known MSRs work") for ln in msr.lines)
    assert any(re.search(r"rdmsr 0x4b454c00: unknown MSR, #GP", ln) for ln in msr.lines), msr.lines


def test_exit_counters_at_destroy(core_run: SetResult, backend: str) -> None:
    """When Keel destroys a domain it prints its exits per
    reason ("Domain N exits: NAME COUNT ..."): one such line for every
    domain of the boot (each incarnation of the restarted one), each with
    hypercall exits (every kernel here makes some) and the backend's names."""
    hypercall = "VMMCALL" if backend == "qemu" else "VMCALL"
    missing = []
    for name, d in core_run.domains.items():
        for domid in d.ids:
            counts = d.exits.get(domid)
            if not counts:
                missing.append(f"{name} (domain {domid})")
                continue
            assert counts.get(hypercall, 0) > 0, f"{name}: no {hypercall} exits in {counts}"
            assert all(re.fullmatch(r"[A-Z][A-Z0-9_]*", k) and v > 0 for k, v in counts.items()), counts
    assert not missing, f"no 'Domain N exits:' line for {missing}"


def test_restart_on_crash(core_run: SetResult, backend: str) -> None:
    """On_crash=restart restarts a crashing guest: it
    crashes as domain 1, the log shows the restart as a new domain, and the
    new domain runs to SUCCESS knowing its new id."""
    d = core_run.domain("iso-restart")
    assert d.restarts == 1 and len(d.ids) == 2 and d.ids[0] == 1, (d.restarts, d.ids)
    new = d.ids[1]
    core_run.boot.require(r"^Domain 1 \(iso-restart\) shut down: crash")
    core_run.boot.require(rf"^Domain 'iso-restart' restarted as domain {new} \(restart 1\)")
    assert "restart: crashing as domain 1" in d.lines
    assert f"PASS: restart: running as domain {new} after domain 1 crashed" in d.lines, d.lines
    require_result(core_run, "iso-restart")


def test_manifest_errors(core_run: SetResult, backend: str) -> None:
    """A manifest with errors (missing module, duplicate name, more
    memory than exists, unknown key, bad cpus lists, vcpus above maxvcpus, a
    misspelt keyword) is rejected line by line ("manifest line N: ..."
    naming what is wrong), nothing else is rejected, and Keel still runs
    every valid domain."""
    s = core_set(backend)
    numbers = s.raw_line_numbers()
    errors: dict[int, list[str]] = {}
    for n, msg in core_run.manifest_errors:
        errors.setdefault(n, []).append(msg)
    assert sorted(errors) == numbers, f"rejected lines {sorted(errors)}, expected {numbers}: {errors}"
    for n, (_, want) in zip(numbers, BAD_LINES, strict=True):
        assert any(re.search(want, msg) for msg in errors[n]), f"line {n}: {errors[n]} does not match {want!r}"
    core_run.boot.require(rf"Boot manifest: {len(s.domains)} domains started, {len(BAD_LINES)} lines rejected")
    not_started = [d.name for d in s.domains if core_run.domain(d.name).domid is None]
    assert not not_started, f"valid domains not started: {not_started}"
