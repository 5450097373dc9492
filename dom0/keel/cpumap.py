"""CPU sets in xl's syntax: "all", "0-3,^1", "2,5-7".

As in xl (parse_cpurange), the set starts empty and each comma-separated
item adds ("3", "4-7", "all") or removes ("^1", "^2-3") CPUs in order, so
"all,^1" is every CPU but 1 and "^1" alone is empty (an error)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

MAX_CPUS = 4096
_RANGE = re.compile(r"(\d+)(?:-(\d+))?")


class CpuSpecError(ValueError):
    """A malformed CPU set (the caller adds the position)."""


@dataclass(frozen=True)
class CpuSet:
    """A set of physical CPUs: explicit CPUs, or every CPU of the host but some."""

    cpus: frozenset[int] = frozenset()
    every: bool = False  # every host CPU except `cpus`

    @classmethod
    def all(cls) -> CpuSet:
        return cls(frozenset(), every=True)

    @classmethod
    def parse(cls, spec: str) -> CpuSet:
        return parse_cpus(spec)

    @property
    def is_all(self) -> bool:
        return self.every and not self.cpus

    def resolve(self, nr_cpus: int) -> frozenset[int]:
        """The concrete CPUs on a host with nr_cpus CPUs."""
        if self.every:
            return frozenset(range(nr_cpus)) - self.cpus
        return self.cpus

    def __str__(self) -> str:
        if self.every:
            return "all" + "".join(f",^{part}" for part in format_cpus(self.cpus).split(",") if self.cpus)
        return format_cpus(self.cpus)


def parse_cpus(spec: str) -> CpuSet:
    items = [s.strip() for s in spec.split(",")]
    if not spec.strip() or any(not s for s in items):
        raise CpuSpecError(f"empty item in CPU list '{spec}'")
    every = False
    listed: set[int] = set()  # CPUs included, or excluded when `every`
    for item in items:
        negate = item.startswith("^")
        body = item[1:] if negate else item
        if body == "all":
            every = not negate
            listed.clear()
            continue
        if body.startswith("nodes:"):
            raise CpuSpecError(f"'{item}': NUMA node affinity is not supported yet (Keel has no NUMA support)")
        m = _RANGE.fullmatch(body)
        if not m:
            raise CpuSpecError(f"'{item}' is not a CPU number, a range N-M, 'all' or one of those after '^'")
        lo = int(m.group(1))
        hi = int(m.group(2)) if m.group(2) is not None else lo
        if hi < lo:
            raise CpuSpecError(f"'{item}': the range ends before it starts")
        if hi >= MAX_CPUS:
            raise CpuSpecError(f"'{item}': CPU numbers go up to {MAX_CPUS - 1}")
        span = set(range(lo, hi + 1))
        if negate != every:
            listed -= span
        else:
            listed |= span
    if not every and not listed:
        raise CpuSpecError(f"'{spec}' selects no CPU")
    return CpuSet(frozenset(listed), every)


def format_cpus(cpus: Iterable[int], nr_cpus: int | None = None) -> str:
    """xl's print_bitmap: "all" when every host CPU is set, else ranges ("0-3,5")."""
    s = sorted(set(cpus))
    if not s:
        return "none"
    if nr_cpus is not None and s == list(range(nr_cpus)):
        return "all"
    parts: list[str] = []
    start = prev = s[0]
    for c in s[1:] + [-2]:
        if c == prev + 1:
            prev = c
            continue
        parts.append(f"{start}-{prev}" if prev > start else str(start))
        start = prev = c
    return ",".join(parts)
