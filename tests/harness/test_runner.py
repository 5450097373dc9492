"""The runner's end conditions and process handling, driven by a fake emulator
(a Python script writing canned console text), plus the ISO cache and accel choice."""

from __future__ import annotations

import os
import select
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.harness import QEMU_KERNEL, BootResult, BootSpec, Module, Outcome, boot, isocache, runner
from tests.harness.qemu import kvm_usable, resolve_accel

# argv: serial path, scenario.  Sleeps stand for a guest that stops printing.
FAKE_EMULATOR = r"""
import os, signal, subprocess, sys, time
serial, scenario = sys.argv[1], sys.argv[2]
out = open(serial, "ab", buffering=0)
def say(text):
    out.write(text.encode())
say("SeaBIOS (fake)\r\n[   0.000001] Keel hypervisor 9.9.9 (fake)\n")
if scenario == "panic-dump":
    say("[   0.1] ****** KEEL PANIC on CPU 1: fake ******\n")
    time.sleep(0.1)
    say("[   0.2] RIP: 0x1234\n")
    time.sleep(60)
elif scenario == "panic-reboot":
    say("[   0.1] ****** KEEL PANIC on CPU 0: fake ******\n[   0.1] Rebooting in 5 seconds (noreboot).\n")
    time.sleep(60)
elif scenario == "segv":
    os.kill(os.getpid(), signal.SIGSEGV)
elif scenario == "poweroff-failed":
    say("[   0.1] Keel: powering off\n[   0.2] Power-off failed (no usable ACPI S5); halting.\n")
    time.sleep(60)
elif scenario == "poweroff-stuck":
    say("[   0.1] Keel: powering off\n")
    time.sleep(60)
elif scenario == "child":
    child = subprocess.Popen(["sleep", "60"])
    open(serial + ".child", "w").write(str(child.pid))
    say("[   0.1] Keel: powering off")  # no newline: Bochs loses the UART's last bytes
    sys.exit(1)
"""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make boot() run FAKE_EMULATOR with the scenario given as the spec's cmdline."""

    def prepare(spec: BootSpec, run_dir: Path, serial: Path) -> tuple[list[str], dict[str, str]]:
        return [sys.executable, "-c", FAKE_EMULATOR, str(serial), spec.cmdline], dict(os.environ)

    monkeypatch.setattr(runner, "_prepare", prepare)


def fake_boot(tmp_path: Path, scenario: str, **changes: object) -> BootResult:
    return boot(QEMU_KERNEL.replace(cmdline=scenario, timeout=20.0, **changes), workdir=tmp_path)


@pytest.mark.usefixtures("fake")
def test_panic_waits_for_the_dump_then_stops(tmp_path: Path) -> None:
    r = fake_boot(tmp_path, "panic-dump", panic_grace=0.5)
    assert r.outcome is Outcome.PANIC
    assert r.exit_status is None
    assert r.find(r"RIP: 0x1234") is not None  # printed 0.1 s after the panic line
    assert r.elapsed < 5.0
    assert r.version == "9.9.9"


@pytest.mark.usefixtures("fake")
def test_panic_stops_at_the_last_panic_line(tmp_path: Path) -> None:
    r = fake_boot(tmp_path, "panic-reboot", panic_grace=30.0)
    assert r.outcome is Outcome.PANIC
    assert r.elapsed < 5.0
    assert r.require_panic(r"CPU (\d)") is not None


@pytest.mark.usefixtures("fake")
def test_emulator_killed_by_signal_is_crashed(tmp_path: Path) -> None:
    r = fake_boot(tmp_path, "segv")
    assert r.outcome is Outcome.CRASHED
    assert r.exit_status == -11
    with pytest.raises(AssertionError, match=r"got crashed[\s\S]*killed by signal 11"):
        r.require_clean_poweroff()


