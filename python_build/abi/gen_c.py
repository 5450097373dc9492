"""C generators: the hypervisor's ABI header, its dispatch table, and the
freestanding guest header used by test kernels."""

from __future__ import annotations

from .layout import FieldLayout, Mode, differs, layout
from .model import HANDLE, SCALARS, Aggregate, Field, Hypercall, Policy, Spec, TypeRef

BANNER = "/* Generated from hv/abi by python_build/abi ({tool}). Do not edit. */\n"

ASSERT_MACRO = """\
#ifdef __cplusplus
#define ABI_STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define ABI_STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif
"""

_C_SCALAR = {
    "u8": "uint8_t",
    "u16": "uint16_t",
    "u32": "uint32_t",
    "u64": "uint64_t",
    "i8": "int8_t",
    "i16": "int16_t",
    "i32": "int32_t",
    "i64": "int64_t",
}


def _hex(value: int) -> str:
    if value < 0:
        return f"({value})"
    if value >= 0x100:
        return f"0x{value:X}" + ("U" if value <= 0xFFFFFFFF else "ULL")
    return str(value)


def constants_block(spec: Spec) -> list[str]:
    out = []
    for group in spec.groups:
        out.append(f"/* {group.name}{': ' + group.doc if group.doc else ''} */")
        width = max(len(c.name) for c in group.constants)
        for c in group.constants:
            comment = f" /* {c.doc} */" if c.doc else ""
            out.append(f"#define {c.name.ljust(width)} {_hex(c.value)}{comment}")
        out.append("")
    return out


def hypercall_numbers(spec: Spec) -> list[str]:
    out = ["/* Hypercall numbers */"]
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        out.append(f"#define __HYPERVISOR_{hc.name} {hc.number}")
    top = max((hc.number for hc in spec.hypercalls), default=-1)
    out.append(f"#define ABI_NR_HYPERCALL_SLOTS {top + 1}")
    regs = max((sum(2 if a.type.name in ("u64", "i64") else 1 for a in hc.args) for hc in spec.hypercalls), default=0)
    out.append(f"#define ABI_MAX_ARG_REGS {regs} /* argument registers any hypercall reads (32-bit guests) */")
    out.append("")
    for hc in spec.hypercalls:
        if not hc.subops:
            continue
        out.append(f"/* {hc.name} sub-operations */")
        width = max(len(s.name) for s in hc.subops)
        for s in hc.subops:
            note = " /* control domain only */" if s.policy is Policy.CONTROL else ""
            out.append(f"#define {s.name.ljust(width)} {s.number}{note}")
        out.append("")
    return out


def _member_type(spec: Spec, t: TypeRef, mode: Mode, flavour: str) -> str:
    """C spelling of a field type.

    flavour "hv": the hypervisor's view (handles are integers, compat
    structs get their own names); "guest": the guest's natural types.
    """
    if t.aggregate:
        agg = spec.aggregate(t.name)
        if flavour == "hv" and mode == "compat" and differs(spec, agg):
            return f"{agg.kind} compat_{agg.name}"
        return f"{agg.kind} {agg.name}"
    if flavour == "guest":
        if t.name == HANDLE:
            if t.target == "void":
                return "void *"
            if t.target in _C_SCALAR:
                return f"{_C_SCALAR[t.target]} *"
            if t.target == "ulong":
                return "unsigned long *"
            return f"{spec.aggregate(t.target or '').kind} {t.target} *"
        if t.name == "ulong":
            return "unsigned long"
        return _C_SCALAR[t.name]
    if t.name in (HANDLE, "ulong"):
        return "uint64_t" if mode == "native" else "uint32_t"
    if mode == "compat" and SCALARS[t.name][0] == 8:
        return "abi_compat_" + _C_SCALAR[t.name]
    return _C_SCALAR[t.name]


def _field_lines(spec: Spec, f: Field, fl: FieldLayout, mode: Mode, flavour: str) -> list[str]:
    if not fl.present:
        return []
    out = []
    if fl.pad_before:
        out.append(f"    uint8_t _pad_{f.name}[{fl.pad_before}];")
    ctype = _member_type(spec, f.type, mode, flavour)
    sep = "" if ctype.endswith("*") else " "
    n = f.length(mode)
    arr = f"[{n}]" if n else ""
    comment = f" /* {f.doc} */" if f.doc else ""
    out.append(f"    {ctype}{sep}{f.name}{arr};{comment}")
    return out


