"""Boot a bundle's ISO in QEMU and stream the serial console."""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from keel.errors import BundleError

EXIT_PORT = 0xF4
# isa-debug-exit makes QEMU exit with (value << 1) | 1; the hypervisor writes these values.
EXIT_POWEROFF = (0 << 1) | 1
EXIT_PANIC = (1 << 1) | 1


@dataclass(frozen=True)
class QemuOptions:
    memory_mib: int = 1024
    smp: int = 2
    timeout: float | None = None
    qemu: str = "qemu-system-x86_64"
    extra: Sequence[str] = ()


@dataclass(frozen=True)
class QemuResult:
    returncode: int | None
    timed_out: bool

    @property
    def outcome(self) -> str:
        if self.timed_out:
            return "timed out"
        if self.returncode == EXIT_POWEROFF:
            return "hypervisor powered off"
        if self.returncode == EXIT_PANIC:
            return "hypervisor panicked"
        return f"QEMU exited with status {self.returncode}"

    @property
    def exit_status(self) -> int:
        """A process exit status: 0 power-off, 1 panic, 124 timeout, else QEMU's."""
        if self.timed_out:
            return 124
        if self.returncode == EXIT_POWEROFF:
            return 0
        if self.returncode == EXIT_PANIC:
            return 1
        return self.returncode or 0


def qemu_command(iso: Path, opts: QemuOptions) -> list[str]:
    return [
        opts.qemu,
        "-cdrom",
        str(iso),
        "-serial",
        "stdio",
        "-display",
        "none",
        "-m",
        str(opts.memory_mib),
        "-smp",
        str(opts.smp),
        "-cpu",
        "qemu64,+svm,+npt",
        "-no-reboot",
        "-device",
        f"isa-debug-exit,iobase={EXIT_PORT:#x},iosize=4",
        *opts.extra,
    ]


def run_qemu(iso: Path, opts: QemuOptions, output: Callable[[bytes], None]) -> QemuResult:
    """Run QEMU until it exits (or the timeout passes), passing its serial output on."""
    cmd = qemu_command(iso, opts)
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    except OSError as e:
        raise BundleError(f"cannot run {opts.qemu}: {e.strerror}") from e
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    deadline = None if opts.timeout is None else time.monotonic() + opts.timeout
    timed_out = False
    try:
        while True:
            wait = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                timed_out = True
                break
            data = os.read(fd, 65536)
            if not data:
                break
            output(data)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stdout.close()
    return QemuResult(None if timed_out else proc.returncode, timed_out)
