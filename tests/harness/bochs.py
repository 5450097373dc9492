"""Bochs configuration files, command line and log digging."""

from __future__ import annotations

import re
from pathlib import Path

from .paths import BOCHS, BOCHS_BIOS, BOCHS_VGABIOS
from .spec import BOCHS_CPU, BootSpec

BOCHS_IPS = 50_000_000  # fixed: guest time depends on it
BOCHS_MAX_HOST_MIB = 2048  # Bochs refuses a larger host allocation; above it, it pages guest memory

# Bochs log lines worth showing when a run fails: error and panic levels, and
# anything about VM entry (Bochs names the exact failed VM-entry check).
_LOG_INTERESTING = re.compile(r"^\d+[ep]\[|VMFAIL|VMENTER|VMLAUNCH|VMRESUME|VMEXIT|VMCS|vmentry", re.IGNORECASE)
_LOG_EXPECTED = re.compile(r"ACPI control: soft power off")


def bochsrc(spec: BootSpec, iso: Path, serial: Path, log: Path) -> str:
    """The bochsrc text for spec, booting iso with COM1 written to the file serial."""
    mib = spec.memory_mib
    memory = f"megs: {mib}" if mib <= BOCHS_MAX_HOST_MIB else f"memory: guest={mib}, host={BOCHS_MAX_HOST_MIB}"
    lines = [
        f"romimage: file={BOCHS_BIOS}",
        f"vgaromimage: file={BOCHS_VGABIOS}",
        memory,
        f"cpu: model={spec.cpu_model or BOCHS_CPU}, count={spec.cpus}, ips={BOCHS_IPS}, reset_on_triple_fault=0",
        f'ata0-master: type=cdrom, path="{iso}", status=inserted',
        "boot: cdrom",
        f'com1: enabled=1, mode=file, dev="{serial}"',
        "display_library: term",
        "sound: driver=dummy",
        "speaker: enabled=0",
        "error: action=report",
        f'log: "{log}"',
        "clock: sync=none, time0=1",
        *spec.bochsrc_extra,
    ]
    return "\n".join(lines) + "\n"


# The built-in debugger reads its commands from this file (-rc): run, then quit.
BOCHS_RC = "continue\nquit\n"


def bochs_argv(bochsrc_path: Path, rc_path: Path) -> list[str]:
    return [BOCHS, "-q", "-f", str(bochsrc_path), "-rc", str(rc_path)]


def bochs_log_excerpt(log_text: str, max_lines: int = 30) -> list[str]:
    """The last error, panic and VM-entry lines of a Bochs log."""
    hits = [ln.rstrip() for ln in log_text.splitlines() if _LOG_INTERESTING.search(ln) and not _LOG_EXPECTED.search(ln)]
    return hits[-max_lines:]


_STDERR_NOISE = re.compile(r"^\d+i\[|^Bochs connected to screen|^=+$|^\s*$")


def bochs_stderr_digest(stderr: str) -> str:
    """Bochs's stderr without its start-up chatter (info lines, banners)."""
    return "\n".join(ln for ln in stderr.splitlines() if not _STDERR_NOISE.search(ln))
