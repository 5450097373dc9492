"""Tests of the boot harness itself: classification on canned text, and real runs
of images that misbehave on purpose."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import (
    BOCHS_ISO,
    HANG_ELF,
    HV_ELF,
    QEMU_KERNEL,
    QEMU_OVMF_ISO,
    SILENT_ELF,
    BootResult,
    BootSpec,
    ConsoleScanner,
    Module,
    Outcome,
    classify,
    parse_console,
    qemu_argv,
)
from tests.harness.bochs import bochs_log_excerpt, bochs_stderr_digest, bochsrc
from tests.harness.console import clean_line
from tests.harness.isocache import iso_key

RunBoot = Callable[[BootSpec], BootResult]

BOOT_TEXT = """\
[   0.000000] Keel hypervisor 0.1.0 (git 35ae3f2)
[   0.000000] Loader: qemu, multiboot1, command line: 'exit_port=0xf4'
[   0.000000] ACPI: RSDP rev 0 (BOCHS )
"""
POWEROFF_TEXT = BOOT_TEXT + "[   0.000100] Keel: nothing to run yet.\n[   0.000200] Keel: powering off\n"
PANIC_TEXT = (
    BOOT_TEXT
    + "\n[   0.001000] ****** KEEL PANIC on CPU 0: page fault at 0xdead ******\n"
    + "[   0.001001] RIP: 0xffffffff80200000\n"
    + "[   0.001002] Rebooting in 5 seconds (noreboot to stay halted).\n"
)
GRUB_TEXT = (
    "\x1b[H\x1b[J\x1b[1;1H  Booting `Keel'\r\n\r\n\r[   0.000000] Keel hypervisor 0.1.0 (git abc)\r\n"
    "[   0.000000] Loader: GRUB 2.06, multiboot2, command line: 'exit_port=0xf4 a=b'\r\n"
)


def scan(text: str, done: str | None = None) -> ConsoleScanner:
    return ConsoleScanner.from_text(text, re.compile(done) if done else None)


def canned(text: str, outcome: Outcome, exit_status: int | None = None) -> BootResult:
    return BootResult(
        spec=QEMU_KERNEL, outcome=outcome, console=text, exit_status=exit_status, elapsed=1.0, timeout=9.0
    )


# --- console parsing and classification (no emulator) -------------------------


def test_lines_are_cleaned_and_split_from_timestamps() -> None:
    lines = parse_console(GRUB_TEXT)
    assert lines[0].raw == "  Booting `Keel'"
    assert lines[1].time == 0.0
    assert lines[1].text == "Keel hypervisor 0.1.0 (git abc)"
    assert clean_line("junk\r[  1.5] x\r") == "[  1.5] x"
    r = canned(GRUB_TEXT, Outcome.HANG)
    assert r.version == "0.1.0"
    assert r.multiboot == 2
    loader = r.loader
    assert loader is not None and loader.group("cmdline") == "exit_port=0xf4 a=b"


def test_poweroff_text_is_powered_off() -> None:
    s = scan(POWEROFF_TEXT)
    assert s.banner is not None and s.poweroff and not s.panic
    assert classify(s, exited=True, returncode=1, timed_out=False) is Outcome.POWERED_OFF
    # ACPI power-off without the exit port: QEMU exits 0, Bochs 1.
    assert classify(s, exited=True, returncode=0, timed_out=False) is Outcome.POWERED_OFF
    canned(POWEROFF_TEXT, Outcome.POWERED_OFF, 1).require_clean_poweroff()


def test_poweroff_line_without_final_newline_counts_at_finish() -> None:
    s = ConsoleScanner()
    s.feed((BOOT_TEXT + "[   0.000200] Keel: powering of").encode())
    s.feed(b"f")
    assert not s.poweroff  # incomplete line: not examined yet
    s.finish()
    assert s.poweroff


def test_poweroff_without_exit_is_a_hang() -> None:
    s = scan(POWEROFF_TEXT + "[   0.1] Power-off failed (no usable ACPI S5); halting.\n")
    assert classify(s, exited=False, returncode=None, timed_out=False) is Outcome.HANG


def test_panic_text_is_panic() -> None:
    s = scan(PANIC_TEXT)
    assert s.panic and s.panic_complete
    assert classify(s, exited=False, returncode=None, timed_out=False) is Outcome.PANIC
    assert classify(s, exited=True, returncode=3, timed_out=False) is Outcome.PANIC
    r = canned(PANIC_TEXT, Outcome.PANIC, 3)
    m = r.require_panic(r"page fault at (0x[0-9a-f]+)")
    assert m is not None and m.group(1) == "0xdead"
    with pytest.raises(AssertionError, match=r"expected powered_off, got panic") as e:
        r.require_clean_poweroff()
    assert "KEEL PANIC on CPU 0" in str(e.value) and "RIP: 0xffffffff80200000" in str(e.value)


def test_panic_wins_over_poweroff_and_done() -> None:
    s = scan(PANIC_TEXT + "[ 0.2] Keel: powering off\n", done="RIP")
    assert classify(s, exited=True, returncode=1, timed_out=False) is Outcome.PANIC


def test_other_classifications() -> None:
    assert classify(scan(BOOT_TEXT), exited=False, returncode=None, timed_out=True) is Outcome.HANG
    assert classify(scan(BOOT_TEXT), exited=True, returncode=0, timed_out=False) is Outcome.CRASHED
    assert classify(scan(BOOT_TEXT), exited=True, returncode=-11, timed_out=False) is Outcome.CRASHED
    assert classify(scan("SeaBIOS\n"), exited=True, returncode=1, timed_out=False) is Outcome.NO_BANNER
    assert classify(scan(""), exited=False, returncode=None, timed_out=True) is Outcome.NO_BANNER
    assert classify(scan(BOOT_TEXT, done=r"ACPI: RSDP"), exited=False, returncode=None, timed_out=False) is (
        Outcome.DONE
    )


def test_result_helpers() -> None:
    text = POWEROFF_TEXT + "[ 0.3] Test result: SKIP\n[ 0.4] Test result: SUCCESS\n"
    r = canned(text, Outcome.POWERED_OFF, 1)
    assert r.test_result == "SUCCESS"
    r.require_test_result("SUCCESS")
    assert [m.group(1) for m in r.find_all(r"ACPI: (\w+)")] == ["RSDP"]
    assert [ln.text for ln in r.lines_after("powering off")] == ["Test result: SKIP", "Test result: SUCCESS"]
    assert r.require(r"RSDP rev (\d)").group(1) == "0"
    r.require_absent("KEEL PANIC")
    with pytest.raises(AssertionError, match="no console line matches 'nonexistent'"):
        r.require("nonexistent")
    with pytest.raises(AssertionError, match="expected 'Test result: FAILURE'"):
        r.require_test_result("FAILURE")


def test_failure_message_shows_only_the_tail() -> None:
    text = "".join(f"[ {i}.0] line {i}\n" for i in range(100))
    msg = canned(text, Outcome.NO_BANNER).describe()
    assert "line 99" in msg and "line 60" in msg and "line 59\n" not in msg
    assert "[... 60 earlier lines ...]" in msg


# --- command lines (no emulator) --------------------------------------------


def test_qemu_argv_kernel(tmp_path: Path) -> None:
    mod = Module(tmp_path / "guest,1.elf", "a=b")
    argv = qemu_argv(QEMU_KERNEL.replace(cpus=4, memory_mib=6144, icount=True, modules=(mod,)), tmp_path / "s")
    joined = " ".join(argv)
    assert "-cpu qemu64,+svm,+npt" in joined and "-machine pc" in joined
    assert "-smp 4" in joined and "-m 6144M" in joined and "-icount shift=0,sleep=off" in joined
    assert "-no-reboot" in argv and "-nodefaults" in argv
    assert argv[argv.index("-append") + 1] == "exit_port=0xf4"
    assert argv[argv.index("-initrd") + 1] == f"{tmp_path}/guest,,1.elf a=b"
    assert "isa-debug-exit,iobase=0xf4,iosize=4" in argv


def test_qemu_argv_ovmf_iso(tmp_path: Path) -> None:
    argv = qemu_argv(QEMU_OVMF_ISO.replace(cmdline="x=1"), tmp_path / "s", tmp_path / "k.iso")
    joined = " ".join(argv)
    assert "-machine q35 -bios /usr/share/ovmf/OVMF.fd" in joined and f"-cdrom {tmp_path}/k.iso" in joined
    assert QEMU_OVMF_ISO.replace(cmdline="x=1").hv_cmdline == "exit_port=0xf4 x=1"


def test_bochsrc(tmp_path: Path) -> None:
    rc = bochsrc(BOCHS_ISO.replace(cpus=2, memory_mib=6144), tmp_path / "k.iso", tmp_path / "com1", tmp_path / "log")
    assert "cpu: model=corei7_skylake_x, count=2, ips=50000000, reset_on_triple_fault=0" in rc
    assert "memory: guest=6144, host=2048" in rc and "sound: driver=dummy" in rc
    assert "megs: 256" in bochsrc(BOCHS_ISO, tmp_path / "k.iso", tmp_path / "c", tmp_path / "l")
    assert BOCHS_ISO.hv_cmdline == ""  # no exit port under Bochs


def test_bochs_log_excerpt() -> None:
    log = (
        "00000000000i[CPU0  ] \t\tvmx\n"
        "00234901589e[CPU0  ] VMFAIL: VMCS host state invalid CR0 0x00000000\n"
        "00234901609p[ACPI  ] >>PANIC<< ACPI control: soft power off\n"
    )
    assert bochs_log_excerpt(log) == ["00234901589e[CPU0  ] VMFAIL: VMCS host state invalid CR0 0x00000000"]


def test_bochs_stderr_digest() -> None:
    err = (
        '00000000000i[PLUGIN] loaded plugin libbx_serial.so\n\nBochs connected to screen "/dev/pts/0"\n'
        + "=" * 72
        + "\nBochs is exiting with the following message:\n[ACPI  ] ACPI control: soft power off\n"
    )
    assert bochs_stderr_digest(err).splitlines() == [
        "Bochs is exiting with the following message:",
        "[ACPI  ] ACPI control: soft power off",
    ]


def test_spec_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="Bochs boots only ISOs"):
        BootSpec(backend="bochs")
    with pytest.raises(ValueError, match="needs SeaBIOS"):
        BootSpec(firmware="ovmf")
    with pytest.raises(ValueError, match="icount needs TCG"):
        BootSpec(accel="kvm", icount=True)


def test_iso_key_depends_on_contents(tmp_path: Path) -> None:
    mod = tmp_path / "m.bin"
    mod.write_bytes(b"one")
    k1 = iso_key(HV_ELF, "a", [Module(mod, "x")])
    assert k1 == iso_key(HV_ELF, "a", [Module(mod, "x")])
    assert k1 != iso_key(HV_ELF, "b", [Module(mod, "x")])
    assert k1 != iso_key(HV_ELF, "a", [Module(mod, "y")])
    mod.write_bytes(b"two!")
    assert k1 != iso_key(HV_ELF, "a", [Module(mod, "x")])


# --- real runs ----------------------------------------------------------------


@pytest.mark.boot
def test_hang_is_classified_hang(run_boot: RunBoot) -> None:
    # hang.elf stands in for a hypervisor that starts and then hangs: its first
    # line plays the banner (without one, a timeout reads as no_banner).
    r = run_boot(QEMU_KERNEL.replace(kernel=HANG_ELF, timeout=3.0, banner=r"^hang: started"))
    assert r.outcome is Outcome.HANG
    assert r.timeout <= r.elapsed < r.timeout + 3.0
    assert r.exit_status is None  # the harness stopped it
    with pytest.raises(AssertionError) as e:
        r.require_clean_poweroff()
    msg = str(e.value)
    assert "expected powered_off, got hang" in msg and "hang: started, now looping forever" in msg


@pytest.mark.boot
def test_timeout_without_banner_is_no_banner(run_boot: RunBoot) -> None:
    r = run_boot(QEMU_KERNEL.replace(kernel=HANG_ELF, timeout=1.0))
    assert r.outcome is Outcome.NO_BANNER
    assert r.exit_status is None


@pytest.mark.boot
def test_silent_is_no_banner(run_boot: RunBoot) -> None:
    r = run_boot(QEMU_KERNEL.replace(kernel=SILENT_ELF, timeout=10.0))
    assert r.outcome is Outcome.NO_BANNER
    assert r.exit_status == 1
    assert r.console == ""
    with pytest.raises(AssertionError, match=r"expected powered_off, got no_banner[\s\S]*no console output"):
        r.require_clean_poweroff()


@pytest.mark.boot
def test_hypervisor_powers_off(run_boot: RunBoot) -> None:
    r = run_boot(QEMU_KERNEL.replace(cmdline="harness=1"))
    r.require_clean_poweroff()
    assert r.exit_status == 1  # isa-debug-exit: (0 << 1) | 1
    assert r.banner_elapsed is not None and r.banner_elapsed <= r.elapsed
    assert r.elapsed < 10.0
    assert r.workdir is not None and (r.workdir / "console.log").read_bytes().decode() == r.console
