"""BootSpec: everything that describes one boot of the hypervisor under an emulator."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from python_build.iso import Module

from .paths import HV_ELF, timeout_scale

Backend = Literal["qemu", "bochs"]
BootMethod = Literal["kernel", "iso"]
Firmware = Literal["seabios", "ovmf"]
Accel = Literal["tcg", "kvm", "auto"]

QEMU_CPU = "qemu64,+svm,+npt"  # AMD-V with nested paging under TCG
BOCHS_CPU = "corei7_skylake_x"  # VT-x with EPT, VPID, unrestricted guest
EXIT_PORT = 0xF4  # QEMU isa-debug-exit; the hypervisor writes 0 (power-off) or 1 (panic)

# Default timeouts in seconds (before KEEL_TIMEOUT_SCALE): generous, since
# they only matter when something hangs.
DEFAULT_TIMEOUT: dict[tuple[Backend, Firmware], float] = {
    ("qemu", "seabios"): 30.0,
    ("qemu", "ovmf"): 60.0,
    ("bochs", "seabios"): 90.0,
}


@dataclass(frozen=True)
class BootSpec:
    """One boot: the emulated machine, how the hypervisor gets loaded, and the run's limits.

    backend   "qemu" (AMD-V via TCG, or KVM) or "bochs" (Intel VT-x).
    boot      "kernel": QEMU -kernel (multiboot1), -append, -initrd for modules;
              "iso": a GRUB ISO (multiboot2) built and cached by isocache.
    firmware  "seabios" (-machine pc) or "ovmf" (-machine q35 + OVMF, ISO only).
    kernel    the multiboot image to boot (the hypervisor by default).
    cmdline   hypervisor options; the harness prepends exit_port=0xf4 under QEMU.
    modules   multiboot modules (guest kernels...), in order.
    done      a regex: stop as soon as a console line matches (outcome "done").
    banner    a regex for the line proving the image started (default: Keel's
              banner); without it a run is "no_banner" rather than "hang".
    timeout   seconds; None picks a per-backend default; both are scaled by
              KEEL_TIMEOUT_SCALE.
    """

    backend: Backend = "qemu"
    boot: BootMethod = "kernel"
    firmware: Firmware = "seabios"
    kernel: Path = HV_ELF
    cmdline: str = ""
    modules: tuple[Module, ...] = ()
    cpus: int = 1
    memory_mib: int = 256
    cpu_model: str | None = None  # None: QEMU_CPU / BOCHS_CPU ("host" under KVM)
    accel: Accel = "tcg"  # "auto": KVM when /dev/kvm really works and icount is off
    icount: bool = False  # QEMU -icount shift=0,sleep=off: RDTSC counts instructions
    timeout: float | None = None
    done: str | None = None
    banner: str | None = None  # regex of the line that proves the image started; None: Keel's banner
    panic_grace: float = 1.0  # after a panic line, wait this long for the dump to finish
    exit_port: bool = True  # QEMU: add exit_port=0xf4 and the isa-debug-exit device
    emulator_args: tuple[str, ...] = ()  # extra QEMU arguments
    bochsrc_extra: tuple[str, ...] = ()  # extra bochsrc lines
    label: str = field(default="", compare=False)  # a name for messages
    iso: Path | None = None  # boot="iso": this prebuilt ISO instead of one built from kernel/cmdline/modules

    def __post_init__(self) -> None:
        object.__setattr__(self, "modules", tuple(self.modules))  # accept any sequence
        if self.backend not in ("qemu", "bochs"):
            raise ValueError(f"unknown backend {self.backend!r}")
        if self.boot not in ("kernel", "iso"):
            raise ValueError(f"unknown boot method {self.boot!r}")
        if self.firmware not in ("seabios", "ovmf"):
            raise ValueError(f"unknown firmware {self.firmware!r}")
        if self.backend == "bochs" and self.boot != "iso":
            raise ValueError("Bochs boots only ISOs: use boot='iso'")
        if self.backend == "bochs" and self.firmware != "seabios":
            raise ValueError("Bochs has only its BIOS: use firmware='seabios'")
        if self.backend == "bochs" and self.accel == "kvm":
            raise ValueError("Bochs has no KVM acceleration")
        if self.boot == "kernel" and self.firmware == "ovmf":
            raise ValueError("QEMU -kernel (multiboot1) needs SeaBIOS: use boot='iso' with OVMF")
        if self.icount and self.accel == "kvm":
            raise ValueError("icount needs TCG")
        if not 1 <= self.cpus <= 255:
            raise ValueError(f"cpus={self.cpus} out of range")
        if self.memory_mib < 16:
            raise ValueError(f"memory_mib={self.memory_mib} too small")
        if self.boot == "kernel":
            for m in self.modules:
                if " " in str(m.path):
                    raise ValueError(f"QEMU -initrd cannot pass a module path with spaces: {m.path}")

    def replace(self, **changes: Any) -> BootSpec:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def hv_cmdline(self) -> str:
        """The hypervisor command line actually passed (caller options last, so they win)."""
        parts = []
        if self.backend == "qemu" and self.exit_port:
            parts.append(f"exit_port={EXIT_PORT:#x}")
        if self.cmdline:
            parts.append(self.cmdline)
        return " ".join(parts)

    @property
    def effective_timeout(self) -> float:
        base = self.timeout if self.timeout is not None else DEFAULT_TIMEOUT[(self.backend, self.firmware)]
        return base * timeout_scale()

    def describe(self) -> str:
        bits = [self.label] if self.label else []
        bits += [self.backend, self.boot, self.firmware, f"cpus={self.cpus}", f"mem={self.memory_mib}M"]
        if self.icount:
            bits.append("icount")
        if self.accel != "tcg":
            bits.append(f"accel={self.accel}")
        if self.kernel != HV_ELF:
            bits.append(f"kernel={self.kernel}")
        bits.append(f"cmdline={self.hv_cmdline!r}")
        if self.modules:
            bits.append("modules=" + ", ".join(f"{m.path.name} {m.cmdline}".strip() for m in self.modules))
        return " ".join(bits)


# The four standard ways to boot Keel; later tests can parametrize over them and
# .replace() what they need.
QEMU_KERNEL = BootSpec(label="qemu-kernel")
QEMU_SEABIOS_ISO = BootSpec(boot="iso", label="qemu-seabios-iso")
QEMU_OVMF_ISO = BootSpec(boot="iso", firmware="ovmf", label="qemu-ovmf-iso")
BOCHS_ISO = BootSpec(backend="bochs", boot="iso", label="bochs-iso")
STANDARD_MACHINES: dict[str, BootSpec] = {s.label: s for s in (QEMU_KERNEL, QEMU_SEABIOS_ISO, QEMU_OVMF_ISO, BOCHS_ISO)}