def _aggregate(spec: Spec, agg: Aggregate, mode: Mode, flavour: str, cname: str) -> list[str]:
    """A struct or union definition.  The guest flavour serves both guest
    modes from one definition, switching on the compiler's target where a
    field's length or padding differs."""
    out = []
    if agg.doc and cname == agg.name:
        out.append(f"/* {agg.doc} */")
    out.append(f"{agg.kind} {cname} {{")
    native = layout(spec, agg, mode).fields
    compat = layout(spec, agg, "compat").fields
    for f, nl, cl in zip(agg.fields, native, compat, strict=True):
        lines = _field_lines(spec, f, nl, mode, flavour)
        if flavour == "guest":
            other = _field_lines(spec, f, cl, "compat", flavour)
            if other != lines:
                lines = ["#if defined(__x86_64__)"] + lines + ["#else"] + other + ["#endif"]
        out += lines
    out.append("};")
    return out


def _asserts(spec: Spec, agg: Aggregate, mode: Mode, cname: str) -> list[str]:
    lay = layout(spec, agg, mode)
    out = [f'ABI_STATIC_ASSERT(sizeof({agg.kind} {cname}) == {lay.size}, "{cname} size");']
    for fl in lay.fields:
        if not fl.present:
            continue
        out.append(
            f'ABI_STATIC_ASSERT(offsetof({agg.kind} {cname}, {fl.name}) == {fl.offset}, "{cname}.{fl.name} offset");'
        )
    return out


def _handler_params(spec: Spec, hc: Hypercall) -> list[str]:
    params = ["struct vcpu *v"]
    for a in hc.args:
        if a.type.name in (HANDLE, "ulong"):
            ctype = "abi_gva_t" if a.type.name == HANDLE else "uint64_t"
        else:
            ctype = _C_SCALAR[a.type.name]
        params.append(f"{ctype} {a.name}")
    return params


def hv_header(spec: Spec) -> str:
    lines = [
        BANNER.format(tool="gen_c.hv_header"),
        "#ifndef KEEL_GENERATED_ABI_H",
        "#define KEEL_GENERATED_ABI_H",
        "",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        ASSERT_MACRO,
        "/* A guest virtual address: never dereferenced directly by the hypervisor. */",
        "typedef uint64_t abi_gva_t;",
        "/* 64-bit scalars as a 32-bit guest lays them out (4-byte aligned). */",
        "typedef uint64_t abi_compat_uint64_t __attribute__((aligned(4)));",
        "typedef int64_t abi_compat_int64_t __attribute__((aligned(4)));",
        "",
        "#define ABI_POLICY_ANY 0",
        "#define ABI_POLICY_CONTROL 1",
        "",
    ]
    lines += constants_block(spec)
    lines += hypercall_numbers(spec)
    for agg in spec.aggregates:
        lines += _aggregate(spec, agg, "native", "hv", agg.name)
        lines += _asserts(spec, agg, "native", agg.name)
        lines.append("")
        if differs(spec, agg):
            cname = f"compat_{agg.name}"
            lines.append(f"/* {agg.name} as laid out by 32-bit guests */")
            lines += _aggregate(spec, agg, "compat", "hv", cname)
            lines += _asserts(spec, agg, "compat", cname)
            lines.append("")
    lines += [
        "struct vcpu;",
        "",
        "/* Handlers, one per hypercall.  Arguments arrive truncated to their",
        " * declared widths; the caller policy and sub-operation number have",
        " * already been checked by abi_dispatch(). */",
    ]
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        lines.append(f"long do_{hc.name}({', '.join(_handler_params(spec, hc))});")
    lines += [
        "",
        "struct abi_subop_desc {",
        "    uint32_t number;",
        "    uint8_t policy;",
        "    const char *name;",
        "};",
        "",
        "struct abi_hypercall_desc {",
        "    long (*call)(struct vcpu *v, const uint64_t *args, int caller_is_control, int compat);",
        "    const char *name;",
        "    uint8_t nargs;",
        "    uint8_t policy;",
        "    uint8_t nr_subops;",
        "    const struct abi_subop_desc *subops;",
        "};",
        "",
        "extern const struct abi_hypercall_desc abi_hypercalls[ABI_NR_HYPERCALL_SLOTS];",
        "",
        "/* Validate number, caller policy and sub-operation, then run the handler.",
        " * Unknown numbers and sub-operations give -ENOSYS; a caller the policy",
        " * excludes gets -EPERM before any handler runs.  args holds the argument",
        " * registers in order (six, so a 32-bit guest's split 64-bit values fit);",
        " * compat is set for 32-bit guests. */",
        "long abi_dispatch(struct vcpu *v, uint64_t nr, const uint64_t args[6], int caller_is_control, int compat);",
        "",
        "#endif",
        "",
    ]
    return "\n".join(lines)


