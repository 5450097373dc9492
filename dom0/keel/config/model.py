"""The validated domain configuration."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path

from keel.config.devices import Disk, PciDevice, Vif
from keel.cpumap import CpuSet

MIB = 1 << 20


class Action(StrEnum):
    """What the hypervisor does when a domain powers off, reboots or crashes."""

    DESTROY = "destroy"
    RESTART = "restart"
    PRESERVE = "preserve"


@dataclass(frozen=True)
class Pinning:
    """Hard CPU affinity: one set for every vCPU, or one per vCPU (xl's list form)."""

    default: CpuSet = field(default_factory=CpuSet.all)
    per_vcpu: tuple[CpuSet, ...] = ()

    def for_vcpu(self, vcpu: int) -> CpuSet:
        return self.per_vcpu[vcpu] if vcpu < len(self.per_vcpu) else self.default

    @property
    def is_all(self) -> bool:
        return not self.per_vcpu and self.default.is_all

    def spec(self) -> str | list[str]:
        """The xl.cfg value: a string, or a list for per-vCPU pinning."""
        if self.per_vcpu:
            return [str(c) for c in self.per_vcpu]
        return str(self.default)


@dataclass(frozen=True)
class DomainConfig:
    name: str
    kernel: Path
    memory: int = 32  # MiB, as xl
    maxmem: int = 32
    vcpus: int = 1
    maxvcpus: int = 1
    type: str = "pvh"
    cpus: Pinning = field(default_factory=Pinning)
    cpu_weight: int = 256
    cap: int = 0
    ramdisk: Path | None = None
    cmdline: str = ""
    on_poweroff: Action = Action.DESTROY
    on_reboot: Action = Action.RESTART
    on_crash: Action = Action.DESTROY
    pci: tuple[PciDevice, ...] = ()
    vif: tuple[Vif, ...] = ()
    disk: tuple[Disk, ...] = ()
    source: Path | None = None  # the file it came from

    @property
    def memory_bytes(self) -> int:
        return self.memory * MIB

    @property
    def memory_kib(self) -> int:
        return self.memory * 1024

    @property
    def maxmem_kib(self) -> int:
        return self.maxmem * 1024

    def resolved(self) -> dict[str, str | int | list[str]]:
        """Every setting with defaults filled in, in xl.cfg terms (for `create -n`)."""
        out: dict[str, str | int | list[str]] = {
            "name": self.name,
            "type": self.type,
            "memory": self.memory,
            "maxmem": self.maxmem,
            "vcpus": self.vcpus,
            "maxvcpus": self.maxvcpus,
            "cpus": self.cpus.spec(),
            "cpu_weight": self.cpu_weight,
            "cap": self.cap,
            "kernel": str(self.kernel),
        }
        if self.ramdisk is not None:
            out["ramdisk"] = str(self.ramdisk)
        out["cmdline"] = self.cmdline
        out["on_poweroff"] = str(self.on_poweroff)
        out["on_reboot"] = str(self.on_reboot)
        out["on_crash"] = str(self.on_crash)
        if self.pci:
            out["pci"] = [_pci_spec(p) for p in self.pci]
        if self.vif:
            out["vif"] = [",".join(f"{k}={v}" for k, v in x.options) for x in self.vif]
        if self.disk:
            out["disk"] = [_disk_spec(d) for d in self.disk]
        return out


def _pci_spec(p: PciDevice) -> str:
    text = p.bdf
    if p.vslot is not None and not any(k == "vslot" for k, _ in p.options):
        text += f"@{p.vslot:02x}"
    return ",".join([text] + [f"{k}={v}" for k, v in p.options])


def _disk_spec(d: Disk) -> str:
    parts = [f"format={d.format}", f"vdev={d.vdev}", f"access={d.access}"]
    if d.cdrom:
        parts.append("devtype=cdrom")
    if d.target:
        parts.append(f"target={d.target}")
    return ",".join(parts)
