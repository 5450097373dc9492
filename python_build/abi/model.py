"""The ABI model: what a parsed spec describes.

Every object remembers where it was declared (``Loc``) so that semantic errors
found after parsing still point at a file and line.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum


@dataclass(frozen=True)
class Loc:
    path: str
    line: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


class SpecError(Exception):
    """A spec problem, reported as ``file:line: message``."""

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(f"{loc}: {message}")
        self.loc = loc
        self.message = message


class Policy(Enum):
    """Which callers may use a hypercall or sub-operation."""

    ANY = "any"
    CONTROL = "control"


# Scalar types: name -> (native size, compat size, signed).
# "ulong" and handles are the only types whose width depends on the guest's
# mode: 8 bytes for 64-bit guests, 4 for 32-bit guests (Xen's xen_ulong_t /
# XEN_GUEST_HANDLE in the compat layout).
SCALARS: dict[str, tuple[int, int, bool]] = {
    "u8": (1, 1, False),
    "u16": (2, 2, False),
    "u32": (4, 4, False),
    "u64": (8, 8, False),
    "i8": (1, 1, True),
    "i16": (2, 2, True),
    "i32": (4, 4, True),
    "i64": (8, 8, True),
    "ulong": (8, 4, False),
}

HANDLE = "handle"


@dataclass
class TypeRef:
    """A field or argument type: a scalar, a handle to something, or a struct/union."""

    name: str  # scalar name, "handle", or aggregate name
    target: str | None = None  # for handles: the pointed-to type (may be "void")
    aggregate: bool = False

    def __str__(self) -> str:
        if self.name == HANDLE:
            return f"handle({self.target})"
        return self.name


@dataclass
class Field:
    name: str
    type: TypeRef
    count: int | None  # array length, None for a single element
    doc: str
    loc: Loc
    compat_count: int | None = None  # array length for 32-bit guests, if different
    at: int | None = None  # explicit offset (the layout pads up to it)
    only: str | None = None  # "native" or "compat": the field exists in that layout only

    def present(self, mode: str) -> bool:
        return self.only is None or self.only == mode

    def length(self, mode: str) -> int | None:
        if mode == "compat" and self.compat_count is not None:
            return self.compat_count
        return self.count


@dataclass
class Aggregate:
    kind: str  # "struct" or "union"
    name: str
    fields: list[Field]
    doc: str
    loc: Loc
    expected_size: int | None = None


@dataclass
class Constant:
    name: str
    value: int
    doc: str
    loc: Loc


@dataclass
class ConstGroup:
    name: str
    doc: str
    constants: list[Constant]
    loc: Loc


@dataclass
class Arg:
    name: str
    type: TypeRef
    loc: Loc


@dataclass
class SubOp:
    name: str
    number: int
    policy: Policy
    arg: str | None  # name of the argument struct, if any
    doc: str
    loc: Loc


@dataclass
class Hypercall:
    name: str
    number: int
    policy: Policy
    args: list[Arg]
    subops: list[SubOp]
    doc: str
    loc: Loc
    # Index of the argument carrying the sub-operation number (always the first).
    subop_arg: int = 0


@dataclass
class Spec:
    groups: list[ConstGroup] = field(default_factory=list)
    aggregates: list[Aggregate] = field(default_factory=list)
    hypercalls: list[Hypercall] = field(default_factory=list)

    def aggregate(self, name: str) -> Aggregate:
        for a in self.aggregates:
            if a.name == name:
                return a
        raise KeyError(name)

    def constants(self) -> list[Constant]:
        return [c for g in self.groups for c in g.constants]

    def hypercall(self, name: str) -> Hypercall:
        for h in self.hypercalls:
            if h.name == name:
                return h
        raise KeyError(name)
