"""Linux bzImage: find and decompress the payload (the vmlinux ELF).

Offsets are those of the x86 boot protocol (Documentation/arch/x86/boot.rst):
the setup header lives in the first sectors of the file."""

from __future__ import annotations

from dataclasses import dataclass

from keel.builder.decompress import decompress
from keel.errors import ImageError

HDR_MAGIC = b"HdrS"
OFF_SETUP_SECTS = 0x1F1
OFF_MAGIC = 0x202
OFF_VERSION = 0x206
OFF_PAYLOAD_OFFSET = 0x248
OFF_PAYLOAD_LENGTH = 0x24C
MIN_VERSION = 0x208  # payload_offset/length appeared in boot protocol 2.08


@dataclass(frozen=True)
class BzImage:
    version: int
    setup_size: int  # bytes before the protected-mode code
    payload_offset: int  # within the file
    payload_length: int
    compression: str
    vmlinux: bytes


def is_bzimage(data: bytes) -> bool:
    return data[OFF_MAGIC : OFF_MAGIC + 4] == HDR_MAGIC


def _u(data: bytes, off: int, size: int) -> int:
    return int.from_bytes(data[off : off + size], "little")


def extract(data: bytes, what: str = "kernel") -> BzImage:
    if not is_bzimage(data):
        raise ImageError(f"{what}: not a bzImage (no HdrS signature)")
    version = _u(data, OFF_VERSION, 2)
    if version < MIN_VERSION:
        raise ImageError(f"{what}: boot protocol {version >> 8}.{version & 0xFF:02} has no payload fields (need 2.08)")
    setup_sects = data[OFF_SETUP_SECTS] or 4
    setup_size = (setup_sects + 1) * 512
    offset = setup_size + _u(data, OFF_PAYLOAD_OFFSET, 4)
    length = _u(data, OFF_PAYLOAD_LENGTH, 4)
    if not length or offset + length > len(data):
        raise ImageError(f"{what}: the payload ({length} bytes at {offset:#x}) is outside the file")
    fmt, vmlinux = decompress(data[offset : offset + length], f"{what} payload")
    return BzImage(version, setup_size, offset, length, fmt, vmlinux)
