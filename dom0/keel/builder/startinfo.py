"""The PVH boot data: hvm_start_info, the memory map, the module list and strings.

Encoded with the generated cffi declarations (keel.abi); never by hand."""

from __future__ import annotations

from dataclasses import dataclass

import keel_abi

from keel import abi
from keel.builder.layout import (
    BOOT_DATA_END,
    MEMMAP_PADDR,
    MODLIST_PADDR,
    START_INFO_PADDR,
    Layout,
    MemRange,
    Placement,
)

START_INFO_VERSION = 1


def encode_boot_data(layout: Layout, flags: int = 0) -> bytes:
    """The bytes to copy to START_INFO_PADDR (up to BOOT_DATA_END)."""
    blob = bytearray(BOOT_DATA_END - START_INFO_PADDR)

    def put(paddr: int, data: bytes) -> None:
        off = paddr - START_INFO_PADDR
        blob[off : off + len(data)] = data

    info = {
        "magic": keel_abi.XEN_HVM_START_MAGIC_VALUE,
        "version": START_INFO_VERSION,
        "flags": flags,
        "nr_modules": len(layout.modules),
        "modlist_paddr": MODLIST_PADDR if layout.modules else 0,
        "cmdline_paddr": layout.cmdline_paddr,
        "rsdp_paddr": 0,
        "memmap_paddr": MEMMAP_PADDR,
        "memmap_entries": len(layout.memmap),
    }
    put(START_INFO_PADDR, abi.pack("hvm_start_info", info))
    size = abi.sizeof("hvm_memmap_table_entry")
    for i, r in enumerate(layout.memmap):
        put(
            MEMMAP_PADDR + i * size,
            abi.pack("hvm_memmap_table_entry", {"addr": r.addr, "size": r.size, "type": r.type}),
        )
    size = abi.sizeof("hvm_modlist_entry")
    for i, m in enumerate(layout.modules):
        entry = {"paddr": m.paddr, "size": m.size, "cmdline_paddr": m.cmdline_paddr}
        put(MODLIST_PADDR + i * size, abi.pack("hvm_modlist_entry", entry))
    if layout.cmdline_paddr:
        put(layout.cmdline_paddr, layout.cmdline.encode() + b"\0")
    for m in layout.modules:
        if m.cmdline_paddr:
            put(m.cmdline_paddr, m.cmdline.encode() + b"\0")
    return bytes(blob)


@dataclass(frozen=True)
class DecodedBootData:
    """What a guest would read from the boot data (used to check the encoder)."""

    start_info: dict[str, int]
    memmap: tuple[MemRange, ...]
    modules: tuple[Placement, ...]
    cmdline: str


def decode_boot_data(blob: bytes, base: int = START_INFO_PADDR) -> DecodedBootData:
    def at(paddr: int) -> int:
        return paddr - base

    def string(paddr: int) -> str:
        if not paddr:
            return ""
        off = at(paddr)
        return blob[off : blob.index(b"\0", off)].decode()

    info = abi.unpack("hvm_start_info", blob, at(START_INFO_PADDR))
    size = abi.sizeof("hvm_memmap_table_entry")
    memmap = tuple(
        MemRange(e["addr"], e["size"], e["type"])
        for e in (
            abi.unpack("hvm_memmap_table_entry", blob, at(info["memmap_paddr"]) + i * size)
            for i in range(info["memmap_entries"])
        )
    )
    size = abi.sizeof("hvm_modlist_entry")
    modules = []
    for i in range(info["nr_modules"]):
        e = abi.unpack("hvm_modlist_entry", blob, at(info["modlist_paddr"]) + i * size)
        modules.append(Placement(e["paddr"], e["size"], string(e["cmdline_paddr"]), e["cmdline_paddr"]))
    return DecodedBootData(info, memmap, tuple(modules), string(info["cmdline_paddr"]))