def _arg_exprs(hc: Hypercall, compat: bool) -> list[str]:
    """C expressions for the handler's arguments.  A 32-bit guest passes a
    64-bit scalar in two consecutive registers, low half first."""
    exprs = []
    reg = 0
    for a in hc.args:
        wide = a.type.name in ("u64", "i64")
        if compat and wide:
            expr = f"(args[{reg}] & 0xFFFFFFFFu) | (args[{reg + 1}] << 32)"
            reg += 2
        else:
            expr = f"args[{reg}]"
            reg += 1
        if a.type.name in _C_SCALAR and a.type.name != "u64":
            expr = f"({_C_SCALAR[a.type.name]})({expr})"
        exprs.append(expr)
    return exprs


def dispatch_source(spec: Spec, header: str = "abi.h") -> str:
    need = {"EPERM", "ENOSYS"}
    have = {c.name for c in spec.constants()}
    missing = need - have
    if missing:
        raise ValueError(f"the spec must define {', '.join(sorted(missing))}")
    lines = [
        BANNER.format(tool="gen_c.dispatch_source"),
        f'#include "{header}"',
        "",
        "/* Default handlers for hypercalls the core does not implement yet:",
        " * a guest sees -ENOSYS, exactly as for an unknown number. */",
    ]
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        params = _handler_params(spec, hc)
        lines.append(f"__attribute__((weak)) long do_{hc.name}({', '.join(params)})")
        lines.append("{")
        for p in params:
            lines.append(f"    (void){p.split()[-1].lstrip('*')};")
        lines.append("    return -ENOSYS;")
        lines.append("}")
        lines.append("")
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        lines.append(
            f"static long call_{hc.name}(struct vcpu *v, const uint64_t *args, int caller_is_control, int compat)"
        )
        lines.append("{")
        checks_policy = any(s.policy is Policy.CONTROL for s in hc.subops) and hc.policy is not Policy.CONTROL
        if not checks_policy:
            lines.append("    (void)caller_is_control;")
        if hc.subops:
            sel = hc.args[hc.subop_arg]
            ctype = _C_SCALAR.get(sel.type.name, "uint64_t")
            lines.append(f"    switch (({ctype})args[{hc.subop_arg}]) {{")
            for s in hc.subops:
                lines.append(f"    case {s.number}: /* {s.name} */")
                if s.policy is Policy.CONTROL and hc.policy is not Policy.CONTROL:
                    lines.append("        if (!caller_is_control)")
                    lines.append("            return -EPERM;")
                lines.append("        break;")
            lines.append("    default:")
            lines.append("        return -ENOSYS;")
            lines.append("    }")
        if not hc.args:
            lines.append("    (void)args;")
        native = ", ".join(["v"] + _arg_exprs(hc, False))
        compat = ", ".join(["v"] + _arg_exprs(hc, True))
        if native != compat:
            lines.append("    if (compat)")
            lines.append(f"        return do_{hc.name}({compat});")
        else:
            lines.append("    (void)compat;")
        lines.append(f"    return do_{hc.name}({native});")
        lines.append("}")
        lines.append("")
        if hc.subops:
            lines.append(f"static const struct abi_subop_desc subops_{hc.name}[] = {{")
            for s in hc.subops:
                pol = "ABI_POLICY_CONTROL" if s.policy is Policy.CONTROL else "ABI_POLICY_ANY"
                lines.append(f'    {{ {s.number}, {pol}, "{s.name}" }},')
            lines.append("};")
            lines.append("")
    lines.append("const struct abi_hypercall_desc abi_hypercalls[ABI_NR_HYPERCALL_SLOTS] = {")
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        pol = "ABI_POLICY_CONTROL" if hc.policy is Policy.CONTROL else "ABI_POLICY_ANY"
        subops = f"subops_{hc.name}" if hc.subops else "0"
        lines.append(
            f'    [{hc.number}] = {{ call_{hc.name}, "{hc.name}", {len(hc.args)}, {pol}, {len(hc.subops)}, {subops} }},'
        )
    lines += [
        "};",
        "",
        "long abi_dispatch(struct vcpu *v, uint64_t nr, const uint64_t args[6], int caller_is_control, int compat)",
        "{",
        "    const struct abi_hypercall_desc *d;",
        "",
        "    if (nr >= ABI_NR_HYPERCALL_SLOTS)",
        "        return -ENOSYS;",
        "    d = &abi_hypercalls[nr];",
        "    if (!d->call)",
        "        return -ENOSYS;",
        "    if (d->policy == ABI_POLICY_CONTROL && !caller_is_control)",
        "        return -EPERM;",
        "    return d->call(v, args, caller_is_control, compat);",
        "}",
        "",
    ]
    return "\n".join(lines)


