"""A real Linux bzImage (Debian's cloud kernel): payload, PVH note, layout, start info, loading.

binutils' readelf is the independent reference for what the extracted ELF contains."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import keel_abi
import pytest
from keel.builder.bzimage import extract
from keel.builder.image import build_image
from keel.builder.kernel import load_kernel
from keel.builder.layout import align_up
from keel.builder.startinfo import decode_boot_data
from keel.bundle.bundle import make_bundle
from keel.bundle.manifest import validate_manifest
from keel.config import load
from keel.host import Host
from keel.transport.fake import FakeHypervisor

MIB = 1 << 20


@pytest.fixture(scope="module")
def vmlinux(debian_kernel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("vmlinux") / "vmlinux"
    path.write_bytes(load_kernel(debian_kernel).elf_bytes)
    return path


def _readelf(args: list[str], path: Path) -> str:
    return subprocess.run(["readelf", *args, str(path)], check=True, capture_output=True, text=True).stdout


def test_payload_decompresses_with_the_configured_compression(debian_kernel: Path) -> None:
    data = debian_kernel.read_bytes()
    bz = extract(data)
    config = (debian_kernel.parent / debian_kernel.name.replace("vmlinuz", "config")).read_text()
    configured = re.search(r"^CONFIG_KERNEL_(GZIP|XZ|LZ4|ZSTD|LZMA|BZIP2|LZO)=y$", config, re.M)
    assert configured is not None
    assert bz.compression == configured.group(1).lower()
    assert len(bz.vmlinux) == int.from_bytes(data[bz.payload_offset + bz.payload_length - 4 :][:4], "little")
    assert bz.vmlinux[:4] == b"\x7fELF"


def test_extracted_elf_has_the_pvh_note_readelf_sees(debian_kernel: Path, vmlinux: Path) -> None:
    k = load_kernel(debian_kernel)
    assert (k.format, k.elf.elf_class, k.elf.machine) == ("bzImage", 64, 62)
    notes = _readelf(["-n"], vmlinux)
    # readelf prints unknown Xen notes as "(0x00000012)" followed by the description bytes
    m = re.search(r"Xen\s+0x0*[48]\s+Unknown note type: \(0x00000012\)\s+description data: ((?:[0-9a-f]{2} ?)+)", notes)
    assert m is not None, notes
    assert k.entry == int.from_bytes(bytes.fromhex(m.group(1).replace(" ", "")), "little")
    text = k.elf.segments[0]
    assert text.paddr <= k.entry < text.end


def test_segments_match_readelf(debian_kernel: Path, vmlinux: Path) -> None:
    k = load_kernel(debian_kernel)
    loads = re.findall(r"^\s+LOAD\s+(0x\w+) 0x\w+ (0x\w+) (0x\w+) (0x\w+)", _readelf(["-lW"], vmlinux), re.M)
    expected = [(int(o, 16), int(p, 16), int(f, 16), int(m, 16)) for o, p, f, m in loads]
    assert [(s.offset, s.paddr, s.filesz, s.memsz) for s in k.elf.segments] == expected


def test_layout_and_start_info(debian_kernel: Path, tmp_path: Path) -> None:
    (tmp_path / "initrd").write_bytes(b"\x07" * 300_000)
    cfg = tmp_path / "linux.cfg"
    cfg.write_text(f"name='linux'\nkernel='{debian_kernel}'\nramdisk='initrd'\nmemory=256\ncmdline='console=hvc0'\n")
    image = build_image(load(cfg).config)
    lay = image.layout
    d = decode_boot_data(image.boot_data)
    assert d.start_info["magic"] == keel_abi.XEN_HVM_START_MAGIC_VALUE
    assert d.start_info["version"] == 1
    assert d.cmdline == "console=hvc0"
    assert sum(r.size for r in d.memmap if r.type == keel_abi.XEN_HVM_MEMMAP_TYPE_RAM) == 256 * MIB
    kernel_end = max(s.end for s in image.kernel.elf.segments)
    assert lay.kernel_end == kernel_end
    assert [(m.paddr, m.size) for m in d.modules] == [(align_up(kernel_end, 2 * MIB), 300_000)]
    assert all(s.paddr >= 0x100000 for s in lay.kernel_segments)


def test_too_little_memory_for_linux(debian_kernel: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "small.cfg"
    cfg.write_text(f"name='small'\nkernel='{debian_kernel}'\nmemory=16\n")
    with pytest.raises(Exception, match="does not fit the domain's RAM"):
        build_image(load(cfg).config)


def test_loads_through_the_fake_hypervisor(debian_kernel: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "linux.cfg"
    cfg.write_text(f"name='linux'\nkernel='{debian_kernel}'\nmemory=128\nvcpus=2\n")
    fake = FakeHypervisor()
    seen: list[tuple[int, int]] = []
    dom = Host(fake).create(load(cfg).config, progress=lambda label, done, total: seen.append((done, total)))
    k = load_kernel(debian_kernel)
    total = 0x3000 + sum(s.filesz for s in k.elf.segments)
    assert seen[-1] == (total, total) and len(seen) > 20  # copied in 1 MiB chunks
    assert fake.domains[dom.domid].bytes_copied == total
    entry_seg = k.elf.segments[0]
    off = k.entry - entry_seg.paddr
    assert fake.read_guest(dom.domid, k.entry, 16) == k.elf_bytes[entry_seg.offset + off :][:16]
    info = dom.info()
    assert (info.mem_kib, info.vcpus_online, info.running) == (128 * 1024, 2, True)


def test_bundle_carries_the_extracted_elf(debian_kernel: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "linux.cfg"
    cfg.write_text(f"name='linux'\nkernel='{debian_kernel}'\nmemory=128\n")
    b = make_bundle([load(cfg).config], tmp_path / "out", tmp_path / "no-hv.elf", iso=False)
    module = tmp_path / "out" / "linux.elf"
    assert module.read_bytes() == load_kernel(debian_kernel).elf_bytes
    assert b.domains[0].kernel_format == "bzImage"
    validate_manifest(b.manifest.read_text(), {"linux.elf"})
