"""Load a PVH kernel: an ELF as is, or the ELF inside a Linux bzImage."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from keel.builder.bzimage import extract, is_bzimage
from keel.builder.elf import ElfImage, is_elf, parse_elf
from keel.errors import ImageError


@dataclass(frozen=True)
class KernelImage:
    path: Path
    format: str  # "elf" or "bzImage"
    compression: str | None  # of a bzImage payload
    elf: ElfImage
    entry: int  # the PHYS32 entry point

    @property
    def elf_bytes(self) -> bytes:
        """What the hypervisor loads (it reads only ELF)."""
        return self.elf.data


def load_kernel(path: Path) -> KernelImage:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImageError(f"kernel {path}: {e.strerror}") from e
    return kernel_from_bytes(data, path)


def kernel_from_bytes(data: bytes, path: Path) -> KernelImage:
    what = f"kernel {path}"
    if is_elf(data):
        fmt, compression = "elf", None
        elf = parse_elf(data, what)
    elif is_bzimage(data):
        bz = extract(data, what)
        fmt, compression = "bzImage", bz.compression
        elf = parse_elf(bz.vmlinux, f"{what} (decompressed payload)")
    else:
        raise ImageError(f"{what}: neither an ELF file nor a Linux bzImage")
    entry = elf.phys32_entry
    if entry is None:
        raise ImageError(f"{what}: no Xen PHYS32_ENTRY note, so it is not a PVH kernel (Linux needs CONFIG_PVH=y)")
    if not elf.segments:
        raise ImageError(f"{what}: no loadable segments")
    return KernelImage(path, fmt, compression, elf, entry)