def guest_header(spec: Spec) -> str:
    lines = [
        BANNER.format(tool="gen_c.guest_header"),
        "#ifndef KEEL_GUEST_ABI_H",
        "#define KEEL_GUEST_ABI_H",
        "",
        "/* Freestanding: needs only the compiler's own <stddef.h> and <stdint.h>.",
        " * Structs take the guest's natural layout (x86-64 or i386); the",
        " * assertions below check it against the spec for both. */",
        "#include <stddef.h>",
        "#include <stdint.h>",
        "",
        ASSERT_MACRO,
    ]
    lines += constants_block(spec)
    lines += hypercall_numbers(spec)
    for agg in spec.aggregates:
        lines += _aggregate(spec, agg, "native", "guest", agg.name)
        lines.append("#if defined(__x86_64__)")
        lines += _asserts(spec, agg, "native", agg.name)
        lines.append("#elif defined(__i386__)")
        lines += _asserts(spec, agg, "compat", agg.name)
        lines.append("#endif")
        lines.append("")
    lines += [
        "/* Provided by the guest runtime: issue hypercall nr with up to five",
        " * arguments using the calling convention of the guest's mode. */",
        "long keel_hypercall(unsigned long nr, unsigned long a1, unsigned long a2,",
        "                    unsigned long a3, unsigned long a4, unsigned long a5);",
        "",
    ]
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        params = []
        call64: list[str] = []  # x86-64: one register per argument
        call32: list[str] = []  # i386: u64/i64 in two registers, low half first
        for a in hc.args:
            if a.type.name == HANDLE:
                params.append(f"const volatile void *{a.name}")
            else:
                params.append(f"{_member_type(spec, a.type, 'native', 'guest')} {a.name}")
            call64.append(f"(unsigned long){a.name}")
            call32.append(f"(unsigned long){a.name}")
            if a.type.name in ("u64", "i64"):
                call32.append(f"(unsigned long)((uint64_t){a.name} >> 32)")
        lines.append(f"static inline long HYPERVISOR_{hc.name}({', '.join(params) or 'void'})")
        lines.append("{")
        stmts = [
            f"    return keel_hypercall(__HYPERVISOR_{hc.name}, {', '.join(c + ['0'] * (5 - len(c)))});"
            for c in (call64, call32)
        ]
        if call32 != call64:
            lines += ["#if defined(__x86_64__)", stmts[0], "#else", stmts[1], "#endif"]
        else:
            lines.append(stmts[0])
        lines.append("}")
        lines.append("")
    lines += [
        "/* Every sub-operation, so tests can cover new ones automatically. */",
        "struct abi_guest_subop {",
        "    unsigned int hypercall;",
        "    unsigned int number;",
        "    int control_only;",
        "    const char *name;",
        "};",
        "",
        "static const struct abi_guest_subop abi_all_subops[] = {",
    ]
    for hc in spec.hypercalls:
        for s in hc.subops:
            ctl = 1 if s.policy is Policy.CONTROL else 0
            lines.append(f'    {{ {hc.number}, {s.number}, {ctl}, "{s.name}" }},')
    lines += [
        "};",
        "#define ABI_NR_SUBOPS (sizeof(abi_all_subops) / sizeof(abi_all_subops[0]))",
        "",
        "struct abi_guest_hypercall {",
        "    unsigned int number;",
        "    int control_only;",
        "    const char *name;",
        "};",
        "",
        "static const struct abi_guest_hypercall abi_all_hypercalls[] = {",
    ]
    for hc in sorted(spec.hypercalls, key=lambda h: h.number):
        ctl = 1 if hc.policy is Policy.CONTROL else 0
        lines.append(f'    {{ {hc.number}, {ctl}, "{hc.name}" }},')
    lines += [
        "};",
        "#define ABI_NR_HYPERCALLS (sizeof(abi_all_hypercalls) / sizeof(abi_all_hypercalls[0]))",
        "",
        "#endif",
        "",
    ]
    return "\n".join(lines)


def layout_probe(spec: Spec) -> str:
    """A host C program printing sizeof/offsetof of every struct (used by tests
    to compare the compiler's layout with the Python bindings)."""
    lines = [
        BANNER.format(tool="gen_c.layout_probe"),
        "#include <stdio.h>",
        '#include "abi.h"',
        "",
        "int main(void)",
        "{",
    ]
    for agg in spec.aggregates:
        lines.append(f'    printf("{agg.name} %zu\\n", sizeof({agg.kind} {agg.name}));')
        for f in agg.fields:
            if not f.present("native"):
                continue
            lines.append(f'    printf("{agg.name}.{f.name} %zu\\n", offsetof({agg.kind} {agg.name}, {f.name}));')
    lines += ["    return 0;", "}", ""]
    return "\n".join(lines)
