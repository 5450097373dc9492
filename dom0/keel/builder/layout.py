"""The guest physical layout of a PVH domain (docs/pvh-layout.md)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import keel_abi

from keel.builder.elf import Segment
from keel.errors import LayoutError

KIB = 1 << 10
MIB = 1 << 20
GIB = 1 << 30
PAGE_SIZE = keel_abi.XEN_PAGE_SIZE

LOW_RAM_END = 0xA0000  # RAM below the legacy hole
LEGACY_HOLE = (0xA0000, 0x60000)  # 0xA0000 - 0xFFFFF, reserved
HIGH_RAM_BASE = 0x100000
MMIO_HOLE_BASE = 0xFC000000  # guest ACPI tables (0xFC000000-0xFC00FFFF) and devices live from here to 4 GiB
FOUR_GIB = 4 * GIB

START_INFO_PADDR = 0x6000
MEMMAP_PADDR = 0x6040
MEMMAP_MAX = 64
MODLIST_PADDR = 0x6800
MODLIST_MAX = 32
STRINGS_PADDR = 0x7000
STRINGS_SIZE = 0x2000
BOOT_DATA_END = STRINGS_PADDR + STRINGS_SIZE
MODULE_START_ALIGN = 2 * MIB
MIN_MEMORY = 4 * MIB


@dataclass(frozen=True)
class MemRange:
    addr: int
    size: int
    type: int  # XEN_HVM_MEMMAP_TYPE_*

    @property
    def end(self) -> int:
        return self.addr + self.size

    @property
    def is_ram(self) -> bool:
        return self.type == keel_abi.XEN_HVM_MEMMAP_TYPE_RAM


@dataclass(frozen=True)
class ModuleSpec:
    """A module to place: its size and its string (the ramdisk comes first)."""

    size: int
    cmdline: str = ""


@dataclass(frozen=True)
class Placement:
    paddr: int
    size: int
    cmdline: str
    cmdline_paddr: int  # 0 when the string is empty

    @property
    def end(self) -> int:
        return self.paddr + self.size


@dataclass(frozen=True)
class Layout:
    memory: int  # bytes
    memmap: tuple[MemRange, ...]
    kernel_segments: tuple[Segment, ...]
    kernel_end: int
    modules: tuple[Placement, ...]
    cmdline: str
    cmdline_paddr: int  # 0 when empty

    @property
    def ram(self) -> tuple[MemRange, ...]:
        return tuple(r for r in self.memmap if r.is_ram)


def align_up(n: int, a: int) -> int:
    return (n + a - 1) // a * a


def memory_map(memory: int) -> tuple[MemRange, ...]:
    """RAM below 640 KiB, the legacy hole, then memory - 640 KiB of RAM from 1 MiB.

    The RAM ranges sum to exactly `memory`. RAM that would reach the MMIO hole
    below 4 GiB continues above 4 GiB."""
    if memory < MIN_MEMORY or memory % (2 * MIB):
        raise LayoutError(f"domain memory must be at least 4 MiB and a multiple of 2 MiB, not {memory} bytes")
    ram, reserved = keel_abi.XEN_HVM_MEMMAP_TYPE_RAM, keel_abi.XEN_HVM_MEMMAP_TYPE_RESERVED
    out = [MemRange(0, LOW_RAM_END, ram), MemRange(*LEGACY_HOLE, reserved)]
    high = memory - LOW_RAM_END
    below = min(high, MMIO_HOLE_BASE - HIGH_RAM_BASE)
    out.append(MemRange(HIGH_RAM_BASE, below, ram))
    if high > below:
        out.append(MemRange(FOUR_GIB, high - below, ram))
    return tuple(out)


def check_kernel(segments: Sequence[Segment], memmap: Sequence[MemRange]) -> int:
    """Check the kernel fits RAM above 1 MiB without overlaps; returns its end."""
    low_high = next(r for r in memmap if r.is_ram and r.addr == HIGH_RAM_BASE)
    prev: Segment | None = None
    for seg in sorted(segments, key=lambda s: s.paddr):
        if seg.paddr < HIGH_RAM_BASE:
            raise LayoutError(f"kernel segment at {seg.paddr:#x} lies below 1 MiB")
        if seg.end > low_high.end:
            raise LayoutError(
                f"kernel segment {seg.paddr:#x}-{seg.end:#x} does not fit the domain's RAM (ends at {low_high.end:#x});"
                " give the domain more memory"
            )
        if prev is not None and seg.paddr < prev.end:
            raise LayoutError(f"kernel segments {prev.paddr:#x}-{prev.end:#x} and {seg.paddr:#x}-{seg.end:#x} overlap")
        prev = seg
    return max(s.end for s in segments)


def plan(memory: int, segments: Sequence[Segment], cmdline: str, modules: Sequence[ModuleSpec]) -> Layout:
    memmap = memory_map(memory)
    kernel_end = check_kernel(segments, memmap)
    if len(modules) > MODLIST_MAX:
        raise LayoutError(f"{len(modules)} modules; at most {MODLIST_MAX}")
    if len(memmap) > MEMMAP_MAX:
        raise LayoutError(f"{len(memmap)} memory map entries; at most {MEMMAP_MAX}")

    # Strings: the command line first, then each module's, NUL-terminated.
    cursor = STRINGS_PADDR

    def place_string(text: str) -> int:
        nonlocal cursor
        if not text:
            return 0
        raw = text.encode() + b"\0"
        if cursor + len(raw) > BOOT_DATA_END:
            raise LayoutError(f"the command line and module strings exceed {STRINGS_SIZE} bytes")
        addr, cursor = cursor, cursor + len(raw)
        return addr

    cmdline_paddr = place_string(cmdline)
    limit = min(next(r for r in memmap if r.addr == HIGH_RAM_BASE).end, FOUR_GIB)
    addr = align_up(kernel_end, MODULE_START_ALIGN)
    placed: list[Placement] = []
    for i, m in enumerate(modules):
        addr = align_up(addr, PAGE_SIZE)
        if addr + m.size > limit:
            raise LayoutError(
                f"module {i} ({m.size} bytes at {addr:#x}) does not fit the domain's RAM below {limit:#x};"
                " give the domain more memory"
            )
        placed.append(Placement(addr, m.size, m.cmdline, place_string(m.cmdline)))
        addr += m.size
    return Layout(memory, memmap, tuple(segments), kernel_end, tuple(placed), cmdline, cmdline_paddr)
