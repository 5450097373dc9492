"""`keel run`: the QEMU command line, console streaming, exit statuses and the timeout."""

from __future__ import annotations

import os
import re
import stat
import sys
from pathlib import Path

from keel.bundle.qemu import QemuOptions, qemu_command, run_qemu

from tests.toolstack.conftest import Cli, check_golden
from tests.toolstack.elfgen import simple_kernel


def fake_qemu(tmp: Path, body: str) -> Path:
    """A stand-in for qemu-system-x86_64: a Python script that records its arguments."""
    path = tmp / "fake-qemu"
    path.write_text(
        f"#!{sys.executable}\nimport sys, time\n"
        f"open({str(tmp / 'qemu-args')!r}, 'w').write('\\n'.join(sys.argv[1:]))\n{body}\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def test_qemu_command_line() -> None:
    cmd = qemu_command(Path("/b/keel.iso"), QemuOptions(memory_mib=512, smp=4))
    assert cmd == [
        "qemu-system-x86_64", "-cdrom", "/b/keel.iso", "-serial", "stdio", "-display", "none", "-m", "512",
        "-smp", "4", "-cpu", "qemu64,+svm,+npt", "-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=4",
    ]  # fmt: skip


def test_streams_output_and_maps_exit_codes(tmp_path: Path) -> None:
    chunks: list[bytes] = []
    for code, status, outcome in ((1, 0, "hypervisor powered off"), (3, 1, "hypervisor panicked"), (7, 7, "status 7")):
        qemu = fake_qemu(tmp_path, f"print('line one', flush=True)\nprint('line two')\nsys.exit({code})")
        result = run_qemu(tmp_path / "x.iso", QemuOptions(qemu=str(qemu)), chunks.append)
        assert (result.exit_status, result.timed_out) == (status, False)
        assert outcome in result.outcome
    assert b"".join(chunks).count(b"line one\nline two\n") == 3


def test_timeout_kills_qemu(tmp_path: Path) -> None:
    qemu = fake_qemu(tmp_path, "print('booting', flush=True)\ntime.sleep(60)")
    out: list[bytes] = []
    result = run_qemu(tmp_path / "x.iso", QemuOptions(qemu=str(qemu), timeout=0.5), out.append)
    assert (result.timed_out, result.exit_status, result.outcome) == (True, 124, "timed out")
    assert b"".join(out) == b"booting\n"


def test_keel_run(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "kernel.elf").write_bytes(simple_kernel())
    (tmp_path / "hv.elf").write_bytes(simple_kernel())
    (tmp_path / "a.cfg").write_text("name = 'a'\nkernel = 'kernel.elf'\nmemory = 16\n")
    qemu = fake_qemu(tmp_path, "print('Keel: powering off')\nsys.exit(1)")
    cli.ok("run", "a.cfg", "--hv", "hv.elf", "--qemu", str(qemu), "--smp", "3", "--memory", "256", "--keep", "bundle")
    args = (tmp_path / "qemu-args").read_text().splitlines()
    assert args[args.index("-smp") + 1] == "3" and args[args.index("-m") + 1] == "256"
    assert Path(args[args.index("-cdrom") + 1]) == Path("bundle/keel.iso")
    assert "exit_port=0xf4" in (tmp_path / "bundle" / "grub.cfg").read_text()
    qemu = fake_qemu(tmp_path, "print('*** PANIC ***')\nsys.exit(3)")
    cli.fail("run", "a.cfg", "--hv", "hv.elf", "--qemu", str(qemu))
    cli.fail("run", "--hv", "hv.elf", rc=2)  # no configs and no examples/ here
    check_golden("cli-run.txt", re.sub(r"/\S*/keel-run-\w+/", "<RUNDIR>/", cli.transcript()))


def test_run_without_qemu(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "kernel.elf").write_bytes(simple_kernel())
    (tmp_path / "a.cfg").write_text("name = 'a'\nkernel = 'kernel.elf'\nmemory = 16\n")
    r = cli.fail("run", "a.cfg", "--hv", "kernel.elf", "--qemu", os.fspath(tmp_path / "no-qemu"))
    assert "cannot run" in r.err
