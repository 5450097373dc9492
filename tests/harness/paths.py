"""Where the build outputs and the harness's cache live."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# KEEL_BUILD_DIR points the tests at another build (default: the repository's build/).
BUILD_DIR = Path(os.environ.get("KEEL_BUILD_DIR") or REPO_ROOT / "build").resolve()
HV_ELF = BUILD_DIR / "hv.elf"
KEEL_ISO = BUILD_DIR / "keel.iso"
HANG_ELF = BUILD_DIR / "tests" / "hang.elf"
SILENT_ELF = BUILD_DIR / "tests" / "silent.elf"
CACHE_DIR = BUILD_DIR / "harness-cache"

# Outputs every boot test needs (built by a plain `scons`).
REQUIRED_OUTPUTS = (HV_ELF, HANG_ELF, SILENT_ELF)

QEMU = "qemu-system-x86_64"
BOCHS = "bochs"
OVMF_FD = Path("/usr/share/ovmf/OVMF.fd")
BOCHS_BIOS = Path("/usr/share/bochs/BIOS-bochs-latest")
BOCHS_VGABIOS = Path("/usr/share/vgabios/vgabios.bin")


def missing_build_outputs() -> list[Path]:
    """Build outputs the boot tests need that do not exist yet."""
    return [p for p in REQUIRED_OUTPUTS if not p.is_file()]


def timeout_scale() -> float:
    """Multiplier for every boot timeout: KEEL_TIMEOUT_SCALE (default 1) for slow machines."""
    try:
        scale = float(os.environ.get("KEEL_TIMEOUT_SCALE", "1"))
    except ValueError:
        return 1.0
    return scale if scale > 0 else 1.0
