"""Parser for Keel's ABI spec language (``hv/abi/*.abi``).

The language is small and line-oriented::

    # a comment
    constants errno "Error numbers; hypercalls return them negated" {
        EPERM = 1 "Operation not permitted"
    }

    struct evtchn_send size=4 "Notify the remote end of a port" {
        u32 port
    }

    hypercall event_channel_op = 32 policy=any "Event channels" {
        arg cmd u32
        arg arg handle(void)
        subop EVTCHNOP_send = 4 arg=evtchn_send
    }

Field types are the scalars u8..u64, i8..i64, ``ulong`` (8 bytes for 64-bit
guests, 4 for 32-bit ones), ``handle(T)`` (a guest virtual address of a T,
sized like ``ulong``), and ``struct NAME`` / ``union NAME`` for aggregates
declared earlier.  Every error is a ``SpecError`` carrying ``file:line``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .layout import check_sizes
from .model import (
    HANDLE,
    SCALARS,
    Aggregate,
    Arg,
    Constant,
    ConstGroup,
    Field,
    Hypercall,
    Loc,
    Policy,
    Spec,
    SpecError,
    SubOp,
    TypeRef,
)

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r]+)
  | (?P<comment>\#[^\n]*)
  | (?P<nl>\n)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<number>0[xX][0-9a-fA-F_]+|[0-9][0-9_]*)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><<|[{}()\[\]=|+\-@])
    """,
    re.VERBOSE,
)


@dataclass
class Token:
    kind: str
    text: str
    loc: Loc


def _int(tok: Token) -> int:
    try:
        return int(tok.text.replace("_", ""), 0)
    except ValueError:
        raise SpecError(tok.loc, f"bad number {tok.text!r}") from None


_ESCAPE = re.compile(r"\\(.)")


