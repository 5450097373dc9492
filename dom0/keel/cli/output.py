"""Text in xl's formats, and the same data as JSON."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, is_dataclass
from enum import Enum
from typing import Any, TextIO

from keel.cpumap import format_cpus
from keel.transport.types import DomainInfo, PhysInfo, SchedCredit, VcpuInfo

KIB_PER_MIB = 1024


def to_jsonable(obj: Any) -> Any:
    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: to_jsonable(v) for k, v in asdict(obj).items()}
    if isinstance(obj, Enum):
        return obj.name.lower() if isinstance(obj.value, int) else obj.value
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    return obj


def print_json(out: TextIO, data: Any) -> None:
    out.write(json.dumps(to_jsonable(data), indent=2, sort_keys=False) + "\n")


# -- list --------------------------------------------------------------------

LIST_HEADER = "Name                                        ID   Mem VCPUs\tState\tTime(s)"


def list_line(d: DomainInfo) -> str:
    mem = d.mem_kib // KIB_PER_MIB
    return f"{d.name:<40} {d.domid:5d} {mem:5d} {d.vcpus_online:5d}     {d.state}  {d.cpu_time_ns / 1e9:8.1f}"


def domain_json(d: DomainInfo) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(d)
    data["state"] = d.state
    return data


# -- vcpu-list ---------------------------------------------------------------


def vcpu_list_header() -> str:
    return f"{'Name':<32} {'ID':>5} {'VCPU':>5} {'CPU':>5} {'State':>5} {'Time(s)':>9} Affinity (Hard / Soft)"


def vcpu_line(d: DomainInfo, v: VcpuInfo, nr_cpus: int) -> str:
    head = f"{d.name:<32} {d.domid:5d} {v.vcpu:5d}"
    if v.online:
        state = f"{v.cpu:5d} {'r' if v.running else '-':>3}{'b' if v.blocked else '-'}- "
    else:
        state = f"{'-':>5} {'-':>3}-p "
    return f"{head}{state}{v.time_ns / 1e9:9.1f}  {format_cpus(v.affinity, nr_cpus)} / all"


# -- sched-credit ------------------------------------------------------------

SCHED_HEADER = f"{'Name':<33} {'ID':>4} {'Weight':>6} {'Cap':>4}"


def sched_line(d: DomainInfo, s: SchedCredit) -> str:
    return f"{d.name:<33} {d.domid:4d} {s.weight:6d} {s.cap:4d}"


# -- info --------------------------------------------------------------------


def info_fields(p: PhysInfo) -> list[tuple[str, str]]:
    caps = " pvh" + (" hap" if p.caps.hap else "")
    return [
        ("nr_cpus", str(p.nr_cpus)),
        ("max_cpu_id", str(p.nr_cpus - 1)),
        ("cpu_mhz", f"{p.cpu_khz // 1000}.{p.cpu_khz % 1000:03d}"),
        ("virt_caps", caps.strip()),
        ("hvm_vendor", p.caps.hvm),
        ("hap", p.caps.hap or "none"),
        ("iommu", "yes" if p.caps.iommu else "no"),
        ("total_memory", str(p.total_kib // KIB_PER_MIB)),
        ("free_memory", str(p.free_kib // KIB_PER_MIB)),
        ("xen_major", str(p.version_major)),
        ("xen_minor", str(p.version_minor)),
        ("xen_extra", p.version_extra),
        ("xen_version", p.version),
        ("xen_scheduler", p.scheduler),
        ("xen_pagesize", "4096"),
        ("xen_commandline", p.commandline),
    ]


def physinfo_json(p: PhysInfo) -> dict[str, Any]:
    data: dict[str, Any] = to_jsonable(p)
    data["version"] = p.version
    return data


def info_lines(fields: Iterable[tuple[str, str]]) -> list[str]:
    return [f"{k:<23}: {v}" for k, v in fields]
