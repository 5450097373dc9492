"""The live control channel from dom0 (not available yet).

Keel's control interface reaches the toolstack when Linux runs as dom0: a
privcmd-style device through which dom0 issues the control hypercall. Until
then every operation raises TransportUnavailable, so commands fail with one
clear message instead of half-working."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

from keel.errors import TransportUnavailable
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

UNAVAILABLE = (
    "the live control channel needs Keel's dom0 interface, which is not available yet; "
    "use `keel bundle`/`keel run` to boot domains, or KEEL_TRANSPORT=fake:STATE.json to try the commands"
)


class LiveTransport:
    """The Transport of a real dom0; every operation is unavailable for now."""

    def __init__(self, device: str = "/dev/keel/privcmd") -> None:
        self.device = device

    def _unavailable(self, op: str) -> NoReturn:
        raise TransportUnavailable(f"{op}: {UNAVAILABLE}")

    def create_domain(self, name: str, max_vcpus: int, mem_kib: int, flags: DomainFlag) -> int:
        self._unavailable("create_domain")

    def destroy_domain(self, domid: int) -> None:
        self._unavailable("destroy_domain")

    def pause_domain(self, domid: int) -> None:
        self._unavailable("pause_domain")

    def unpause_domain(self, domid: int) -> None:
        self._unavailable("unpause_domain")

    def get_domain_info(self, domid: int) -> DomainInfo:
        self._unavailable("get_domain_info")

    def list_domains(self) -> list[DomainInfo]:
        self._unavailable("list_domains")

    def set_max_memory(self, domid: int, kib: int) -> None:
        self._unavailable("set_max_memory")

    def set_memory(self, domid: int, kib: int) -> None:
        self._unavailable("set_memory")

    def populate_memory(self, domid: int, regions: Sequence[MemRegion]) -> None:
        self._unavailable("populate_memory")

    def copy_to_guest(self, domid: int, gpa: int, data: bytes) -> None:
        self._unavailable("copy_to_guest")

    def set_vcpu_context(self, domid: int, vcpu: int, context: bytes) -> None:
        self._unavailable("set_vcpu_context")

    def set_vcpu_online(self, domid: int, vcpu: int, online: bool) -> None:
        self._unavailable("set_vcpu_online")

    def set_vcpu_affinity(self, domid: int, vcpu: int, cpus: frozenset[int]) -> None:
        self._unavailable("set_vcpu_affinity")

    def get_vcpu_info(self, domid: int) -> list[VcpuInfo]:
        self._unavailable("get_vcpu_info")

    def set_sched_credit(self, domid: int, credit: SchedCredit) -> None:
        self._unavailable("set_sched_credit")

    def get_sched_credit(self, domid: int) -> SchedCredit:
        self._unavailable("get_sched_credit")

    def request_shutdown(self, domid: int, reason: ShutdownReason) -> None:
        self._unavailable("request_shutdown")

    def set_shutdown_actions(self, domid: int, actions: ShutdownActions) -> None:
        self._unavailable("set_shutdown_actions")

    def read_log(self, offset: int = 0, clear: bool = False) -> LogChunk:
        self._unavailable("read_log")

    def get_exit_counters(self, domid: int) -> ExitCounters:
        self._unavailable("get_exit_counters")

    def physinfo(self) -> PhysInfo:
        self._unavailable("physinfo")

    def close(self) -> None:
        pass
