"""Typed access to the generated ABI bindings (build/gen/keel_abi.py).

cffi ships without type information, so this module is the one place that
touches ``keel_abi.ffi``: it packs and unpacks the ABI structs the toolstack
needs by name. Layouts always come from the generated declarations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, cast

import keel_abi

from keel.errors import AbiError


class CData(Protocol):
    """A cffi struct instance: fields are attributes."""

    def __getattr__(self, name: str) -> Any: ...
    def __setattr__(self, name: str, value: Any) -> None: ...


class _FFI(Protocol):
    def new(self, cdecl: str, init: Any = ...) -> Any: ...
    def sizeof(self, cdecl: str) -> int: ...
    def buffer(self, cdata: Any, size: int = ...) -> Any: ...
    def from_buffer(self, cdecl: str, data: Any) -> Any: ...
    def typeof(self, cdecl: str) -> Any: ...


ffi = cast(_FFI, keel_abi.ffi)


def sizeof(struct: str) -> int:
    return ffi.sizeof(f"struct {struct}")


def new(struct: str) -> CData:
    """A zeroed struct."""
    return cast(CData, ffi.new(f"struct {struct} *"))


def to_bytes(obj: CData, struct: str) -> bytes:
    return bytes(ffi.buffer(obj, sizeof(struct)))


def pack(struct: str, fields: Mapping[str, int]) -> bytes:
    """The bytes of a struct with the given scalar fields (others zero)."""
    obj = new(struct)
    for name, value in fields.items():
        setattr(obj, name, value)
    return to_bytes(obj, struct)


def view(struct: str, data: bytes, offset: int = 0) -> CData:
    """A struct read from data at offset (a copy, so data may be discarded)."""
    size = sizeof(struct)
    if offset < 0 or offset + size > len(data):
        raise AbiError(f"struct {struct} at {offset:#x} runs past the end of {len(data)} bytes")
    obj = new(struct)
    ffi.buffer(obj, size)[:] = data[offset : offset + size]
    return obj


def unpack(struct: str, data: bytes, offset: int = 0) -> dict[str, int]:
    """The scalar fields of a struct read from data, in declaration order."""
    obj = view(struct, data, offset)
    return {name: int(getattr(obj, name)) for name in field_names(struct)}


def field_names(struct: str) -> list[str]:
    """The scalar fields of a struct (nested structs, unions and arrays are left out)."""
    ctype = ffi.typeof(f"struct {struct}")
    return [str(name) for name, f in ctype.fields if f.type.kind == "primitive"]
