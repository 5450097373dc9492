"""QEMU command lines, and detection of a KVM that can really run guests."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from .paths import OVMF_FD, QEMU, SILENT_ELF
from .spec import EXIT_PORT, QEMU_CPU, BootSpec


def _opt_escape(value: str) -> str:
    """Escape a value inside a QEMU comma-separated option list."""
    return value.replace(",", ",,")


@functools.cache
def kvm_usable(probe_image: Path = SILENT_ELF, timeout: float = 20.0) -> bool:
    """Whether `-accel kvm -cpu host` can really run a guest here (asked once per process).

    Boots the harness's silent.elf, which writes 0 to the debug-exit port:
    QEMU must exit with status 1.  A /dev/kvm that exists but cannot run
    ordinary guests fails this quickly."""
    if shutil.which(QEMU) is None or not os.access("/dev/kvm", os.R_OK | os.W_OK) or not probe_image.is_file():
        return False
    argv = [
        QEMU,
        "-accel",
        "kvm",
        "-cpu",
        "host",
        "-machine",
        "pc",
        "-m",
        "64",
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
        "-device",
        f"isa-debug-exit,iobase={EXIT_PORT:#x},iosize=4",
        "-kernel",
        str(probe_image),
    ]
    try:
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 1


def resolve_accel(spec: BootSpec) -> str:
    """The accelerator for spec: "tcg" or "kvm" ("auto" picks KVM when it works and icount is off)."""
    if spec.accel == "auto":
        return "kvm" if not spec.icount and kvm_usable() else "tcg"
    return spec.accel


def qemu_argv(spec: BootSpec, serial: Path, iso: Path | None = None) -> list[str]:
    """The full QEMU command line for spec, with COM1 written to the file serial."""
    accel = resolve_accel(spec)
    cpu = spec.cpu_model or ("host" if accel == "kvm" else QEMU_CPU)
    argv = [QEMU, "-accel", accel, "-cpu", cpu]
    if spec.firmware == "ovmf":
        argv += ["-machine", "q35", "-bios", str(OVMF_FD)]
    else:
        argv += ["-machine", "pc"]
    argv += [
        "-smp",
        str(spec.cpus),
        "-m",
        f"{spec.memory_mib}M",
        "-nodefaults",
        "-display",
        "none",
        "-no-reboot",
        "-chardev",
        f"file,id=com1,path={_opt_escape(str(serial))}",
        "-serial",
        "chardev:com1",
    ]
    if spec.icount:
        argv += ["-icount", "shift=0,sleep=off"]
    if spec.exit_port:
        argv += ["-device", f"isa-debug-exit,iobase={EXIT_PORT:#x},iosize=4"]
    if spec.boot == "kernel":
        argv += ["-kernel", str(spec.kernel), "-append", spec.hv_cmdline]
        if spec.modules:
            mods = [_opt_escape(f"{m.path.resolve()} {m.cmdline}".rstrip()) for m in spec.modules]
            argv += ["-initrd", ",".join(mods)]
    else:
        if iso is None:
            raise ValueError("an ISO boot needs the ISO path")
        if "," in str(iso):
            raise ValueError(f"QEMU -cdrom cannot take a path with commas: {iso}")
        argv += ["-cdrom", str(iso)]
    argv += list(spec.emulator_args)
    return argv