def tokenize(text: str, path: str) -> list[Token]:
    tokens: list[Token] = []
    line = 1
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            raise SpecError(Loc(path, line), f"unexpected character {text[pos]!r}")
        kind = m.lastgroup
        assert kind is not None
        value = m.group()
        if kind == "nl":
            line += 1
        elif kind not in ("ws", "comment"):
            tokens.append(Token(kind, value, Loc(path, line)))
        pos = m.end()
    tokens.append(Token("eof", "", Loc(path, line)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[Token], spec: Spec) -> None:
        self.toks = tokens
        self.i = 0
        self.spec = spec
        self.consts: dict[str, Constant] = {c.name: c for c in spec.constants()}

    # -- token helpers -------------------------------------------------
    def peek(self) -> Token:
        return self.toks[self.i]

    def next(self) -> Token:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect(self, kind: str, text: str | None = None, what: str | None = None) -> Token:
        tok = self.next()
        if tok.kind != kind or (text is not None and tok.text != text):
            want = what or (repr(text) if text else kind)
            got = repr(tok.text) if tok.kind != "eof" else "end of file"
            raise SpecError(tok.loc, f"expected {want}, found {got}")
        return tok

    def accept(self, kind: str, text: str | None = None) -> Token | None:
        tok = self.peek()
        if tok.kind == kind and (text is None or tok.text == text):
            self.i += 1
            return tok
        return None

    def doc(self) -> str:
        tok = self.accept("string")
        if tok is None:
            return ""
        body = tok.text[1:-1]
        for m in _ESCAPE.finditer(body):
            if m.group(1) not in ('"', "\\"):
                raise SpecError(tok.loc, f'bad doc string: unknown escape {m.group()} (only \\" and \\\\ are escapes)')
        text = _ESCAPE.sub(r"\1", body)
        if "/*" in text or "*/" in text:
            raise SpecError(tok.loc, "bad doc string: '/*' and '*/' cannot appear in a C comment")
        return text

    def number(self) -> int:
        return _int(self.expect("number", what="a number"))

    # -- expressions ---------------------------------------------------
    def term(self) -> int:
        tok = self.next()
        if tok.kind == "op" and tok.text == "-":
            return -self.term()
        if tok.kind == "op" and tok.text == "(":
            value = self.expr()
            self.expect("op", ")")
            return value
        if tok.kind == "number":
            return _int(tok)
        if tok.kind == "name":
            if tok.text not in self.consts:
                raise SpecError(tok.loc, f"unknown constant {tok.text!r}")
            return self.consts[tok.text].value
        raise SpecError(tok.loc, f"expected a value, found {tok.text!r}")

    def expr(self) -> int:
        value = self.term()
        while True:
            tok = self.peek()
            if tok.kind == "op" and tok.text in ("<<", "|", "+", "-"):
                self.next()
                rhs = self.term()
                if tok.text == "<<":
                    value <<= rhs
                elif tok.text == "|":
                    value |= rhs
                elif tok.text == "+":
                    value += rhs
                else:
                    value -= rhs
            else:
                return value

    # -- options: key=value pairs after a header -----------------------
    def options(self, allowed: Iterable[str]) -> dict[str, Token]:
        opts: dict[str, Token] = {}
        allowed = set(allowed)
        while self.peek().kind == "name" and self.toks[self.i + 1].text == "=":
            key = self.next()
            if key.text not in allowed:
                raise SpecError(key.loc, f"unknown option {key.text!r} (allowed: {', '.join(sorted(allowed))})")
            if key.text in opts:
                raise SpecError(key.loc, f"option {key.text!r} given twice")
            self.expect("op", "=")
            val = self.next()
            if val.kind not in ("name", "number"):
                raise SpecError(val.loc, f"bad value for {key.text!r}: {val.text!r}")
            opts[key.text] = val
        return opts

    def policy(self, tok: Token) -> Policy:
        try:
            return Policy(tok.text)
        except ValueError:
            raise SpecError(tok.loc, f"unknown policy {tok.text!r} (use 'any' or 'control')") from None

    # -- declarations --------------------------------------------------
    def parse(self) -> None:
        while self.peek().kind != "eof":
            tok = self.expect("name", what="'constants', 'struct', 'union' or 'hypercall'")
            if tok.text == "constants":
                self.const_group(tok)
            elif tok.text in ("struct", "union"):
                self.aggregate(tok)
            elif tok.text == "hypercall":
                self.hypercall(tok)
            else:
                raise SpecError(tok.loc, f"unknown declaration {tok.text!r}")

    def declare_global(self, name: Token) -> None:
        """Constants, aggregates and hypercalls share one namespace in C."""
        for other in self.consts.values():
            if other.name == name.text:
                raise SpecError(name.loc, f"duplicate name {name.text!r} (first declared at {other.loc})")
        for agg in self.spec.aggregates:
            if agg.name == name.text:
                raise SpecError(name.loc, f"duplicate name {name.text!r} (first declared at {agg.loc})")
        for hc in self.spec.hypercalls:
            if hc.name == name.text:
                raise SpecError(name.loc, f"duplicate name {name.text!r} (first declared at {hc.loc})")
            for sub in hc.subops:
                if sub.name == name.text:
                    raise SpecError(name.loc, f"duplicate name {name.text!r} (first declared at {sub.loc})")

    def const_group(self, head: Token) -> None:
        name = self.expect("name", what="a group name")
        doc = self.doc()
        self.expect("op", "{")
        group = ConstGroup(name.text, doc, [], head.loc)
        while not self.accept("op", "}"):
            cname = self.expect("name", what="a constant name or '}'")
            self.declare_global(cname)
            self.expect("op", "=")
            value = self.expr()
            const = Constant(cname.text, value, self.doc(), cname.loc)
            self.consts[cname.text] = const
            group.constants.append(const)
        for g in self.spec.groups:
            if g.name == group.name:
                raise SpecError(name.loc, f"duplicate constant group {group.name!r} (first declared at {g.loc})")
        self.spec.groups.append(group)

    def type_ref(self) -> TypeRef:
        tok = self.expect("name", what="a type")
        if tok.text in SCALARS:
            return TypeRef(tok.text)
        if tok.text == HANDLE:
            self.expect("op", "(")
            target = self.expect("name", what="a handle target type")
            if target.text != "void" and target.text not in SCALARS and not self._is_aggregate(target.text):
                raise SpecError(target.loc, f"unknown type {target.text!r}")
            self.expect("op", ")")
            return TypeRef(HANDLE, target=target.text)
        if tok.text in ("struct", "union"):
            name = self.expect("name", what=f"a {tok.text} name")
            for agg in self.spec.aggregates:
                if agg.name == name.text:
                    if agg.kind != tok.text:
                        raise SpecError(name.loc, f"{name.text!r} is a {agg.kind}, not a {tok.text}")
                    return TypeRef(name.text, aggregate=True)
            raise SpecError(name.loc, f"unknown type {tok.text} {name.text!r}")
        raise SpecError(tok.loc, f"unknown type {tok.text!r}")

    def _is_aggregate(self, name: str) -> bool:
        return any(a.name == name for a in self.spec.aggregates)

    def aggregate(self, head: Token) -> None:
        name = self.expect("name", what=f"a {head.text} name")
        self.declare_global(name)
        opts = self.options(["size"])
        doc = self.doc()
        self.expect("op", "{")
        fields: list[Field] = []
        while not self.accept("op", "}"):
            start = self.peek()
            only = None
            if start.kind == "name" and start.text in ("native", "compat"):
                only = self.next().text
            ftype = self.type_ref()
            fname = self.expect("name", what="a field name")
            if fname.text in SCALARS or fname.text in ("struct", "union"):
                raise SpecError(fname.loc, f"bad field name {fname.text!r}")
            count = compat_count = at = None
            if self.accept("op", "["):
                count = self.number()
                if self.peek().text == "compat":
                    self.next()
                    self.expect("op", "=")
                    compat_count = self.number()
                if count <= 0 or (compat_count is not None and compat_count <= 0):
                    raise SpecError(fname.loc, f"bad field {fname.text!r}: array length must be positive")
                self.expect("op", "]")
            if self.accept("op", "@"):
                at = self.number()
            for f in fields:
                if f.name == fname.text and (f.only is None or only is None or f.only == only):
                    raise SpecError(fname.loc, f"bad field: duplicate field {fname.text!r} (first at {f.loc})")
            if only and head.text == "union":
                raise SpecError(start.loc, f"union {name.text!r}: members cannot be {only}-only")
            fields.append(Field(fname.text, ftype, count, self.doc(), start.loc, compat_count, at, only))
        if not fields:
            raise SpecError(name.loc, f"{head.text} {name.text!r} has no fields")
        if head.text == "union" and any(f.at is not None for f in fields):
            raise SpecError(name.loc, f"union {name.text!r}: members cannot take an explicit offset")
        size = None
        if "size" in opts:
            if opts["size"].kind != "number":
                raise SpecError(opts["size"].loc, f"bad value for 'size': {opts['size'].text!r} (expected a number)")
            size = _int(opts["size"])
        self.spec.aggregates.append(Aggregate(head.text, name.text, fields, doc, head.loc, size))

    def hypercall(self, head: Token) -> None:
        name = self.expect("name", what="a hypercall name")
        self.declare_global(name)
        if not self.accept("op", "="):
            raise SpecError(name.loc, f"hypercall {name.text!r}: missing required key: number ('= N')")
        number = self.number()
        opts = self.options(["policy"])
        if "policy" not in opts:
            raise SpecError(name.loc, f"hypercall {name.text!r}: missing required key: policy")
        policy = self.policy(opts["policy"])
        for other in self.spec.hypercalls:
            if other.number == number:
                raise SpecError(name.loc, f"duplicate hypercall number {number} (also {other.name!r} at {other.loc})")
        doc = self.doc()
        self.expect("op", "{")
        hc = Hypercall(name.text, number, policy, [], [], doc, head.loc)
        while not self.accept("op", "}"):
            kw = self.expect("name", what="'arg', 'subop' or '}'")
            if kw.text == "arg":
                aname = self.expect("name", what="an argument name")
                if any(a.name == aname.text for a in hc.args):
                    raise SpecError(aname.loc, f"duplicate argument {aname.text!r}")
                atype = self.type_ref()
                if atype.aggregate:
                    raise SpecError(aname.loc, "arguments are registers: use handle(T) to pass a struct")
                hc.args.append(Arg(aname.text, atype, aname.loc))
                if len(hc.args) > 5:
                    raise SpecError(aname.loc, "a hypercall takes at most 5 arguments")
                regs = sum(2 if a.type.name in ("u64", "i64") else 1 for a in hc.args)
                if regs > 5:
                    raise SpecError(
                        aname.loc,
                        f"hypercall {hc.name!r} needs {regs} argument registers for 32-bit guests"
                        " (at most 5; u64 and i64 take two)",
                    )
            elif kw.text == "subop":
                self.subop(hc)
            else:
                raise SpecError(kw.loc, f"unknown key {kw.text!r} in hypercall (expected 'arg' or 'subop')")
        if hc.subops and not hc.args:
            raise SpecError(head.loc, f"hypercall {hc.name!r} has sub-operations but no argument to carry them")
        self.spec.hypercalls.append(hc)

    def subop(self, hc: Hypercall) -> None:
        sname = self.expect("name", what="a sub-operation name")
        self.declare_global(sname)
        for s in hc.subops:
            if s.name == sname.text:
                raise SpecError(sname.loc, f"duplicate name {sname.text!r} (first declared at {s.loc})")
        if not self.accept("op", "="):
            raise SpecError(sname.loc, f"sub-operation {sname.text!r}: missing required key: number ('= N')")
        number = self.number()
        for s in hc.subops:
            if s.number == number:
                raise SpecError(sname.loc, f"duplicate sub-operation number {number} in {hc.name} (also {s.name!r})")
        opts = self.options(["policy", "arg"])
        policy = self.policy(opts["policy"]) if "policy" in opts else hc.policy
        if hc.policy is Policy.CONTROL and policy is Policy.ANY:
            raise SpecError(
                sname.loc, f"sub-operation {sname.text!r} cannot widen the control-only policy of {hc.name}"
            )
        arg = None
        if "arg" in opts:
            arg = opts["arg"].text
            if not self._is_aggregate(arg):
                raise SpecError(opts["arg"].loc, f"unknown type {arg!r}")
        hc.subops.append(SubOp(sname.text, number, policy, arg, self.doc(), sname.loc))


def parse_text(text: str, path: str, spec: Spec | None = None) -> Spec:
    spec = spec if spec is not None else Spec()
    _Parser(tokenize(text, path), spec).parse()
    return spec


def parse_files(paths: Iterable[Path], root: Path | None = None) -> Spec:
    """Parse spec files in order; later files may use earlier declarations."""
    spec = Spec()
    first: str | None = None
    for p in paths:
        shown = str(p.relative_to(root)) if root else str(p)
        first = first or shown
        parse_text(p.read_text(encoding="utf-8"), shown, spec)
    check_sizes(spec)
    missing = sorted({"EPERM", "ENOSYS"} - {c.name for c in spec.constants()})
    if missing:
        loc = spec.hypercalls[0].loc if spec.hypercalls else Loc(first or "<no spec>", 1)
        raise SpecError(loc, f"missing required constants {', '.join(missing)} (the dispatcher returns them)")
    return spec
