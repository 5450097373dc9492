"""Decompressors for the formats Linux uses for its bzImage payload.

Every format has the kernel's 4-byte little-endian uncompressed size appended
(arch/x86/boot/compressed/Makefile, `*_with_size`); `decompress` checks it."""

from __future__ import annotations

import bz2
import lzma
import zlib
from collections.abc import Callable

import lz4.block
import zstandard

from keel.errors import ImageError

LZ4_LEGACY_MAGIC = 0x184C2102
LZ4_LEGACY_BLOCK = 8 << 20

# (magic, format name); the first match wins.
MAGICS: tuple[tuple[bytes, str], ...] = (
    (b"\x1f\x8b", "gzip"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x02\x21\x4c\x18", "lz4"),
    (b"BZh", "bzip2"),
    (b"\x89LZO", "lzo"),
    (b"\x5d\x00\x00", "lzma"),
)


def detect(data: bytes) -> str | None:
    for magic, name in MAGICS:
        if data.startswith(magic):
            return name
    return None


def _gzip(data: bytes) -> bytes:
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    return d.decompress(data) + d.flush()


def _xz(data: bytes) -> bytes:
    return lzma.LZMADecompressor(lzma.FORMAT_XZ).decompress(data)


def _lzma(data: bytes) -> bytes:
    return lzma.LZMADecompressor(lzma.FORMAT_ALONE).decompress(data)


def _bzip2(data: bytes) -> bytes:
    return bz2.BZ2Decompressor().decompress(data)


def _zstd(data: bytes) -> bytes:
    return zstandard.ZstdDecompressor().decompressobj().decompress(data)


def _lz4_legacy(data: bytes) -> bytes:
    """The lz4 "legacy" frame the kernel uses: magic, then (u32 size, block)*."""
    out: list[bytes] = []
    pos = 4
    while pos + 4 <= len(data):
        size = int.from_bytes(data[pos : pos + 4], "little")
        if size == LZ4_LEGACY_MAGIC:  # concatenated stream
            pos += 4
            continue
        if pos + 4 + size > len(data):
            break  # the appended uncompressed size, or padding
        block: bytes = lz4.block.decompress(data[pos + 4 : pos + 4 + size], uncompressed_size=LZ4_LEGACY_BLOCK)
        out.append(block)
        pos += 4 + size
    return b"".join(out)


DECOMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _gzip,
    "xz": _xz,
    "lzma": _lzma,
    "bzip2": _bzip2,
    "zstd": _zstd,
    "lz4": _lz4_legacy,
}


def decompress(data: bytes, what: str = "payload") -> tuple[str, bytes]:
    """(format, uncompressed bytes) of a kernel payload."""
    fmt = detect(data)
    if fmt is None:
        raise ImageError(f"{what}: unknown compression (starts with {data[:6].hex()})")
    fn = DECOMPRESSORS.get(fmt)
    if fn is None:
        raise ImageError(f"{what}: {fmt} compression is not supported (use gzip, xz, lzma, bzip2, lz4 or zstd)")
    try:
        out = fn(data)
    except (OSError, EOFError, ValueError, RuntimeError, zlib.error, lzma.LZMAError, zstandard.ZstdError) as e:
        raise ImageError(f"{what}: {fmt} data is corrupt: {e}") from e
    expected = int.from_bytes(data[-4:], "little") if len(data) >= 4 else -1
    if expected != len(out):
        raise ImageError(f"{what}: {fmt} gave {len(out)} bytes but the kernel records {expected}")
    return fmt, out
