"""Markdown generator: the ABI reference page."""

from __future__ import annotations

from .layout import differs, layout
from .model import Policy, Spec


def _policy(p: Policy) -> str:
    return "control domain" if p is Policy.CONTROL else "any domain"


def reference_page(spec: Spec) -> str:
    out = [
        "# Keel ABI reference",
        "",
        "Generated from `hv/abi/` by `python_build/abi`; do not edit. Every hypercall returns",
        "a negative errno on failure: unknown numbers and sub-operations give -ENOSYS, callers",
        "outside the policy -EPERM, bad guest pointers -EFAULT.",
        "",
        "## Hypercalls",
        "",
        "| Number | Name | Arguments | Callers | Description |",
        "|---:|---|---|---|---|",
    ]
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        args = ", ".join(f"`{a.name}: {a.type}`" for a in hc.args) or "none"
        out.append(f"| {hc.number} | `{hc.name}` | {args} | {_policy(hc.policy)} | {hc.doc} |")
    out.append("")
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        if not hc.subops:
            continue
        out += [
            f"### {hc.name} sub-operations",
            "",
            "| Number | Name | Argument | Callers | Description |",
            "|---:|---|---|---|---|",
        ]
        for s in hc.subops:
            arg = f"`{spec.aggregate(s.arg).kind} {s.arg}`" if s.arg else ""
            out.append(f"| {s.number} | `{s.name}` | {arg} | {_policy(s.policy)} | {s.doc} |")
        out.append("")
    out += ["## Constants", ""]
    for g in spec.groups:
        out += [f"### {g.name}", ""]
        if g.doc:
            out += [g.doc, ""]
        out += ["| Name | Value | Description |", "|---|---:|---|"]
        for c in g.constants:
            value = f"{c.value:#x}" if c.value >= 0x100 else str(c.value)
            out.append(f"| `{c.name}` | {value} | {c.doc} |")
        out.append("")
    out += [
        "## Structures",
        "",
        "Offsets and sizes for 64-bit guests; where a 32-bit guest's layout differs",
        "(`ulong` and handles are 4 bytes, 64-bit fields 4-byte aligned) it is shown too.",
        "",
    ]
    for agg in spec.aggregates:
        native = layout(spec, agg, "native")
        compat = layout(spec, agg, "compat")
        split = differs(spec, agg)
        title = f"### {agg.kind} {agg.name} ({native.size} bytes"
        title += f"; {compat.size} for 32-bit guests)" if split else ")"
        out += [title, ""]
        if agg.doc:
            out += [agg.doc, ""]
        if split:
            out += ["| Offset | 32-bit | Type | Field | Description |", "|---:|---:|---|---|---|"]
        else:
            out += ["| Offset | Type | Field | Description |", "|---:|---|---|---|"]
        for f, nl, cl in zip(agg.fields, native.fields, compat.fields, strict=True):
            arr = f"[{f.count}]" if f.count else ""
            if f.compat_count is not None:
                arr = f"[{f.count}; {f.compat_count} for 32-bit]"
            if split:
                noff = str(nl.offset) if nl.present else "-"
                coff = str(cl.offset) if cl.present else "-"
                out.append(f"| {noff} | {coff} | `{f.type}` | `{f.name}{arr}` | {f.doc} |")
            else:
                out.append(f"| {nl.offset} | `{f.type}` | `{f.name}{arr}` | {f.doc} |")
        out.append("")
    return "\n".join(out)
