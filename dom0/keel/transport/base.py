"""The control interface the toolstack drives, one method per operation.

Every method maps 1:1 onto one control-domain operation (a domctl or sysctl
sub-operation of the coming control hypercall). Implementations raise
HypervisorError with the errno the hypervisor returned, so callers see the
same failures whichever transport they use."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from keel.transport.types import (
    DomainFlag,
    DomainInfo,
    ExitCounters,
    LogChunk,
    MemRegion,
    PhysInfo,
    SchedCredit,
    ShutdownActions,
    ShutdownReason,
    VcpuInfo,
)

# Largest copy_to_guest a transport accepts; the builder copies in chunks this size.
MAX_COPY_CHUNK = 1 << 20


@runtime_checkable
class Transport(Protocol):
    """A connection to a Keel hypervisor (or something that behaves like one)."""

    # -- domain lifecycle (domctl) ---------------------------------------------
    def create_domain(self, name: str, max_vcpus: int, mem_kib: int, flags: DomainFlag) -> int:
        """Create a paused, empty domain holding mem_kib of host memory; returns its id."""
        ...

    def destroy_domain(self, domid: int) -> None:
        """Tear the domain down and give its memory back to the host."""
        ...

    def pause_domain(self, domid: int) -> None: ...

    def unpause_domain(self, domid: int) -> None: ...

    def get_domain_info(self, domid: int) -> DomainInfo: ...

    def list_domains(self) -> list[DomainInfo]:
        """Every domain, by ascending id."""
        ...

    # -- memory ----------------------------------------------------------------
    def set_max_memory(self, domid: int, kib: int) -> None:
        """The most memory the domain may hold (mem-max)."""
        ...

    def set_memory(self, domid: int, kib: int) -> None:
        """The memory the domain holds (mem-set): taken from or given back to the host."""
        ...

    def populate_memory(self, domid: int, regions: Sequence[MemRegion]) -> None:
        """Back guest-physical ranges of a paused domain with (zeroed) RAM."""
        ...

    def copy_to_guest(self, domid: int, gpa: int, data: bytes) -> None:
        """Copy at most MAX_COPY_CHUNK bytes into populated memory of a paused domain."""
        ...

    # -- vCPUs -----------------------------------------------------------------
    def set_vcpu_context(self, domid: int, vcpu: int, context: bytes) -> None:
        """Initial register state: an encoded `struct vcpu_hvm_context`."""
        ...

    def set_vcpu_online(self, domid: int, vcpu: int, online: bool) -> None: ...

    def set_vcpu_affinity(self, domid: int, vcpu: int, cpus: frozenset[int]) -> None:
        """Hard affinity: the physical CPUs the vCPU may run on."""
        ...

    def get_vcpu_info(self, domid: int) -> list[VcpuInfo]: ...

    # -- scheduler -------------------------------------------------------------
    def set_sched_credit(self, domid: int, credit: SchedCredit) -> None: ...

    def get_sched_credit(self, domid: int) -> SchedCredit: ...

    # -- shutdown --------------------------------------------------------------
    def request_shutdown(self, domid: int, reason: ShutdownReason) -> None:
        """Ask the guest to power off or reboot (it acts when it next runs)."""
        ...

    def set_shutdown_actions(self, domid: int, actions: ShutdownActions) -> None: ...

    # -- hypervisor (sysctl) ---------------------------------------------------
    def read_log(self, offset: int = 0, clear: bool = False) -> LogChunk:
        """Log ring text from byte offset (0: the oldest kept); clear empties the ring after reading."""
        ...

    def get_exit_counters(self, domid: int) -> ExitCounters: ...

    def physinfo(self) -> PhysInfo: ...

    def close(self) -> None:
        """Release the connection (the fake persists its state here)."""
        ...
