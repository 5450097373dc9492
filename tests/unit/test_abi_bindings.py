"""The generated cffi bindings (keel_abi.py) agree with the spec's layout and
with the C compiler, for small.abi and the real spec."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import ModuleType

import pytest

from tests.unit.abi_common import CFLAGS, ROOT, check_run, generate, import_path, layout, parse_files, spec_files

_unique = itertools.count()


@pytest.fixture(scope="module", params=["small", "real"])
def gen(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    which: str = request.param
    return which, generate(which, tmp_path_factory.mktemp(f"bind-{which}"))


def _bindings(out: Path) -> ModuleType:
    return import_path(out / "keel_abi.py", f"keel_abi_under_test_{next(_unique)}")


def _kinds(which: str) -> dict[str, str]:
    spec = parse_files(spec_files(which), ROOT)
    return {a.name: a.kind for a in spec.aggregates}


def _from_bindings(mod: ModuleType, kinds: dict[str, str]) -> dict[str, int]:
    """Every size and offset as cffi computes it: {"name": size, "name.field": offset}."""
    found = {}
    for name, (_, fields) in mod.LAYOUTS.items():
        ctype = f"{kinds[name]} {name}"
        found[name] = mod.ffi.sizeof(ctype)
        for field in fields:
            found[f"{name}.{field}"] = mod.ffi.offsetof(ctype, field)
    return found


def test_layouts_cover_the_spec(gen: tuple[str, Path]) -> None:
    which, out = gen
    spec = parse_files(spec_files(which), ROOT)
    mod = _bindings(out)
    assert list(mod.LAYOUTS) == [a.name for a in spec.aggregates]
    for agg in spec.aggregates:
        lay = layout(spec, agg, "native")
        assert mod.LAYOUTS[agg.name] == (lay.size, {f.name: f.offset for f in lay.fields if f.present}), agg.name


def test_cffi_agrees_with_layouts(gen: tuple[str, Path]) -> None:
    which, out = gen
    mod = _bindings(out)
    found = _from_bindings(mod, _kinds(which))
    for name, (size, fields) in mod.LAYOUTS.items():
        assert found[name] == size, name
        for field, offset in fields.items():
            assert found[f"{name}.{field}"] == offset, f"{name}.{field}"


def test_cffi_agrees_with_the_compiler(gen: tuple[str, Path]) -> None:
    """Build and run the generated layout probe against abi.h and compare
    every size and offset it prints with the bindings."""
    which, out = gen
    probe = out / "abi_layout_probe"
    check_run(["gcc", *CFLAGS, "-I", out, out / "abi_layout_probe.c", "-o", probe])
    printed = {}
    for line in check_run([probe]).splitlines():
        key, value = line.split()
        assert key not in printed, f"{key} printed twice"
        printed[key] = int(value)
    mod = _bindings(out)
    assert printed == _from_bindings(mod, _kinds(which))


def test_constants_and_tables(gen: tuple[str, Path]) -> None:
    which, out = gen
    spec = parse_files(spec_files(which), ROOT)
    mod = _bindings(out)
    for c in spec.constants():
        assert getattr(mod, c.name) == c.value, c.name
    for hc in spec.hypercalls:
        assert getattr(mod, f"HYPERCALL_{hc.name}") == hc.number
        assert mod.HYPERCALLS[hc.name] == (hc.number, hc.policy.value == "control", tuple(a.name for a in hc.args))
        for s in hc.subops:
            assert getattr(mod, s.name) == s.number
            assert mod.SUBOPS[s.name] == (hc.name, s.number, s.policy.value == "control", s.arg)
    assert len(mod.SUBOPS) == sum(len(hc.subops) for hc in spec.hypercalls)


def test_structs_round_trip_through_cffi(gen: tuple[str, Path]) -> None:
    """A field written through cffi lands at the spec's offset."""
    which, out = gen
    mod = _bindings(out)
    name, field, value = ("pair", "b", 0x0102030405060708) if which == "small" else ("sched_poll", "timeout", 7)
    obj = mod.ffi.new(f"struct {name} *")
    setattr(obj, field, value)
    raw = bytes(mod.ffi.buffer(obj))
    offset = mod.LAYOUTS[name][1][field]
    assert len(raw) == mod.LAYOUTS[name][0]
    assert int.from_bytes(raw[offset : offset + 8], "little") == value
    assert raw[:offset] == bytes(offset)
