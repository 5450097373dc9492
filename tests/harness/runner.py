"""Running one boot: spawn the emulator, follow COM1, stop at an end condition."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from .bochs import BOCHS_RC, bochs_argv, bochs_log_excerpt, bochs_stderr_digest, bochsrc
from .console import BANNER_RE, ConsoleScanner, classify
from .isocache import cached_iso
from .paths import BOCHS, QEMU, timeout_scale
from .qemu import qemu_argv
from .result import BootResult
from .spec import BootSpec

POLL_INTERVAL = 0.02  # seconds between console reads while the emulator runs
POWEROFF_GRACE = 5.0  # seconds the emulator gets to exit after "Keel: powering off"
STDERR_TAIL_BYTES = 8192
BOCHS_LOG_TAIL_BYTES = 1 << 20


class _Process:
    """An emulator in its own session; waits without reaping so the group can always be killed."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        with (cwd / "emulator.out").open("wb") as out, (cwd / "emulator.err").open("wb") as err:
            self.proc = subprocess.Popen(
                argv,
                cwd=cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
        self._pidfd: int | None = None
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(self.proc.pid)

    def exited(self) -> bool:
        """Whether the emulator has ended (it stays a zombie: its group id cannot be reused)."""
        if self.proc.returncode is not None:
            return True
        info = os.waitid(os.P_PID, self.proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        return info is not None and info.si_pid == self.proc.pid

    def wait(self, seconds: float) -> None:
        """Return after `seconds`, or earlier if the emulator exits."""
        if self._pidfd is not None:
            select.select([self._pidfd], [], [], seconds)
        else:
            time.sleep(seconds)

    def close(self) -> int:
        """Kill the whole process group (the leader is not reaped yet), reap, return the status."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        status = self.proc.wait()
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None
        return status


def _read_tail(path: Path, nbytes: int) -> str:
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - nbytes))
            return f.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""


def _prepare(spec: BootSpec, run_dir: Path, serial: Path) -> tuple[list[str], dict[str, str]]:
    """The emulator's command line and environment; builds the ISO if the spec needs one."""
    env = dict(os.environ)
    if not spec.kernel.is_file():
        raise FileNotFoundError(f"boot image {spec.kernel} is missing: run `scons` first")
    iso = None
    if spec.boot == "iso":
        iso = spec.iso or cached_iso(spec.kernel, spec.hv_cmdline, spec.modules)
    if spec.backend == "qemu":
        if shutil.which(QEMU) is None:
            raise RuntimeError(f"{QEMU} is not installed (Debian package qemu-system-x86)")
        return qemu_argv(spec, serial, iso), env
    if shutil.which(BOCHS) is None:
        raise RuntimeError("bochs is not installed (Debian packages bochs bochsbios vgabios bochs-term)")
    assert iso is not None
    rc_path = run_dir / "bochs.rc"
    rc_path.write_text(BOCHS_RC)
    conf = run_dir / "bochsrc"
    conf.write_text(bochsrc(spec, iso, serial, run_dir / "bochs.log"))
    env["TERM"] = "dumb"
    return bochs_argv(conf, rc_path), env


def boot(spec: BootSpec, workdir: Path | None = None) -> BootResult:
    """Boot spec and return how it ended.  Never raises for guest misbehaviour
    (check the result with its require_* helpers); raises for harness problems
    (missing images or emulators, ISO build failures).

    workdir: a directory to keep the run's files in (a fresh subdirectory is
    made there, so several boots can share one); None uses a temporary
    directory that is removed afterwards."""
    if workdir is None:
        run_dir = Path(tempfile.mkdtemp(prefix="keel-boot-"))
    else:
        workdir.mkdir(parents=True, exist_ok=True)
        run_dir = Path(tempfile.mkdtemp(prefix=f"boot-{spec.label or spec.backend}-", dir=workdir))
    try:
        result = _run(spec, run_dir)
    finally:
        if workdir is None:
            shutil.rmtree(run_dir, ignore_errors=True)
    if workdir is None:
        result.workdir = None
    return result


def _run(spec: BootSpec, run_dir: Path) -> BootResult:
    serial = run_dir / "console.log"
    serial.touch()
    argv, env = _prepare(spec, run_dir, serial)
    done = re.compile(spec.done) if spec.done else None
    scanner = ConsoleScanner(done, re.compile(spec.banner) if spec.banner else BANNER_RE)
    timeout = spec.effective_timeout
    panic_grace = spec.panic_grace * timeout_scale()
    poweroff_grace = POWEROFF_GRACE * timeout_scale()

    exited = timed_out = False
    banner_elapsed: float | None = None
    with serial.open("rb") as console:
        start = time.monotonic()
        proc = _Process(argv, run_dir, env)
        try:
            deadline = start + timeout
            grace_deadline: float | None = None
            while True:
                exited = proc.exited()  # check first, then read: nothing written before exit is missed
                scanner.feed(console.read())
                now = time.monotonic()
                if banner_elapsed is None and scanner.banner is not None:
                    banner_elapsed = now - start
                if exited:
                    break
                if scanner.panic:
                    if scanner.panic_complete:
                        break
                    if grace_deadline is None:
                        grace_deadline = now + panic_grace
                elif scanner.done or scanner.poweroff_failed:
                    break
                elif scanner.poweroff and grace_deadline is None:
                    grace_deadline = now + poweroff_grace
                if grace_deadline is not None and now >= grace_deadline:
                    break
                if now >= deadline:
                    timed_out = True
                    break
                proc.wait(min(POLL_INTERVAL, max(0.0, deadline - now)))
        finally:
            status = proc.close()
            elapsed = time.monotonic() - start
        scanner.feed(console.read())
    scanner.finish()

    outcome = classify(scanner, exited=exited, returncode=status if exited else None, timed_out=timed_out)
    log = run_dir / "bochs.log"
    stderr = _read_tail(run_dir / "emulator.err", STDERR_TAIL_BYTES)
    if spec.backend == "bochs":
        stderr = bochs_stderr_digest(stderr)
    return BootResult(
        spec=spec,
        outcome=outcome,
        console=scanner.text,
        exit_status=status if exited else None,
        elapsed=elapsed,
        timeout=timeout,
        argv=argv,
        workdir=run_dir,
        emulator_stderr=stderr,
        emulator_log=bochs_log_excerpt(_read_tail(log, BOCHS_LOG_TAIL_BYTES)),
        banner_elapsed=banner_elapsed,
        lines=list(scanner.lines),
    )
