"""Find, or fetch with apt, a Debian cloud kernel for the bzImage tests.

The kernel is cached in build/test-kernels/ (download and unpack happen once,
under a lock so parallel workers share them). Without network the fixture
fails with the reason: the bzImage tests must not silently skip."""

from __future__ import annotations

import fcntl
import re
import subprocess
from pathlib import Path

import pytest

META_PACKAGE = "linux-image-cloud-amd64"


def _cached(root: Path) -> Path | None:
    found = sorted(root.glob("boot/vmlinuz-*-cloud-amd64"))
    return found[-1] if found else None


def _run(cmd: list[str], cwd: Path) -> str:
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(
            f"cannot fetch a Debian kernel for the bzImage tests: `{' '.join(cmd)}` failed:\n{proc.stderr.strip()}\n"
            f"(needs apt and network access once; the kernel is then cached in {cwd})",
            pytrace=False,
        )
    return proc.stdout


def find_or_fetch_kernel(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        cached = _cached(root)
        if cached is not None:
            return cached
        depends = _run(["apt-cache", "depends", META_PACKAGE], root)
        m = re.search(r"Depends: (linux-image-[0-9][^\s]*-cloud-amd64)", depends)
        if not m:
            pytest.fail(f"apt-cache shows no kernel package behind {META_PACKAGE}:\n{depends}", pytrace=False)
        package = m.group(1)
        _run(["apt-get", "download", package], root)
        debs = sorted(root.glob(f"{package}_*.deb"))
        if not debs:
            pytest.fail(f"apt-get download {package} left no .deb in {root}", pytrace=False)
        _run(["dpkg-deb", "-x", str(debs[-1]), str(root)], root)
        debs[-1].unlink()
        cached = _cached(root)
        if cached is None:
            pytest.fail(f"{debs[-1].name} has no boot/vmlinuz-*-cloud-amd64", pytrace=False)
        return cached
