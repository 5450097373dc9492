"""The guest layout of docs/pvh-layout.md, the start-info bytes and the initial vCPU state.

Bytes are decoded here with the offsets of keel_abi.LAYOUTS (the spec's own
layout table), a second source next to the cffi declarations the builder uses."""

from __future__ import annotations

import itertools
from pathlib import Path

import keel_abi
import pytest
from keel.builder.elf import Segment
from keel.builder.image import build_image
from keel.builder.layout import ModuleSpec, memory_map, plan
from keel.builder.startinfo import decode_boot_data, encode_boot_data
from keel.builder.vcpu import decode_context, initial_context
from keel.config import load
from keel.errors import LayoutError

MIB = 1 << 20
RAM, RESERVED = keel_abi.XEN_HVM_MEMMAP_TYPE_RAM, keel_abi.XEN_HVM_MEMMAP_TYPE_RESERVED


def field(blob: bytes, struct: str, name: str, base: int = 0) -> int:
    """A little-endian field read with the spec's layout table."""
    size, offsets = keel_abi.LAYOUTS[struct]
    start = offsets[name]
    following = sorted(o for o in offsets.values() if o > start)
    end = following[0] if following else size
    return int.from_bytes(blob[base + start : base + end], "little")


def seg(paddr: int, memsz: int) -> Segment:
    return Segment(paddr, 0, memsz, memsz)


@pytest.mark.parametrize("mib", [4, 16, 256, 4096])
def test_memory_map_sums_to_memory(mib: int) -> None:
    mm = memory_map(mib * MIB)
    assert sum(r.size for r in mm if r.type == RAM) == mib * MIB
    assert (mm[0].addr, mm[0].size, mm[0].type) == (0, 0xA0000, RAM)
    assert (mm[1].addr, mm[1].size, mm[1].type) == (0xA0000, 0x60000, RESERVED)
    assert (mm[2].addr, mm[2].type) == (0x100000, RAM)
    # no overlaps, ascending
    assert all(a.end <= b.addr for a, b in itertools.pairwise(mm))


def test_memory_map_continues_above_4g_before_the_mmio_hole() -> None:
    mm = memory_map(5 * 1024 * MIB)
    assert mm[2].end == 0xFC000000
    assert (mm[3].addr, mm[3].type) == (1 << 32, RAM)
    assert sum(r.size for r in mm if r.type == RAM) == 5 * 1024 * MIB


@pytest.mark.parametrize("memory", [2 * MIB, 5 * MIB, 4 * MIB + 4096])
def test_memory_size_rules(memory: int) -> None:
    with pytest.raises(LayoutError, match="at least 4 MiB and a multiple of 2 MiB"):
        memory_map(memory)


def test_modules_from_the_first_2mib_boundary_page_aligned() -> None:
    lay = plan(64 * MIB, [seg(0x100000, 0x3001), seg(0x400000, 0x10)], "", [ModuleSpec(5000), ModuleSpec(3)])
    assert lay.kernel_end == 0x400010
    assert [(m.paddr, m.size) for m in lay.modules] == [(0x600000, 5000), (0x602000, 3)]


def test_kernel_end_on_a_boundary_keeps_it() -> None:
    lay = plan(16 * MIB, [seg(0x100000, 0x100000)], "", [ModuleSpec(1)])
    assert lay.modules[0].paddr == 0x200000


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ([seg(0x80000, 0x1000)], "lies below 1 MiB"),
        ([seg(0x100000, 0x2000), seg(0x101000, 0x10)], "overlap"),
        ([seg(0x100000, 16 * MIB)], "does not fit the domain's RAM"),
    ],
)
def test_kernel_placement_errors(segments: list[Segment], message: str) -> None:
    with pytest.raises(LayoutError, match=message):
        plan(16 * MIB, segments, "", [])


def test_module_that_does_not_fit() -> None:
    with pytest.raises(LayoutError, match=r"module 0 .* does not fit"):
        plan(8 * MIB, [seg(0x100000, 0x1000)], "", [ModuleSpec(8 * MIB)])


def test_strings_area_limit() -> None:
    with pytest.raises(LayoutError, match="exceed 8192 bytes"):
        plan(16 * MIB, [seg(0x100000, 0x1000)], "x" * 5000, [ModuleSpec(1, "y" * 4000)])


