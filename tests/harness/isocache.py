"""GRUB ISOs for boot tests, built with python_build.iso.make_iso and cached by content.

The cache key hashes the kernel's and modules' contents, the command lines and
iso.py itself, so an ISO is rebuilt exactly when something in it would change.
Parallel workers (pytest -n) serialize on a per-key lock file and publish with
an atomic rename, so each distinct ISO is built once."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import time
from collections.abc import Sequence
from pathlib import Path

from python_build import iso as iso_module
from python_build.iso import Module, make_iso

from .paths import CACHE_DIR

_hash_memo: dict[tuple[str, int, int], str] = {}


def file_digest(path: Path) -> str:
    """SHA-256 of a file's contents, memoized by (path, size, mtime)."""
    st = path.stat()
    memo_key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    digest = _hash_memo.get(memo_key)
    if digest is None:
        h = hashlib.sha256()
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        digest = h.hexdigest()
        _hash_memo[memo_key] = digest
    return digest


def iso_key(kernel: Path, cmdline: str, modules: Sequence[Module]) -> str:
    h = hashlib.sha256()

    def put(s: str) -> None:
        h.update(s.encode())
        h.update(b"\0")

    put("keel-harness-iso-v1")
    put(file_digest(Path(iso_module.__file__)))
    put(file_digest(kernel))
    put(cmdline)
    for m in modules:
        put(m.path.name)
        put(file_digest(m.path))
        put(m.cmdline)
    return h.hexdigest()[:32]


def cached_iso(
    kernel: Path,
    cmdline: str = "",
    modules: Sequence[Module] = (),
    cache_dir: Path = CACHE_DIR,
) -> Path:
    """The path of an ISO booting kernel (multiboot2) with cmdline and modules, built on first use."""
    out = cache_dir / f"{iso_key(kernel, cmdline, modules)}.iso"
    if not out.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        with open(out.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not out.exists():
                tmp = out.with_name(f"{out.stem}.tmp-{os.getpid()}.iso")
                try:
                    make_iso(tmp, kernel, cmdline, modules)
                    os.replace(tmp, out)
                finally:
                    tmp.unlink(missing_ok=True)
    with contextlib.suppress(FileNotFoundError):
        os.utime(out)  # mark as recently used for prune_iso_cache
    return out


def prune_iso_cache(
    cache_dir: Path = CACHE_DIR,
    max_bytes: int = 2 << 30,
    stale_tmp_seconds: float = 3600.0,
) -> list[Path]:
    """Delete least recently used ISOs until the cache holds at most max_bytes.

    Not safe while other processes use the cache: call it once per test run
    before any worker starts (tests/conftest.py does, in the controller)."""
    if not cache_dir.is_dir():
        return []
    removed: list[Path] = []
    now = time.time()
    isos: list[tuple[float, int, Path]] = []
    for p in cache_dir.iterdir():
        try:
            st = p.stat()
        except FileNotFoundError:
            continue
        if ".tmp-" in p.name:
            if now - st.st_mtime > stale_tmp_seconds:
                p.unlink(missing_ok=True)
                removed.append(p)
        elif p.suffix == ".iso":
            isos.append((st.st_mtime, st.st_size, p))
        elif p.suffix == ".lock" and not p.with_suffix(".iso").exists():
            p.unlink(missing_ok=True)
    total = sum(size for _, size, _ in isos)
    for _, size, p in sorted(isos):
        if total <= max_bytes:
            break
        p.unlink(missing_ok=True)
        p.with_suffix(".lock").unlink(missing_ok=True)
        removed.append(p)
        total -= size
    return removed
