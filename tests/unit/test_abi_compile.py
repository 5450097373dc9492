"""The generated C compiles standalone on the host, for small.abi and for the
real spec (hv/abi/*.abi in order): the hypervisor header as C11 and C++11,
the dispatcher as an object, and the guest header freestanding for x86-64
and for i386, where its assertions check the 32-bit (compat) layout."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.abi_common import CFLAGS, GCC_INCLUDE, check_run, generate, run

SPECS = ["small", "real"]
# A field whose i386 offset depends on 64-bit scalars being only 4-byte
# aligned there, per spec: making it 8-byte aligned must break the -m32 build.
COMPAT_SENSITIVE = {"small": ("pair", "b"), "real": ("vcpu_runstate_info", "state_entry_time")}
GUEST_FLAGS = [*CFLAGS, "-ffreestanding", "-nostdinc", "-isystem", GCC_INCLUDE]


@pytest.fixture(scope="module", params=SPECS)
def gen(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    which: str = request.param
    return which, generate(which, tmp_path_factory.mktemp(f"gen-{which}"))


def test_hv_header_compiles_as_c(gen: tuple[str, Path]) -> None:
    _, out = gen
    check_run(["gcc", *CFLAGS, "-ffreestanding", "-fsyntax-only", "-x", "c", out / "abi.h"])


def test_hv_header_compiles_as_cxx(gen: tuple[str, Path]) -> None:
    _, out = gen
    check_run(["g++", "-std=c++11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", "-x", "c++", out / "abi.h"])


def test_dispatch_compiles_to_an_object(gen: tuple[str, Path]) -> None:
    _, out = gen
    obj = out / "abi_dispatch.o"
    check_run(["gcc", *CFLAGS, "-ffreestanding", "-I", out, "-c", out / "abi_dispatch.c", "-o", obj])
    symbols = check_run(["nm", obj])
    assert re.search(r"^[0-9a-f]+ T abi_dispatch$", symbols, re.M)
    assert re.search(r"^[0-9a-f]+ [DR] abi_hypercalls$", symbols, re.M)  # D: relocated read-only data
    # Every handler has a weak default.
    assert re.search(r"^[0-9a-f]+ W do_\w+$", symbols, re.M)


def _guest_unit(out: Path, header: str = "keel_guest_abi.h") -> Path:
    """A translation unit using the guest header: the header alone must be
    enough, with only the compiler's own headers available."""
    unit = out / f"use_{header}.c"
    unit.write_text(
        f'#include "{header}"\n'
        "unsigned long abi_test_counts(void)\n"
        "{\n"
        "    return ABI_NR_SUBOPS + ABI_NR_HYPERCALLS + ABI_NR_HYPERCALL_SLOTS;\n"
        "}\n",
        encoding="utf-8",
    )
    return unit


@pytest.mark.parametrize("arch", ["-m64", "-m32"])
def test_guest_header_compiles_freestanding(gen: tuple[str, Path], arch: str) -> None:
    _, out = gen
    check_run(["gcc", arch, *CFLAGS, "-ffreestanding", "-fsyntax-only", "-x", "c", out / "keel_guest_abi.h"])
    check_run(["gcc", arch, *GUEST_FLAGS, "-c", _guest_unit(out), "-o", out / f"guest{arch}.o"])


def test_guest_header_i386_build_checks_the_compat_layout(gen: tuple[str, Path]) -> None:
    """Give one 64-bit field the alignment a careless 32-bit definition would
    (8 instead of 4): the x86-64 build does not notice, the -m32 build must
    fail on the header's own assertions."""
    which, out = gen
    struct, field = COMPAT_SENSITIVE[which]
    text = (out / "keel_guest_abi.h").read_text(encoding="utf-8")
    block = re.search(rf"^struct {struct} {{\n.*?^}};", text, re.M | re.S)
    assert block, struct
    member = re.compile(rf"^(    u?int64_t {field});$", re.M)
    assert member.search(block.group()), f"{struct}.{field} is not a 64-bit scalar"
    corrupted = (
        text[: block.start()] + member.sub(r"\1 __attribute__((aligned(8)));", block.group()) + text[block.end() :]
    )
    (out / "corrupt_guest_abi.h").write_text(corrupted, encoding="utf-8")
    unit = _guest_unit(out, "corrupt_guest_abi.h")

    check_run(["gcc", "-m64", *GUEST_FLAGS, "-c", unit, "-o", out / "corrupt64.o"])
    proc = run(["gcc", "-m32", *GUEST_FLAGS, "-c", unit, "-o", out / "corrupt32.o"])
    assert proc.returncode != 0, "a wrong i386 layout compiled"
    assert f'"{struct} size"' in proc.stderr or f'"{struct}.' in proc.stderr, proc.stderr


def test_hv_header_checks_the_compat_layout(gen: tuple[str, Path]) -> None:
    """The same for the hypervisor's compat_* structs: if the 4-byte aligned
    64-bit type were 8-byte aligned, the header's assertions must fail."""
    _, out = gen
    text = (out / "abi.h").read_text(encoding="utf-8")
    typedef = "typedef uint64_t abi_compat_uint64_t __attribute__((aligned(4)));"
    assert typedef in text
    corrupt = out / "corrupt_abi.h"
    corrupt.write_text(text.replace(typedef, typedef.replace("aligned(4)", "aligned(8)")), encoding="utf-8")
    proc = run(["gcc", *CFLAGS, "-fsyntax-only", "-x", "c", corrupt])
    assert proc.returncode != 0, "a wrong compat layout compiled"
    assert "static assertion failed" in proc.stderr
    assert '"compat_' in proc.stderr