def test_start_info_bytes() -> None:
    lay = plan(32 * MIB, [seg(0x100000, 0x3000)], "console=hvc0 quiet", [ModuleSpec(1234, "initrd"), ModuleSpec(99)])
    blob = encode_boot_data(lay)
    assert len(blob) == 0x9000 - 0x6000
    si = "hvm_start_info"
    assert field(blob, si, "magic") == keel_abi.XEN_HVM_START_MAGIC_VALUE == 0x336EC578
    assert field(blob, si, "version") == 1
    assert field(blob, si, "flags") == 0
    assert field(blob, si, "nr_modules") == 2
    assert field(blob, si, "modlist_paddr") == 0x6800
    assert field(blob, si, "cmdline_paddr") == 0x7000
    assert field(blob, si, "rsdp_paddr") == 0
    assert field(blob, si, "memmap_paddr") == 0x6040
    assert field(blob, si, "memmap_entries") == 3

    entry = keel_abi.LAYOUTS["hvm_memmap_table_entry"][0]
    ram = [
        (field(blob, "hvm_memmap_table_entry", "addr", 0x40 + i * entry),
         field(blob, "hvm_memmap_table_entry", "size", 0x40 + i * entry),
         field(blob, "hvm_memmap_table_entry", "type", 0x40 + i * entry))
        for i in range(3)
    ]  # fmt: skip
    assert ram == [(0, 0xA0000, RAM), (0xA0000, 0x60000, RESERVED), (0x100000, 32 * MIB - 0xA0000, RAM)]
    assert sum(size for _, size, t in ram if t == RAM) == 32 * MIB

    mod = keel_abi.LAYOUTS["hvm_modlist_entry"][0]
    m0 = [field(blob, "hvm_modlist_entry", f, 0x800) for f in ("paddr", "size", "cmdline_paddr")]
    m1 = [field(blob, "hvm_modlist_entry", f, 0x800 + mod) for f in ("paddr", "size", "cmdline_paddr")]
    assert m0 == [0x200000, 1234, 0x7000 + len("console=hvc0 quiet") + 1]
    assert m1 == [0x201000, 99, 0]  # empty string: cmdline_paddr 0
    assert blob[0x1000 : 0x1000 + 26] == b"console=hvc0 quiet\0initrd\0"


def test_empty_command_line_has_no_pointer() -> None:
    blob = encode_boot_data(plan(8 * MIB, [seg(0x100000, 0x1000)], "", []))
    assert field(blob, "hvm_start_info", "cmdline_paddr") == 0
    assert field(blob, "hvm_start_info", "nr_modules") == 0
    assert field(blob, "hvm_start_info", "modlist_paddr") == 0


def test_decode_is_the_inverse_of_encode() -> None:
    lay = plan(16 * MIB, [seg(0x100000, 0x1000)], "a b", [ModuleSpec(10, "m")])
    d = decode_boot_data(encode_boot_data(lay, flags=keel_abi.SIF_INITDOMAIN))
    assert d.start_info["flags"] == keel_abi.SIF_INITDOMAIN
    assert (d.memmap, d.modules, d.cmdline) == (lay.memmap, lay.modules, "a b")


def test_initial_vcpu_state() -> None:
    ctx = initial_context(0x1234567)
    size, offsets = keel_abi.LAYOUTS["vcpu_hvm_context"]
    assert len(ctx) == size
    regs = offsets["cpu_regs"]

    def reg(name: str) -> int:
        return field(ctx, "vcpu_hvm_x86_32", name, regs)

    assert field(ctx, "vcpu_hvm_context", "mode") == keel_abi.VCPU_HVM_MODE_32B
    assert (reg("eip"), reg("ebx"), reg("eflags")) == (0x1234567, 0x6000, 0x2)
    assert (reg("cr0"), reg("cr4"), reg("efer")) == (0x11, 0, 0)
    assert (reg("cs_base"), reg("cs_limit"), reg("cs_ar")) == (0, 0xFFFFFFFF, 0xC09B)
    for s in ("ds", "es", "ss"):
        assert (reg(f"{s}_base"), reg(f"{s}_limit"), reg(f"{s}_ar")) == (0, 0xFFFFFFFF, 0xC093)
    assert (reg("tr_base"), reg("tr_limit"), reg("tr_ar")) == (0, 0x67, 0x8B)
    for r in ("eax", "ecx", "edx", "esp", "ebp", "esi", "edi", "cr3"):
        assert reg(r) == 0, r
    assert decode_context(ctx)["eip"] == 0x1234567


def test_build_image_for_an_elf(tmp_path: Path, kernel: Path) -> None:
    (tmp_path / "initrd").write_bytes(b"R" * 5000)
    cfg = tmp_path / "vm.cfg"
    cfg.write_text("name='vm'\nkernel='kernel.elf'\nramdisk='initrd'\nmemory=8\ncmdline='hello'\n")
    image = build_image(load(cfg).config)
    assert image.kernel.entry == 0x100010
    lay = image.layout
    assert lay.kernel_end == 0x100000 + 0x3000 + 0x2000
    assert [(m.paddr, m.size) for m in lay.modules] == [(0x200000, 5000)]
    writes = image.writes()
    assert [(w.gpa, len(w.data), w.what) for w in writes] == [
        (0x6000, 0x3000, "start info"),
        (0x100000, 0x3000, "kernel segment 0"),
        (0x200000, 5000, "module initrd"),
    ]
    decoded = decode_boot_data(image.boot_data)
    assert decoded.cmdline == "hello" and decoded.start_info["nr_modules"] == 1
    assert decode_context(image.vcpu_context)["eip"] == 0x100010
