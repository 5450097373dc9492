"""Run every host unit-test program (build/host/test_*), one pytest test each.

The programs are built by `scons` from tests/unit/host/test_*.c with ASan and
UBSan; each prints "N checks, M failures" and exits non-zero on any failure or
sanitizer report.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HOST_DIR = ROOT / "build" / "host"
TIMEOUT_S = 120
NO_PROGRAMS = "no-programs"


def host_programs() -> list[str]:
    if not HOST_DIR.is_dir():
        return []
    return sorted(
        p.name for p in HOST_DIR.iterdir() if p.name.startswith("test_") and p.is_file() and os.access(p, os.X_OK)
    )


def _params() -> list[str]:
    # An empty list would only skip; a sentinel makes the missing build fail.
    return host_programs() or [NO_PROGRAMS]


@pytest.mark.parametrize("program", _params())
def test_host_program(program: str) -> None:
    if program == NO_PROGRAMS:
        pytest.fail(f"no host test programs in {HOST_DIR}: build them first with `scons -Q -j2`", pytrace=False)
    exe = HOST_DIR / program
    env = dict(os.environ)
    # The programs are built with -fno-sanitize-recover: a UBSan report ends
    # the run; ask for the stack as well.
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
    try:
        proc = subprocess.run(
            [str(exe)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else str(e.stdout or "")
        pytest.fail(f"{program} timed out after {TIMEOUT_S} s; output so far:\n{out}")
    if proc.returncode != 0:
        pytest.fail(
            f"{program} exited with status {proc.returncode}\n"
            f"--- stdout ---\n{proc.stdout}--- stderr ---\n{proc.stderr}",
            pytrace=False,
        )
