"""ELF images (32- and 64-bit little-endian x86): loadable segments and Xen notes.

ELF is a file format, not part of Keel's ABI, so it is read with `struct` here;
the ELF field layouts are the System V gABI's."""

from __future__ import annotations

import struct
from dataclasses import dataclass

import keel_abi

from keel.errors import ImageError

PT_LOAD = 1
PT_NOTE = 4
SHT_NOTE = 7
EM_386 = 3
EM_X86_64 = 62

# (e_ident is 16 bytes) e_type e_machine e_version e_entry e_phoff e_shoff e_flags
# e_ehsize e_phentsize e_phnum e_shentsize e_shnum e_shstrndx
_EHDR = {1: struct.Struct("<HHIIIIIHHHHHH"), 2: struct.Struct("<HHIQQQIHHHHHH")}
# p_type p_flags/p_offset ... in each class's field order, normalised below.
_PHDR = {1: struct.Struct("<IIIIIIII"), 2: struct.Struct("<IIQQQQQQ")}
_SHDR = {1: struct.Struct("<IIIIIIIIII"), 2: struct.Struct("<IIQQQQIIQQ")}


@dataclass(frozen=True)
class Segment:
    paddr: int
    offset: int
    filesz: int
    memsz: int

    @property
    def end(self) -> int:
        return self.paddr + self.memsz


@dataclass(frozen=True)
class Note:
    name: str
    type: int
    desc: bytes


@dataclass(frozen=True)
class ElfImage:
    data: bytes
    elf_class: int  # 32 or 64
    machine: int
    entry: int
    segments: tuple[Segment, ...]
    notes: tuple[Note, ...]

    def segment_bytes(self, seg: Segment) -> bytes:
        return self.data[seg.offset : seg.offset + seg.filesz]

    def xen_note(self, note_type: int) -> bytes | None:
        for n in self.notes:
            if n.name == "Xen" and n.type == note_type:
                return n.desc
        return None

    @property
    def phys32_entry(self) -> int | None:
        """The PVH entry point from the XEN_ELFNOTE_PHYS32_ENTRY note."""
        desc = self.xen_note(keel_abi.XEN_ELFNOTE_PHYS32_ENTRY)
        if desc is None:
            return None
        if len(desc) in (4, 8):
            return int.from_bytes(desc, "little")
        raise ImageError(f"the PHYS32_ENTRY note has {len(desc)} bytes; expected 4 or 8")


def is_elf(data: bytes) -> bool:
    return data[:4] == b"\x7fELF"


def parse_elf(data: bytes, what: str = "kernel") -> ElfImage:
    if not is_elf(data) or len(data) < 52:
        raise ImageError(f"{what}: not an ELF file")
    cls = {1: 32, 2: 64}.get(data[4])
    if cls is None:
        raise ImageError(f"{what}: unknown ELF class {data[4]}")
    if data[5] != 1:
        raise ImageError(f"{what}: big-endian ELF is not supported")
    key = 1 if cls == 32 else 2
    try:
        (_, machine, _, entry, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, _) = _EHDR[key].unpack_from(
            data, 16
        )
    except struct.error:
        raise ImageError(f"{what}: truncated ELF header") from None
    if machine not in (EM_386, EM_X86_64):
        raise ImageError(f"{what}: ELF machine {machine} is not x86")
    segments: list[Segment] = []
    notes: list[Note] = []
    for i in range(phnum):
        ptype, offset, paddr, filesz, memsz = _phdr(data, key, phoff + i * phentsize, what)
        if offset + filesz > len(data):
            raise ImageError(f"{what}: program header {i} runs past the end of the file")
        if ptype == PT_LOAD and memsz:
            if filesz > memsz:
                raise ImageError(f"{what}: segment {i} has p_filesz > p_memsz")
            segments.append(Segment(paddr, offset, filesz, memsz))
        elif ptype == PT_NOTE:
            notes += _notes(data[offset : offset + filesz])
    if not notes and shoff:
        for i in range(shnum):
            try:
                sh = _SHDR[key].unpack_from(data, shoff + i * shentsize)
            except struct.error:
                break
            if sh[1] == SHT_NOTE:
                notes += _notes(data[sh[4] : sh[4] + sh[5]])
    return ElfImage(data, cls, machine, entry, tuple(segments), tuple(notes))


def _phdr(data: bytes, key: int, off: int, what: str) -> tuple[int, int, int, int, int]:
    try:
        f = _PHDR[key].unpack_from(data, off)
    except struct.error:
        raise ImageError(f"{what}: truncated program headers") from None
    if key == 1:  # type offset vaddr paddr filesz memsz flags align
        return f[0], f[1], f[3], f[4], f[5]
    return f[0], f[2], f[4], f[5], f[6]  # type flags offset vaddr paddr filesz memsz align


def _notes(blob: bytes) -> list[Note]:
    out: list[Note] = []
    i = 0
    while i + 12 <= len(blob):
        namesz, descsz, ntype = struct.unpack_from("<III", blob, i)
        i += 12
        name = blob[i : i + namesz].rstrip(b"\0").decode("ascii", "replace")
        i += (namesz + 3) & ~3
        desc = blob[i : i + descsz]
        i += (descsz + 3) & ~3
        out.append(Note(name, ntype, desc))
    return out
