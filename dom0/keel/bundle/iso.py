"""The bundle's ISO and grub.cfg, made by the build's own python_build.iso."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from keel.errors import BundleError


@dataclass(frozen=True)
class IsoModule:
    path: Path
    cmdline: str


def _repo_root() -> Path | None:
    """The checkout this package runs from (dom0/keel/bundle -> the repository)."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "python_build" / "iso.py").is_file() else None


def _ensure_importable() -> None:
    try:
        import python_build.iso  # noqa: F401
    except ModuleNotFoundError:
        root = _repo_root()
        if root is None:
            raise BundleError(
                "python_build (the Keel build helpers) is not importable and no checkout was found"
            ) from None
        sys.path.append(str(root))


def grub_cfg(cmdline: str, modules: Sequence[IsoModule]) -> str:
    _ensure_importable()
    from python_build import iso

    return iso.grub_cfg(cmdline, [iso.Module(m.path, m.cmdline) for m in modules])


def make_iso(out: Path, hv_elf: Path, cmdline: str, modules: Sequence[IsoModule]) -> Path:
    _ensure_importable()
    from python_build import iso

    try:
        return iso.make_iso(out, hv_elf, cmdline, [iso.Module(m.path, m.cmdline) for m in modules])
    except (RuntimeError, OSError) as e:
        raise BundleError(f"cannot build {out}: {e}") from e
