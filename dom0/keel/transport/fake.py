"""An in-memory Keel hypervisor for tests and demonstrations.

It models what the control interface exposes -- domains and their states,
vCPUs (online and maximum, affinity, context), memory (current and maximum,
accounted exactly against the host's total and free), credit weight and cap,
shutdown requests and actions, the log ring and exit counters -- and refuses
what the real hypervisor refuses, with the same errno values.

keel.transport.fake_store keeps the state in a JSON file between commands."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass, field

import keel_abi

from keel import abi
from keel.config.model import Action
from keel.errors import HypervisorError
from keel.transport.base import MAX_COPY_CHUNK
from keel.transport.types import (
    GUEST_TAG,
    DomainFlag,
    DomainInfo,
    ExitCounters,
    HostCaps,
    LogChunk,
    MemRegion,
    PhysInfo,
    SchedCredit,
    ShutdownActions,
    ShutdownReason,
    VcpuInfo,
)

LOG_RING_SIZE = 16384
PAGE = keel_abi.XEN_PAGE_SIZE
_MAX_PAUSE = 255
_ACTION_KEY = {
    ShutdownReason.POWEROFF: "on_poweroff",
    ShutdownReason.REBOOT: "on_reboot",
    ShutdownReason.CRASH: "on_crash",
    ShutdownReason.WATCHDOG: "on_crash",
}


@dataclass
class FakeVcpu:
    online: bool = False
    affinity: list[int] | None = None  # None: every host CPU
    time_ns: int = 0
    context: str | None = None  # hex of the vcpu_hvm_context, once set


@dataclass
class FakeDomain:
    domid: int
    name: str
    flags: int
    max_vcpus: int
    mem_kib: int
    max_mem_kib: int
    pause_count: int = 1
    shutdown_reason: int | None = None
    pending_shutdown: int | None = None
    blocked: bool = False
    cpu_time_ns: int = 0
    weight: int = 256
    cap: int = 0
    on_poweroff: str = "destroy"
    on_reboot: str = "restart"
    on_crash: str = "destroy"
    populated: list[list[int]] = field(default_factory=list)  # [gpa, size]
    bytes_copied: int = 0
    exits: dict[str, int] = field(default_factory=dict)
    vcpus: list[FakeVcpu] = field(default_factory=list)

    @property
    def control(self) -> bool:
        return bool(self.flags & DomainFlag.CONTROL)

    @property
    def paused(self) -> bool:
        return self.pause_count > 0

    @property
    def online(self) -> int:
        return sum(v.online for v in self.vcpus)


@dataclass
class FakeHost:
    nr_cpus: int = 4
    total_kib: int = 4 << 20
    cpu_khz: int = 2400000
    hvm: str = "svm"
    hap: str | None = "npt"
    iommu: bool = False
    version_extra: str = "-keel"
    commandline: str = "console=com1 com1=115200,8n1"


class FakeHypervisor:
    """A Transport backed by an in-memory model of the hypervisor."""

    def __init__(self, host: FakeHost | None = None, dom0_kib: int = 1 << 20, dom0_vcpus: int = 2) -> None:
        self.host = host or FakeHost()
        self.domains: dict[int, FakeDomain] = {}
        self.next_domid = 1
        self.clock_ns = 1_000_000_000
        self.log_head = 0
        self.log_text = ""
        self.memory: dict[int, dict[int, bytearray]] = {}  # domid -> page number -> contents
        self._log("Keel hypervisor (fake) started")
        dom0 = FakeDomain(0, "Domain-0", DomainFlag.CONTROL | DomainFlag.PVH, dom0_vcpus, dom0_kib, dom0_kib)
        dom0.pause_count = 0
        dom0.cpu_time_ns = 12_300_000_000
        dom0.vcpus = [FakeVcpu(online=True, time_ns=6_150_000_000) for _ in range(dom0_vcpus)]
        self.domains[0] = dom0
        self._log(f"d0: Domain-0 started ({dom0_vcpus} vCPUs, {dom0_kib // 1024} MiB)")

    # -- helpers ---------------------------------------------------------------

    @property
    def free_kib(self) -> int:
        return self.host.total_kib - sum(d.mem_kib for d in self.domains.values())

    def _log(self, line: str) -> None:
        self.clock_ns += 1_000_000
        secs, ns = divmod(self.clock_ns, 1_000_000_000)
        self._append_log(f"[{secs:4d}.{ns // 1000:06d}] {line}\n")

    def _append_log(self, text: str) -> None:
        self.log_head += len(text)
        self.log_text = (self.log_text + text)[-LOG_RING_SIZE:]

    def _dom(self, op: str, domid: int) -> FakeDomain:
        dom = self.domains.get(domid)
        if dom is None:
            raise HypervisorError(op, errno.ESRCH, f"no domain {domid}")
        return dom

    def _paused_dom(self, op: str, domid: int) -> FakeDomain:
        dom = self._dom(op, domid)
        if not dom.paused:
            raise HypervisorError(op, errno.EBUSY, f"domain {domid} must be paused")
        return dom

    @staticmethod
    def _vcpu(op: str, dom: FakeDomain, vcpu: int) -> FakeVcpu:
        if not 0 <= vcpu < dom.max_vcpus:
            raise HypervisorError(op, errno.EINVAL, f"vCPU {vcpu} is beyond the domain's maximum of {dom.max_vcpus}")
        return dom.vcpus[vcpu]

    @staticmethod
    def _err(op: str, code: int, detail: str) -> HypervisorError:
        return HypervisorError(op, code, detail)

    # -- domain lifecycle ------------------------------------------------------

    def create_domain(self, name: str, max_vcpus: int, mem_kib: int, flags: DomainFlag) -> int:
        op = "create_domain"
        if not name or len(name) > 63 or any(not (c.isalnum() or c in "_.-") for c in name):
            raise self._err(op, errno.EINVAL, f"invalid domain name {name!r}")
        if any(d.name == name for d in self.domains.values()):
            raise self._err(op, errno.EEXIST, f"a domain named {name!r} exists")
        if not 1 <= max_vcpus <= keel_abi.KEEL_MAX_VCPUS:
            raise self._err(op, errno.EINVAL, f"max_vcpus must be 1-{keel_abi.KEEL_MAX_VCPUS}, not {max_vcpus}")
        if mem_kib <= 0 or mem_kib % (PAGE // 1024):
            raise self._err(op, errno.EINVAL, f"memory {mem_kib} KiB is not a positive number of pages")
        if mem_kib > self.free_kib:
            raise self._err(op, errno.ENOMEM, f"{mem_kib} KiB asked, {self.free_kib} KiB free")
        if flags & DomainFlag.CONTROL and any(d.control for d in self.domains.values()):
            raise self._err(op, errno.EEXIST, "there is already a control domain")
        domid = self.next_domid
        self.next_domid += 1
        dom = FakeDomain(domid, name, int(flags), max_vcpus, mem_kib, mem_kib)
        dom.vcpus = [FakeVcpu() for _ in range(max_vcpus)]
        self.domains[domid] = dom
        self._log(f"d{domid}: created '{name}' ({max_vcpus} vCPUs max, {mem_kib // 1024} MiB)")
        return domid

    def destroy_domain(self, domid: int) -> None:
        dom = self._dom("destroy_domain", domid)
        if dom.control:
            raise self._err("destroy_domain", errno.EPERM, "the control domain cannot be destroyed")
        del self.domains[domid]
        self.memory.pop(domid, None)
        self._log(f"d{domid}: destroyed, {dom.mem_kib // 1024} MiB returned")

    def pause_domain(self, domid: int) -> None:
        dom = self._dom("pause_domain", domid)
        if dom.control:
            raise self._err("pause_domain", errno.EINVAL, "the control domain cannot pause itself")
        if dom.pause_count >= _MAX_PAUSE:
            raise self._err("pause_domain", errno.EBUSY, "pause count overflow")
        dom.pause_count += 1

    def unpause_domain(self, domid: int) -> None:
        dom = self._dom("unpause_domain", domid)
        if not dom.paused:
            raise self._err("unpause_domain", errno.EINVAL, f"domain {domid} is not paused")
        dom.pause_count -= 1
        if not dom.paused and dom.pending_shutdown is not None:
            reason, dom.pending_shutdown = ShutdownReason(dom.pending_shutdown), None
            self._shutdown(dom, reason)

    def get_domain_info(self, domid: int) -> DomainInfo:
        return self._info(self._dom("get_domain_info", domid))

    def list_domains(self) -> list[DomainInfo]:
        return [self._info(d) for _, d in sorted(self.domains.items())]

    @staticmethod
    def _info(d: FakeDomain) -> DomainInfo:
        shut = d.shutdown_reason is not None
        return DomainInfo(
            domid=d.domid,
            name=d.name,
            running=not d.paused and not shut and not d.blocked and d.online > 0,
            blocked=not d.paused and not shut and d.blocked,
            paused=d.paused,
            shutdown=shut,
            dying=False,
            shutdown_reason=ShutdownReason(d.shutdown_reason) if d.shutdown_reason is not None else None,
            vcpus_online=d.online,
            max_vcpus=d.max_vcpus,
            mem_kib=d.mem_kib,
            max_mem_kib=d.max_mem_kib,
            cpu_time_ns=d.cpu_time_ns,
        )

    # -- memory ----------------------------------------------------------------

    def set_max_memory(self, domid: int, kib: int) -> None:
        dom = self._dom("set_max_memory", domid)
        if kib < dom.mem_kib:
            raise self._err(
                "set_max_memory", errno.EINVAL, f"{kib} KiB is below the domain's current {dom.mem_kib} KiB"
            )
        dom.max_mem_kib = kib

    def set_memory(self, domid: int, kib: int) -> None:
        # The fake's guest balloons at once: current memory becomes the target.
        op = "set_memory"
        dom = self._dom(op, domid)
        if kib <= 0 or kib % (PAGE // 1024):
            raise self._err(op, errno.EINVAL, f"{kib} KiB is not a positive number of pages")
        if kib > dom.max_mem_kib:
            raise self._err(op, errno.EINVAL, f"{kib} KiB is above the domain's maximum of {dom.max_mem_kib} KiB")
        if kib - dom.mem_kib > self.free_kib:
            raise self._err(op, errno.ENOMEM, f"{kib - dom.mem_kib} KiB more asked, {self.free_kib} KiB free")
        dom.mem_kib = kib

    def populate_memory(self, domid: int, regions: Sequence[MemRegion]) -> None:
        op = "populate_memory"
        dom = self._paused_dom(op, domid)
        used = sum(size for _, size in dom.populated)
        spans = [(gpa, gpa + size) for gpa, size in dom.populated]
        for r in regions:
            if r.gpa % PAGE or r.size % PAGE or r.size <= 0:
                raise self._err(op, errno.EINVAL, f"region {r.gpa:#x}+{r.size:#x} is not page-aligned")
            if any(r.gpa < end and start < r.gpa + r.size for start, end in spans):
                raise self._err(op, errno.EEXIST, f"region {r.gpa:#x}+{r.size:#x} is already populated")
            used += r.size
            if used > dom.mem_kib * 1024:
                raise self._err(op, errno.ENOMEM, f"populating {used} bytes exceeds the domain's {dom.mem_kib} KiB")
            spans.append((r.gpa, r.gpa + r.size))
        dom.populated += [[r.gpa, r.size] for r in regions]

    def copy_to_guest(self, domid: int, gpa: int, data: bytes) -> None:
        op = "copy_to_guest"
        dom = self._paused_dom(op, domid)
        if len(data) > MAX_COPY_CHUNK:
            raise self._err(op, errno.E2BIG, f"{len(data)} bytes in one copy; at most {MAX_COPY_CHUNK}")
        end = gpa + len(data)
        if not any(start <= gpa and end <= start + size for start, size in dom.populated):
            raise self._err(op, errno.EFAULT, f"{gpa:#x}-{end:#x} is not populated memory")
        pages = self.memory.setdefault(domid, {})
        pos = 0
        while pos < len(data):
            addr = gpa + pos
            page, off = divmod(addr, PAGE)
            n = min(PAGE - off, len(data) - pos)
            buf = pages.setdefault(page, bytearray(PAGE))
            buf[off : off + n] = data[pos : pos + n]
            pos += n
        dom.bytes_copied += len(data)

    def read_guest(self, domid: int, gpa: int, size: int) -> bytes:
        """Fake-only: guest memory as the builder left it (zero where never written)."""
        pages = self.memory.get(domid, {})
        out = bytearray()
        for addr in range(gpa, gpa + size):
            page, off = divmod(addr, PAGE)
            buf = pages.get(page)
            out.append(buf[off] if buf else 0)
        return bytes(out)

    # -- vCPUs -----------------------------------------------------------------

    def set_vcpu_context(self, domid: int, vcpu: int, context: bytes) -> None:
        op = "set_vcpu_context"
        dom = self._paused_dom(op, domid)
        v = self._vcpu(op, dom, vcpu)
        if len(context) != abi.sizeof("vcpu_hvm_context"):
            raise self._err(op, errno.EINVAL, f"context is {len(context)} bytes, not a vcpu_hvm_context")
        mode = abi.unpack("vcpu_hvm_context", context)["mode"]
        if mode not in (keel_abi.VCPU_HVM_MODE_32B, keel_abi.VCPU_HVM_MODE_64B):
            raise self._err(op, errno.EINVAL, f"unknown vCPU mode {mode}")
        v.context = context.hex()

    def set_vcpu_online(self, domid: int, vcpu: int, online: bool) -> None:
        op = "set_vcpu_online"
        dom = self._dom(op, domid)
        v = self._vcpu(op, dom, vcpu)
        if dom.shutdown_reason is not None:
            raise self._err(op, errno.EINVAL, f"domain {domid} is shut down")
        if vcpu == 0 and not online:
            raise self._err(op, errno.EBUSY, "vCPU 0 cannot go offline")
        v.online = online

    def set_vcpu_affinity(self, domid: int, vcpu: int, cpus: frozenset[int]) -> None:
        op = "set_vcpu_affinity"
        dom = self._dom(op, domid)
        v = self._vcpu(op, dom, vcpu)
        if not cpus:
            raise self._err(op, errno.EINVAL, "empty CPU set")
        bad = sorted(c for c in cpus if not 0 <= c < self.host.nr_cpus)
        if bad:
            raise self._err(op, errno.EINVAL, f"CPU {bad[0]} does not exist (the host has {self.host.nr_cpus})")
        v.affinity = None if len(cpus) == self.host.nr_cpus else sorted(cpus)

    def get_vcpu_info(self, domid: int) -> list[VcpuInfo]:
        dom = self._dom("get_vcpu_info", domid)
        info = self._info(dom)
        out = []
        for i, v in enumerate(dom.vcpus):
            cpus = frozenset(range(self.host.nr_cpus)) if v.affinity is None else frozenset(v.affinity)
            cpu = i % self.host.nr_cpus if i % self.host.nr_cpus in cpus else min(cpus)
            out.append(
                VcpuInfo(i, v.online, info.running and v.online, info.blocked and v.online, cpu, v.time_ns, cpus)
            )
        return out

    # -- scheduler -------------------------------------------------------------

    def set_sched_credit(self, domid: int, credit: SchedCredit) -> None:
        op = "set_sched_credit"
        dom = self._dom(op, domid)
        if not 1 <= credit.weight <= 65535:
            raise self._err(op, errno.EINVAL, f"weight must be 1-65535, not {credit.weight}")
        if not 0 <= credit.cap <= 100 * dom.max_vcpus:
            raise self._err(op, errno.EINVAL, f"cap must be 0-{100 * dom.max_vcpus}, not {credit.cap}")
        dom.weight, dom.cap = credit.weight, credit.cap

    def get_sched_credit(self, domid: int) -> SchedCredit:
        dom = self._dom("get_sched_credit", domid)
        return SchedCredit(dom.weight, dom.cap)

    # -- shutdown --------------------------------------------------------------

    def request_shutdown(self, domid: int, reason: ShutdownReason) -> None:
        op = "request_shutdown"
        dom = self._dom(op, domid)
        if reason not in (ShutdownReason.POWEROFF, ShutdownReason.REBOOT):
            raise self._err(op, errno.EINVAL, f"a guest can only be asked to power off or reboot, not {reason.label}")
        if dom.control:
            raise self._err(op, errno.EPERM, "the control domain shuts down from inside")
        if dom.shutdown_reason is not None:
            raise self._err(op, errno.EINVAL, f"domain {domid} is already shut down")
        if dom.paused:
            dom.pending_shutdown = int(reason)  # the guest acts when it runs again
            return
        self._shutdown(dom, reason)

    def set_shutdown_actions(self, domid: int, actions: ShutdownActions) -> None:
        dom = self._dom("set_shutdown_actions", domid)
        dom.on_poweroff, dom.on_reboot, dom.on_crash = (
            str(actions.on_poweroff),
            str(actions.on_reboot),
            str(actions.on_crash),
        )

    def crash(self, domid: int) -> None:
        """Fake-only: the guest crashes (applies on_crash)."""
        self._shutdown(self._dom("crash", domid), ShutdownReason.CRASH)

    def _shutdown(self, dom: FakeDomain, reason: ShutdownReason) -> None:
        action = Action(getattr(dom, _ACTION_KEY.get(reason, "on_poweroff")))
        self._log(f"d{dom.domid}: shut down ({reason.label}), action {action}")
        if action is Action.DESTROY:
            del self.domains[dom.domid]
            self.memory.pop(dom.domid, None)
            self._log(f"d{dom.domid}: destroyed, {dom.mem_kib // 1024} MiB returned")
        elif action is Action.PRESERVE:
            dom.shutdown_reason = int(reason)
        else:
            dom.cpu_time_ns = 0
            for v in dom.vcpus:
                v.time_ns = 0
            self._log(f"d{dom.domid}: restarted")

    # -- hypervisor ------------------------------------------------------------

    def read_log(self, offset: int = 0, clear: bool = False) -> LogChunk:
        tail = self.log_head - len(self.log_text)
        start = max(offset, tail)
        text = self.log_text[start - tail :] if start < self.log_head else ""
        chunk = LogChunk(text, min(start, self.log_head), self.log_head)
        if clear:
            self.log_text = ""
        return chunk

    def guest_write(self, domid: int, text: str) -> None:
        """Fake-only: a guest writes to its console (console_io), tagged in the log."""
        self._dom("guest_write", domid)
        for line in text.splitlines():
            self._append_log(GUEST_TAG.format(domid=domid) + line + "\n")

    def get_exit_counters(self, domid: int) -> ExitCounters:
        return ExitCounters(dict(self._dom("get_exit_counters", domid).exits))

    def record_exits(self, domid: int, reason: str, count: int = 1) -> None:
        """Fake-only: account VM exits to a domain."""
        dom = self._dom("record_exits", domid)
        dom.exits[reason] = dom.exits.get(reason, 0) + count

    def advance(self, ns: int) -> None:
        """Fake-only: let time pass; running domains accumulate CPU time."""
        self.clock_ns += ns
        for dom in self.domains.values():
            info = self._info(dom)
            if info.running:
                online = [v for v in dom.vcpus if v.online]
                for v in online:
                    v.time_ns += ns
                dom.cpu_time_ns += ns * len(online)

    def physinfo(self) -> PhysInfo:
        h = self.host
        return PhysInfo(
            nr_cpus=h.nr_cpus,
            total_kib=h.total_kib,
            free_kib=self.free_kib,
            version_major=keel_abi.KEEL_XEN_MAJOR,
            version_minor=keel_abi.KEEL_XEN_MINOR,
            version_extra=h.version_extra,
            caps=HostCaps(h.hvm, h.hap, h.iommu),
            cpu_khz=h.cpu_khz,
            commandline=h.commandline,
        )

    def close(self) -> None:
        pass
