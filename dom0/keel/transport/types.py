"""Data exchanged with the hypervisor's control interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum, IntFlag

import keel_abi

from keel.config.model import Action


class ShutdownReason(IntEnum):
    """sched_shutdown.reason (SHUTDOWN_* of the ABI)."""

    POWEROFF = keel_abi.SHUTDOWN_poweroff
    REBOOT = keel_abi.SHUTDOWN_reboot
    SUSPEND = keel_abi.SHUTDOWN_suspend
    CRASH = keel_abi.SHUTDOWN_crash
    WATCHDOG = keel_abi.SHUTDOWN_watchdog
    SOFT_RESET = keel_abi.SHUTDOWN_soft_reset

    @property
    def label(self) -> str:
        return self.name.lower()


# How the hypervisor tags a guest's console_io output in its log ring.
GUEST_TAG = "(d{domid}) "

# xl list's fifth state letter, indexed by shutdown reason ("-rscwS").
SHUTDOWN_LETTERS = "-rscwS"


class DomainFlag(IntFlag):
    """Flags of create_domain."""

    NONE = 0
    PVH = 1 << 0  # a PVH guest (the only type Keel builds)
    CONTROL = 1 << 1  # privileged: may use the control interface


@dataclass(frozen=True)
class MemRegion:
    """A guest-physical range to populate with RAM."""

    gpa: int
    size: int


@dataclass(frozen=True)
class ShutdownActions:
    on_poweroff: Action = Action.DESTROY
    on_reboot: Action = Action.RESTART
    on_crash: Action = Action.DESTROY


@dataclass(frozen=True)
class DomainInfo:
    domid: int
    name: str
    running: bool
    blocked: bool
    paused: bool
    shutdown: bool
    dying: bool
    shutdown_reason: ShutdownReason | None
    vcpus_online: int
    max_vcpus: int
    mem_kib: int
    max_mem_kib: int
    cpu_time_ns: int

    @property
    def crashed(self) -> bool:
        return self.shutdown and self.shutdown_reason is ShutdownReason.CRASH

    @property
    def state(self) -> str:
        """xl list's six-letter state: r b p s, the shutdown reason letter, d."""
        reason = self.shutdown_reason if self.shutdown and self.shutdown_reason is not None else 0
        return "".join(
            (
                "r" if self.running else "-",
                "b" if self.blocked else "-",
                "p" if self.paused else "-",
                "s" if self.shutdown else "-",
                SHUTDOWN_LETTERS[reason] if self.shutdown else "-",
                "d" if self.dying else "-",
            )
        )


@dataclass(frozen=True)
class VcpuInfo:
    vcpu: int
    online: bool
    running: bool
    blocked: bool
    cpu: int  # physical CPU it last ran on
    time_ns: int
    affinity: frozenset[int]


@dataclass(frozen=True)
class SchedCredit:
    weight: int = 256
    cap: int = 0


@dataclass(frozen=True)
class LogChunk:
    """Part of the hypervisor log ring.

    `start` is the offset of the first byte returned (later than the one asked
    for when the ring overwrote older text), `next` the offset to ask for next."""

    text: str
    start: int
    next: int

    def lost(self, asked: int) -> int:
        return max(0, self.start - asked)


@dataclass(frozen=True)
class HostCaps:
    hvm: str  # "vmx" or "svm"
    hap: str | None  # "ept", "npt" or None (shadow paging)
    iommu: bool


@dataclass(frozen=True)
class PhysInfo:
    nr_cpus: int
    total_kib: int
    free_kib: int
    version_major: int
    version_minor: int
    version_extra: str
    caps: HostCaps
    cpu_khz: int = 0
    commandline: str = ""
    scheduler: str = "credit"

    @property
    def version(self) -> str:
        return f"{self.version_major}.{self.version_minor}{self.version_extra}"


@dataclass(frozen=True)
class ExitCounters:
    """Per-reason VM exit counts of one domain (summed over its vCPUs)."""

    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())
