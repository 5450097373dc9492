"""One domain: the operations xl offers on a domain, over a Transport."""

from __future__ import annotations

import time
from dataclasses import dataclass

from keel.cpumap import CpuSet
from keel.errors import HypervisorError, KeelError
from keel.transport.base import Transport
from keel.transport.types import DomainInfo, ExitCounters, SchedCredit, ShutdownReason, VcpuInfo


class VcpuCountError(KeelError):
    """vcpu-set asked for an impossible number of vCPUs."""


@dataclass
class Domain:
    transport: Transport
    domid: int
    name: str

    def info(self) -> DomainInfo:
        return self.transport.get_domain_info(self.domid)

    def pause(self) -> None:
        self.transport.pause_domain(self.domid)

    def unpause(self) -> None:
        self.transport.unpause_domain(self.domid)

    def destroy(self) -> None:
        self.transport.destroy_domain(self.domid)

    def shutdown(self) -> None:
        self.transport.request_shutdown(self.domid, ShutdownReason.POWEROFF)

    def reboot(self) -> None:
        self.transport.request_shutdown(self.domid, ShutdownReason.REBOOT)

    def wait_shutdown(self, timeout: float, poll: float = 0.2) -> bool:
        """Wait until the domain is gone or shut down; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.info().shutdown:
                    return True
            except HypervisorError:
                return True  # destroyed
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll)

    # -- vCPUs -----------------------------------------------------------------

    def vcpus(self) -> list[VcpuInfo]:
        return self.transport.get_vcpu_info(self.domid)

    def set_vcpus(self, count: int, host_cpus: int | None = None) -> None:
        """Bring vCPUs [0, count) online and the rest offline (xl vcpu-set).

        With host_cpus, refuse to overcommit: more online vCPUs than host CPUs."""
        info = self.info()
        if count < 1:
            raise VcpuCountError("a domain needs at least one vCPU online")
        if count > info.max_vcpus:
            raise VcpuCountError(f"{info.name} has at most {info.max_vcpus} vCPUs (maxvcpus)")
        if host_cpus is not None and count > info.vcpus_online and count > host_cpus:
            raise VcpuCountError(
                f"you are overcommitting: the host has {host_cpus} CPUs and you want {count} vCPUs"
                " (--ignore-host to continue)"
            )
        for v in range(info.max_vcpus):
            self.transport.set_vcpu_online(self.domid, v, v < count)

    def pin(self, vcpu: int | None, cpus: CpuSet, nr_cpus: int) -> None:
        """Hard affinity of one vCPU, or of every vCPU when vcpu is None."""
        targets = range(self.info().max_vcpus) if vcpu is None else [vcpu]
        for v in targets:
            self.transport.set_vcpu_affinity(self.domid, v, cpus.resolve(nr_cpus))

    # -- memory and scheduling -------------------------------------------------

    def set_memory(self, kib: int) -> None:
        self.transport.set_memory(self.domid, kib)

    def set_max_memory(self, kib: int) -> None:
        self.transport.set_max_memory(self.domid, kib)

    def sched_credit(self) -> SchedCredit:
        return self.transport.get_sched_credit(self.domid)

    def set_sched_credit(self, weight: int | None = None, cap: int | None = None) -> SchedCredit:
        cur = self.sched_credit()
        new = SchedCredit(cur.weight if weight is None else weight, cur.cap if cap is None else cap)
        self.transport.set_sched_credit(self.domid, new)
        return new

    def exit_counters(self) -> ExitCounters:
        return self.transport.get_exit_counters(self.domid)
