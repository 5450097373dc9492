"""Python generator: cffi declarations and constants for the toolstack.

The toolstack never spells a struct layout itself: it allocates and reads
structs through ``ffi`` from this module, whose declarations come from the
same spec as the hypervisor's header."""

from __future__ import annotations

from .gen_c import _aggregate
from .layout import layout
from .model import Policy, Spec


def python_module(spec: Spec) -> str:
    cdef: list[str] = []
    for agg in spec.aggregates:
        cdef += _aggregate(spec, agg, "native", "hv", agg.name)
    cdef_text = "\n".join(cdef).replace("\\", "\\\\")
    out = [
        '"""Keel ABI bindings. Generated from hv/abi by python_build/abi (gen_py). Do not edit."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import Final",
        "",
        "import cffi",
        "",
        f'CDEF: Final[str] = """\n{cdef_text}\n"""',
        "",
        "ffi: Final = cffi.FFI()",
        "ffi.cdef(CDEF)",
        "",
    ]
    for group in spec.groups:
        out.append(f"# {group.name}{': ' + group.doc if group.doc else ''}")
        for c in group.constants:
            out.append(
                f"{c.name}: Final[int] = {c.value:#x}" if c.value >= 0x100 else f"{c.name}: Final[int] = {c.value}"
            )
        out.append("")
    out.append("# Hypercall numbers")
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        out.append(f"HYPERCALL_{hc.name}: Final[int] = {hc.number}")
    out.append("")
    out.append("# Sub-operations")
    for hc in spec.hypercalls:
        for s in hc.subops:
            out.append(f"{s.name}: Final[int] = {s.number}")
    out.append("")
    out.append("# name -> (number, control_only, argument names)")
    out.append("HYPERCALLS: Final[dict[str, tuple[int, bool, tuple[str, ...]]]] = {")
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        args = "".join(f"{a.name!r}, " for a in hc.args)
        out.append(f"    {hc.name!r}: ({hc.number}, {hc.policy is Policy.CONTROL}, ({args})),")
    out.append("}")
    out.append("")
    out.append("# name -> (hypercall, number, control_only, argument struct or None)")
    out.append("SUBOPS: Final[dict[str, tuple[str, int, bool, str | None]]] = {")
    for hc in spec.hypercalls:
        for s in hc.subops:
            out.append(f"    {s.name!r}: ({hc.name!r}, {s.number}, {s.policy is Policy.CONTROL}, {s.arg!r}),")
    out.append("}")
    out.append("")
    out.append("# struct name -> (size, {field: offset}) as the spec lays it out")
    out.append("LAYOUTS: Final[dict[str, tuple[int, dict[str, int]]]] = {")
    for agg in spec.aggregates:
        lay = layout(spec, agg, "native")
        offs = ", ".join(f"{f.name!r}: {f.offset}" for f in lay.fields if f.present)
        out.append(f"    {agg.name!r}: ({lay.size}, {{{offs}}}),")
    out.append("}")
    out.append("")
    return "\n".join(out)