@pytest.mark.usefixtures("fake")
def test_failed_poweroff_is_a_hang(tmp_path: Path) -> None:
    r = fake_boot(tmp_path, "poweroff-failed")
    assert r.outcome is Outcome.HANG
    assert r.elapsed < 5.0
    with pytest.raises(AssertionError, match=r"got hang[\s\S]*power-off failed\?"):
        r.require_clean_poweroff()


@pytest.mark.usefixtures("fake")
def test_poweroff_line_then_no_exit_is_a_hang(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "POWEROFF_GRACE", 0.3)
    r = fake_boot(tmp_path, "poweroff-stuck")
    assert r.outcome is Outcome.HANG
    assert r.elapsed < 5.0


@pytest.mark.usefixtures("fake")
def test_done_pattern_stops_the_run(tmp_path: Path) -> None:
    r = fake_boot(tmp_path, "poweroff-stuck", done=r"powering off")
    assert r.outcome is Outcome.DONE
    assert r.elapsed < 5.0


@pytest.mark.usefixtures("fake")
def test_whole_process_group_is_killed(tmp_path: Path) -> None:
    r = fake_boot(tmp_path, "child")
    assert r.outcome is Outcome.POWERED_OFF  # the unterminated last line still counts
    assert r.exit_status == 1
    assert r.workdir is not None
    pid = int((r.workdir / "console.log.child").read_text())
    try:
        pidfd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # already gone and reaped
    try:
        # SIGKILL is delivered asynchronously: wait (event, not polling) for the exit.
        readable, _, _ = select.select([pidfd], [], [], 10.0)
        assert readable, f"child {pid} of the fake emulator survived the process-group kill"
    finally:
        os.close(pidfd)


# --- ISO cache -------------------------------------------------------------------


def test_cached_iso_is_built_once_across_threads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []

    def fake_make_iso(out: Path, hv_elf: Path, cmdline: str = "", modules: Sequence[Module] = ()) -> Path:
        calls.append(out)
        out.write_bytes(hv_elf.read_bytes() + cmdline.encode())
        return out

    monkeypatch.setattr(isocache, "make_iso", fake_make_iso)
    kernel = tmp_path / "k.elf"
    kernel.write_bytes(b"kernel")
    cache = tmp_path / "cache"
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(isocache.cached_iso(kernel, "c=1", cache_dir=cache)))
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(results)) == 1 and len(results) == 4
    assert results[0].read_bytes() == b"kernelc=1"
    assert ".tmp-" not in " ".join(p.name for p in cache.iterdir())
    isocache.cached_iso(kernel, "c=2", cache_dir=cache)
    assert len(calls) == 2


def test_prune_iso_cache_removes_least_recently_used(tmp_path: Path) -> None:
    for i, name in enumerate(["old", "mid", "new"]):
        p = tmp_path / f"{name}.iso"
        p.write_bytes(b"x" * 100)
        os.utime(p, (1000 + i, 1000 + i))
    stale = tmp_path / "abc.tmp-1.iso"
    stale.write_bytes(b"x")
    os.utime(stale, (1, 1))
    removed = isocache.prune_iso_cache(tmp_path, max_bytes=250)
    assert sorted(p.name for p in removed) == ["abc.tmp-1.iso", "old.iso"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mid.iso", "new.iso"]


# --- accelerator choice -------------------------------------------------------------


def test_auto_accel_falls_back_to_tcg() -> None:
    assert resolve_accel(QEMU_KERNEL) == "tcg"
    assert resolve_accel(QEMU_KERNEL.replace(accel="kvm")) == "kvm"
    assert resolve_accel(QEMU_KERNEL.replace(accel="auto", icount=True)) == "tcg"  # icount needs TCG


@pytest.mark.boot
def test_kvm_probe_is_cached() -> None:
    first = kvm_usable()
    assert isinstance(first, bool)
    assert kvm_usable() is first
    assert kvm_usable.cache_info().hits >= 1
    assert resolve_accel(QEMU_KERNEL.replace(accel="auto")) == ("kvm" if first else "tcg")
