"""Tiny test images: PVH ELF files and bzImages wrapping them.

The ELF layout is written field by field from the System V gABI, independently
of keel.builder.elf, so the loader is checked against a second implementation."""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import lz4.block
import zstandard

PHYS32_ENTRY = 18


@dataclass(frozen=True)
class Seg:
    paddr: int
    data: bytes
    memsz: int | None = None  # default len(data)


def _note(name: bytes, ntype: int, desc: bytes) -> bytes:
    def pad(b: bytes) -> bytes:
        return b + b"\0" * (-len(b) % 4)

    return struct.pack("<III", len(name) + 1, len(desc), ntype) + pad(name + b"\0") + pad(desc)


def make_elf(
    segments: Sequence[Seg],
    entry: int | None,
    *,
    elf_class: int = 64,
    machine: int | None = None,
    extra_notes: Sequence[tuple[bytes, int, bytes]] = (),
    entry_size: int = 4,
) -> bytes:
    """An ELF with PT_LOAD segments and a PT_NOTE holding a Xen PHYS32_ENTRY note (unless entry is None)."""
    is64 = elf_class == 64
    notes = b"".join(_note(n, t, d) for n, t, d in extra_notes)
    if entry is not None:
        notes += _note(b"Xen", PHYS32_ENTRY, entry.to_bytes(entry_size, "little"))
    ehsize, phentsize = (64, 56) if is64 else (52, 32)
    phnum = len(segments) + (1 if notes else 0)
    offset = ehsize + phnum * phentsize
    layout = []
    blobs = b""
    for seg in segments:
        layout.append((offset + len(blobs), seg))
        blobs += seg.data + b"\0" * (-len(seg.data) % 16)
    note_off = offset + len(blobs)
    machine = machine if machine is not None else (62 if is64 else 3)
    ident = b"\x7fELF" + bytes([2 if is64 else 1, 1, 1]) + b"\0" * 9
    e_entry = segments[0].paddr if segments else 0
    if is64:
        ehdr = ident + struct.pack(
            "<HHIQQQIHHHHHH", 2, machine, 1, e_entry, ehsize, 0, 0, ehsize, phentsize, phnum, 64, 0, 0
        )
    else:
        ehdr = ident + struct.pack(
            "<HHIIIIIHHHHHH", 2, machine, 1, e_entry, ehsize, 0, 0, ehsize, phentsize, phnum, 40, 0, 0
        )
    phdrs = b""
    for off, seg in layout:
        memsz = seg.memsz if seg.memsz is not None else len(seg.data)
        if is64:
            phdrs += struct.pack("<IIQQQQQQ", 1, 7, off, seg.paddr, seg.paddr, len(seg.data), memsz, 0x1000)
        else:
            phdrs += struct.pack("<IIIIIIII", 1, off, seg.paddr, seg.paddr, len(seg.data), memsz, 7, 0x1000)
    if notes:
        if is64:
            phdrs += struct.pack("<IIQQQQQQ", 4, 4, note_off, 0, 0, len(notes), len(notes), 4)
        else:
            phdrs += struct.pack("<IIIIIIII", 4, note_off, 0, 0, len(notes), len(notes), 4, 4)
    return ehdr + phdrs + blobs + notes


def simple_kernel(entry: int = 0x100010, size: int = 0x3000, bss: int = 0x2000, elf_class: int = 64) -> bytes:
    """A kernel at 1 MiB: `size` bytes of a recognisable pattern, then `bss` zero bytes."""
    text = bytes((i * 7 + 3) & 0xFF for i in range(size))
    return make_elf([Seg(0x100000, text, size + bss)], entry, elf_class=elf_class)


# -- bzImage -------------------------------------------------------------------


def _lz4_legacy(data: bytes) -> bytes:
    out = struct.pack("<I", 0x184C2102)
    for off in range(0, len(data), 8 << 20):
        block = lz4.block.compress(data[off : off + (8 << 20)], store_size=False, mode="high_compression")
        out += struct.pack("<I", len(block)) + block
    return out


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "xz": lambda d: lzma.compress(d, format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC32),
    "lzma": lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE),
    "bzip2": bz2.compress,
    "zstd": lambda d: zstandard.ZstdCompressor().compress(d),
    "lz4": _lz4_legacy,
}


def make_bzimage(payload_elf: bytes, compression: str, setup_sects: int = 4, version: int = 0x020F) -> bytes:
    """A file with a boot-protocol setup header whose payload is the compressed ELF plus its size (as Linux)."""
    payload = COMPRESSORS[compression](payload_elf) + struct.pack("<I", len(payload_elf))
    setup = bytearray((setup_sects + 1) * 512)
    setup[0x1F1] = setup_sects
    setup[0x1FE:0x200] = b"\x55\xaa"
    setup[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", setup, 0x206, version)
    pm_code = b"\x90" * 0x200  # stands in for the decompressor
    struct.pack_into("<I", setup, 0x248, len(pm_code))
    struct.pack_into("<I", setup, 0x24C, len(payload))
    return bytes(setup) + pm_code + payload + b"\0" * 64
