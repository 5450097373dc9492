"""Struct layout for the two guest modes.

``native`` is the x86-64 System V layout (64-bit guests, the hypervisor, the
toolstack).  ``compat`` is the i386 System V layout seen by 32-bit guests:
``ulong`` and handles are 4 bytes, and 64-bit scalars are only 4-byte aligned
inside structs.  The C generator emits both and asserts every offset, so a
disagreement between this module and the compiler fails the build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .model import HANDLE, SCALARS, Aggregate, Spec, SpecError, TypeRef

Mode = Literal["native", "compat"]


@dataclass(frozen=True)
class FieldLayout:
    name: str
    offset: int
    size: int  # total size including the array length
    pad_before: int = 0  # bytes of explicit padding inserted before the field
    present: bool = True  # False for a field of the other mode only


@dataclass(frozen=True)
class AggLayout:
    size: int
    align: int
    fields: tuple[FieldLayout, ...]


def _scalar(name: str, mode: Mode) -> tuple[int, int]:
    native, compat, _ = SCALARS[name]
    size = native if mode == "native" else compat
    align = size if mode == "native" else min(size, 4)
    return size, align


def type_size_align(spec: Spec, t: TypeRef, mode: Mode) -> tuple[int, int]:
    if t.name == HANDLE:
        return _scalar("ulong", mode)
    if t.aggregate:
        lay = layout(spec, spec.aggregate(t.name), mode)
        return lay.size, lay.align
    return _scalar(t.name, mode)


def _round(value: int, align: int) -> int:
    return (value + align - 1) // align * align


def layout(spec: Spec, agg: Aggregate, mode: Mode) -> AggLayout:
    offset = 0
    size = 0
    align = 1
    fields = []
    for f in agg.fields:
        if not f.present(mode):
            fields.append(FieldLayout(f.name, offset, 0, 0, present=False))
            continue
        fsize, falign = type_size_align(spec, f.type, mode)
        total = fsize * (f.length(mode) or 1)
        align = max(align, falign)
        if agg.kind == "struct":
            natural = _round(offset, falign)
            pad = 0
            if f.at is not None:
                if f.at < natural:
                    raise SpecError(
                        f.loc, f"bad field {f.name!r}: @{f.at} overlaps the previous field (next free offset {natural})"
                    )
                if f.at % falign:
                    raise SpecError(f.loc, f"bad field {f.name!r}: @{f.at} is not {falign}-byte aligned")
                pad = f.at - offset
                natural = f.at
            fields.append(FieldLayout(f.name, natural, total, pad))
            offset = natural + total
            size = offset
        else:
            fields.append(FieldLayout(f.name, 0, total))
            size = max(size, total)
    return AggLayout(_round(size, align), align, tuple(fields))


def check_sizes(spec: Spec) -> None:
    """Lay out every aggregate in both modes (raising on an impossible
    ``@offset``) and check declared ``size=`` values against the native layout."""
    for agg in spec.aggregates:
        got = layout(spec, agg, "native").size
        layout(spec, agg, "compat")
        if agg.expected_size is not None and got != agg.expected_size:
            raise SpecError(agg.loc, f"{agg.kind} {agg.name} is {got} bytes, but size={agg.expected_size} was declared")


def differs(spec: Spec, agg: Aggregate) -> bool:
    """Whether a 32-bit guest sees a different size or field offsets."""
    native = layout(spec, agg, "native")
    compat = layout(spec, agg, "compat")
    return native.size != compat.size or native.fields != compat.fields
