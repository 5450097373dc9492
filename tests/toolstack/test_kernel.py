"""Kernel loaders: PVH ELF (32/64-bit, from Python and from gcc) and bzImage with every compression."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from keel.builder.bzimage import extract
from keel.builder.decompress import decompress, detect
from keel.builder.elf import parse_elf
from keel.builder.kernel import kernel_from_bytes, load_kernel
from keel.errors import ImageError

from tests.toolstack.elfgen import COMPRESSORS, Seg, make_bzimage, make_elf, simple_kernel

P = Path("k")


@pytest.mark.parametrize("elf_class", [32, 64])
def test_elf_segments_and_entry(elf_class: int) -> None:
    data = make_elf([Seg(0x100000, b"A" * 100, 0x2000), Seg(0x200000, b"B" * 10)], 0x100004, elf_class=elf_class)
    k = kernel_from_bytes(data, P)
    assert (k.format, k.compression, k.entry, k.elf.elf_class) == ("elf", None, 0x100004, elf_class)
    assert [(s.paddr, s.filesz, s.memsz) for s in k.elf.segments] == [(0x100000, 100, 0x2000), (0x200000, 10, 10)]
    assert k.elf.segment_bytes(k.elf.segments[0]) == b"A" * 100


def test_eight_byte_entry_note_and_other_notes() -> None:
    data = make_elf(
        [Seg(0x100000, b"x")], 0x1000F0, entry_size=8, extra_notes=[(b"GNU", 3, b"id"), (b"Xen", 6, b"l\0")]
    )
    assert kernel_from_bytes(data, P).entry == 0x1000F0


def test_elf_without_pvh_note_is_refused() -> None:
    data = make_elf([Seg(0x100000, b"x")], None, extra_notes=[(b"Xen", 1, b"\0" * 8)])
    with pytest.raises(ImageError, match="no Xen PHYS32_ENTRY note, so it is not a PVH kernel"):
        kernel_from_bytes(data, P)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"hello world" * 10, "neither an ELF file nor a Linux bzImage"),
        (b"\x7fELF" + b"\0" * 60, "unknown ELF class 0"),
        (make_elf([Seg(0x100000, b"x")], 0x100000, machine=40), "ELF machine 40 is not x86"),
        (make_elf([], 0x100000), "no loadable segments"),
        (make_elf([Seg(0x100000, b"x")], 0x100000)[:80], "truncated program headers"),
    ],
)
def test_bad_images(data: bytes, message: str) -> None:
    with pytest.raises(ImageError, match=message):
        kernel_from_bytes(data, P)


def test_missing_kernel_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="No such file"):
        load_kernel(tmp_path / "absent.elf")


ASM = r"""
    .section .note.Xen, "a", @note
    .balign 4
    .long 4, 4, 18          /* namesz, descsz, XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .long pvh_entry
    .text
    .code32
    .globl pvh_entry
    .fill 0x40, 1, 0x90
pvh_entry:
    hlt
    jmp pvh_entry
"""


def test_gcc_built_elf_entry_matches_the_symbol(tmp_path: Path) -> None:
    """An ELF from the real toolchain: the note's entry is the address nm reports for the symbol."""
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed (scripts/bootstrap installs it)")
    src, out = tmp_path / "k.S", tmp_path / "k.elf"
    src.write_text(ASM)
    subprocess.run(
        [
            "gcc",
            "-nostdlib",
            "-static",
            "-no-pie",
            "-Wl,--build-id=none",
            "-Wl,-Ttext=0x200000",
            "-o",
            str(out),
            str(src),
        ],
        check=True,
        capture_output=True,
    )
    nm = subprocess.run(["nm", str(out)], check=True, capture_output=True, text=True).stdout
    symbol = next(int(line.split()[0], 16) for line in nm.splitlines() if line.endswith(" pvh_entry"))
    k = load_kernel(out)
    assert k.entry == symbol == 0x200040
    assert any(s.paddr <= k.entry < s.end for s in k.elf.segments)


@pytest.mark.parametrize("compression", sorted(COMPRESSORS))
def test_bzimage_every_compression(compression: str) -> None:
    elf = simple_kernel(entry=0x100020, size=0x5000)
    bz = make_bzimage(elf, compression)
    k = kernel_from_bytes(bz, P)
    assert (k.format, k.compression, k.entry) == ("bzImage", compression, 0x100020)
    assert k.elf_bytes == elf


def test_bzimage_setup_sects_zero_means_four() -> None:
    bz = bytearray(make_bzimage(simple_kernel(), "gzip", setup_sects=4))
    bz[0x1F1] = 0
    assert extract(bytes(bz)).setup_size == 5 * 512


def test_bzimage_old_boot_protocol() -> None:
    with pytest.raises(ImageError, match=r"boot protocol 2\.06 has no payload fields"):
        extract(make_bzimage(simple_kernel(), "gzip", version=0x0206))


def test_bzimage_payload_outside_file() -> None:
    bz = make_bzimage(simple_kernel(), "gzip")
    with pytest.raises(ImageError, match="is outside the file"):
        extract(bz[:-100])


def test_bzimage_size_trailer_is_checked() -> None:
    elf = simple_kernel()
    payload = COMPRESSORS["xz"](elf) + (len(elf) + 1).to_bytes(4, "little")
    with pytest.raises(ImageError, match=f"xz gave {len(elf)} bytes but the kernel records {len(elf) + 1}"):
        decompress(payload)


def test_corrupt_and_unknown_payloads() -> None:
    good = COMPRESSORS["gzip"](b"x" * 1000)
    with pytest.raises(ImageError, match="gzip data is corrupt"):
        decompress(good[:10] + b"\xff" * 20 + good[30:])
    with pytest.raises(ImageError, match="unknown compression"):
        decompress(b"\x00\x01\x02\x03\x04\x05")
    with pytest.raises(ImageError, match="lzo compression is not supported"):
        decompress(b"\x89LZO\x00\x0d\x0a\x1a")
    assert detect(b"\x28\xb5\x2f\xfd...") == "zstd"


def test_parse_elf_section_notes_fallback() -> None:
    """An ELF whose note is only in a SHT_NOTE section (no PT_NOTE) still yields its entry."""
    data = bytearray(make_elf([Seg(0x100000, b"x" * 16)], 0x100008))
    # turn the PT_NOTE program header into PT_NULL and add a section header table pointing at the notes
    phoff, phnum = 64, 2
    note_ph = phoff + (phnum - 1) * 56
    note_off = int.from_bytes(data[note_ph + 8 : note_ph + 16], "little")
    note_len = int.from_bytes(data[note_ph + 32 : note_ph + 40], "little")
    data[note_ph : note_ph + 4] = (0).to_bytes(4, "little")
    shoff = len(data)
    shdr = bytearray(64)
    shdr[4:8] = (7).to_bytes(4, "little")  # SHT_NOTE
    shdr[24:32] = note_off.to_bytes(8, "little")
    shdr[32:40] = note_len.to_bytes(8, "little")
    data += bytes(64) + shdr  # section 0 is SHN_UNDEF
    data[0x28:0x30] = shoff.to_bytes(8, "little")
    data[0x3A:0x3C] = (64).to_bytes(2, "little")
    data[0x3C:0x3E] = (2).to_bytes(2, "little")
    assert parse_elf(bytes(data)).phys32_entry == 0x100008
