"""The xl.cfg file syntax: lexer, parser and serializer.

    KEY = VALUE       KEY += VALUE      (statements end at a newline or ';')
    VALUE: "string" | 'string' | 42 | 052 | 0x2a | [ VALUE, VALUE, ... ]

Lists nest, may span lines and may end with a trailing comma; '#' starts a
comment. `+=` appends to a string or a list set earlier (xl's libxlu rules).
Errors are ConfigSyntaxError with the position of the offending text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from keel.errors import ConfigSyntaxError, SourcePos

# ---------------------------------------------------------------------------
# Values


@dataclass(frozen=True)
class StrValue:
    text: str
    pos: SourcePos


@dataclass(frozen=True)
class NumValue:
    value: int
    source: str  # as written: "0x10", "010", "16"
    pos: SourcePos


@dataclass(frozen=True)
class ListValue:
    items: tuple[Value, ...]
    pos: SourcePos


Value = StrValue | NumValue | ListValue
Plain = str | int | list["Plain"]
Writable = Value | str | int | Sequence["Writable"]  # what the serializer accepts


def plain(value: Value) -> Plain:
    """The value without positions (for comparisons and JSON)."""
    if isinstance(value, ListValue):
        return [plain(v) for v in value.items]
    if isinstance(value, NumValue):
        return value.value
    return value.text


def kind(value: Value) -> str:
    return {StrValue: "a string", NumValue: "a number", ListValue: "a list"}[type(value)]


@dataclass(frozen=True)
class Setting:
    key: str
    value: Value
    pos: SourcePos  # of the key


@dataclass
class ConfigFile:
    """A parsed file: the resolved settings, in order of first appearance."""

    path: str
    settings: dict[str, Setting] = field(default_factory=dict)
    warnings: list[tuple[SourcePos, str]] = field(default_factory=list)

    def values(self) -> dict[str, Plain]:
        return {k: plain(s.value) for k, s in self.settings.items()}

    def get(self, key: str) -> Setting | None:
        return self.settings.get(key)


# ---------------------------------------------------------------------------
# Lexer

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_WORD = re.compile(r"[0-9A-Za-z_.]+")
_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


@dataclass(frozen=True)
class Token:
    kind: str  # ident number string = += [ ] , sep eof
    text: str
    pos: SourcePos
    value: str | int | None = None


class _Lexer:
    def __init__(self, text: str, path: str) -> None:
        self.text = text
        self.path = path
        self.i = 0
        self.line = 1
        self.line_start = 0

    def pos(self, i: int | None = None) -> SourcePos:
        i = self.i if i is None else i
        return SourcePos(self.path, self.line, i - self.line_start + 1)

    def error(self, message: str, i: int | None = None) -> ConfigSyntaxError:
        return ConfigSyntaxError(self.pos(i), message)

    def tokens(self) -> Iterator[Token]:
        text = self.text
        while True:
            while self.i < len(text) and text[self.i] in " \t\r\f\v":
                self.i += 1
            if self.i >= len(text):
                yield Token("eof", "", self.pos())
                return
            c = text[self.i]
            start = self.i
            if c == "#":
                while self.i < len(text) and text[self.i] != "\n":
                    self.i += 1
            elif c in "\n;":
                yield Token("sep", c, self.pos())
                self.i += 1
                if c == "\n":
                    self.line += 1
                    self.line_start = self.i
            elif c in "=[],":
                yield Token(c, c, self.pos())
                self.i += 1
            elif c == "+":
                if text.startswith("+=", self.i):
                    yield Token("+=", "+=", self.pos())
                    self.i += 2
                else:
                    raise self.error("unexpected '+' (did you mean '+='?)")
            elif c in "\"'":
                yield self._string(c)
            elif c.isdigit():
                m = _WORD.match(text, start)
                assert m is not None
                word = m.group()
                yield Token("number", word, self.pos(), self._number(word, start))
                self.i = m.end()
            elif m := _IDENT.match(text, start):
                yield Token("ident", m.group(), self.pos())
                self.i = m.end()
            else:
                raise self.error(f"unexpected character {c!r}")

    def _number(self, word: str, start: int) -> int:
        lower = word.lower()
        if lower.startswith("0x"):
            if len(word) == 2 or not re.fullmatch(r"[0-9a-f]+", lower[2:]):
                raise self.error(f"invalid hexadecimal number '{word}'", start)
            return int(lower[2:], 16)
        if not word.isdigit():
            raise self.error(f"invalid number '{word}'", start)
        if len(word) > 1 and word[0] == "0":
            bad = [d for d in word if d in "89"]
            if bad:
                raise self.error(f"invalid octal number '{word}': '{bad[0]}' is not an octal digit", start)
            return int(word, 8)
        return int(word)

    def _string(self, quote: str) -> Token:
        text = self.text
        start = self.i
        out: list[str] = []
        i = start + 1
        while True:
            if i >= len(text) or text[i] == "\n":
                raise self.error(f"unterminated string (missing closing {quote})", start)
            c = text[i]
            if c == quote:
                i += 1
                break
            if c != "\\":
                out.append(c)
                i += 1
                continue
            nc = text[i + 1] if i + 1 < len(text) else ""
            if nc in _ESCAPES:
                out.append(_ESCAPES[nc])
                i += 2
            elif nc == "x":
                m = re.match(r"[0-9a-fA-F]{2}", text[i + 2 : i + 4])
                if not m:
                    raise self.error("invalid \\x escape in string: two hexadecimal digits must follow", i)
                out.append(chr(int(m.group(), 16)))
                i += 4
            elif nc and nc in "01234567":
                m = re.match(r"[0-7]{1,3}", text[i + 1 : i + 4])
                assert m is not None
                out.append(chr(int(m.group(), 8)))
                i += 1 + len(m.group())
            else:
                raise self.error(f"invalid escape '\\{nc}' in string", i)
        token = Token("string", text[start:i], self.pos(start), "".join(out))
        self.i = i
        return token


# ---------------------------------------------------------------------------
# Parser


class _Parser:
    def __init__(self, text: str, path: str) -> None:
        self.lexer = _Lexer(text, path)
        self.tokens = self.lexer.tokens()
        self.tok = next(self.tokens)

    def advance(self) -> Token:
        tok = self.tok
        self.tok = next(self.tokens)
        return tok

    def error(self, message: str, tok: Token | None = None) -> ConfigSyntaxError:
        return ConfigSyntaxError((tok or self.tok).pos, message)

    def parse(self, cfg: ConfigFile) -> None:
        while self.tok.kind != "eof":
            if self.tok.kind == "sep":
                self.advance()
                continue
            self.statement(cfg)
            if self.tok.kind not in ("sep", "eof"):
                raise self.error(f"expected a newline or ';' after the value, found {self.describe(self.tok)}")

    def statement(self, cfg: ConfigFile) -> None:
        key = self.tok
        if key.kind != "ident":
            raise self.error(f"expected a setting name, found {self.describe(key)}")
        self.advance()
        op = self.tok
        if op.kind not in ("=", "+="):
            raise self.error(f"expected '=' or '+=' after '{key.text}', found {self.describe(op)}")
        self.advance()
        value = self.value()
        _store(cfg, Setting(key.text, value, key.pos), op)

    def value(self) -> Value:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            assert isinstance(tok.value, str)
            return StrValue(tok.value, tok.pos)
        if tok.kind == "number":
            self.advance()
            assert isinstance(tok.value, int)
            return NumValue(tok.value, tok.text, tok.pos)
        if tok.kind == "[":
            return self.list_value()
        if tok.kind == "ident":
            raise self.error(f"expected a value, found the bare word '{tok.text}' (quote strings: \"{tok.text}\")")
        raise self.error(f"expected a value (a string, a number or a list), found {self.describe(tok)}")

    def skip_newlines(self) -> None:
        while self.tok.kind == "sep" and self.tok.text == "\n":
            self.advance()

    def list_value(self) -> ListValue:
        open_tok = self.advance()
        items: list[Value] = []
        while True:
            self.skip_newlines()
            if self.tok.kind == "]":
                self.advance()
                return ListValue(tuple(items), open_tok.pos)
            if self.tok.kind == "eof":
                raise self.error("unterminated list: missing ']'", open_tok)
            items.append(self.value())
            self.skip_newlines()
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind == "eof":
                raise self.error("unterminated list: missing ']'", open_tok)
            elif self.tok.kind != "]":
                raise self.error(f"expected ',' or ']' in the list, found {self.describe(self.tok)}")

    @staticmethod
    def describe(tok: Token) -> str:
        if tok.kind == "eof":
            return "the end of the file"
        if tok.kind == "sep":
            return "the end of the line" if tok.text == "\n" else "';'"
        return f"'{tok.text}'"


def _store(cfg: ConfigFile, setting: Setting, op: Token) -> None:
    prev = cfg.settings.get(setting.key)
    if op.kind == "=" or prev is None:
        if prev is not None and prev.pos.path == setting.pos.path:  # overrides replace silently
            cfg.warnings.append(
                (setting.pos, f"'{setting.key}' is set again (first set at line {prev.pos.line}); the last value wins")
            )
        # Re-inserting keeps the order of first appearance.
        cfg.settings[setting.key] = setting
        return
    old, new = prev.value, setting.value
    if isinstance(new, NumValue) or isinstance(old, NumValue):
        raise ConfigSyntaxError(op.pos, f"can't use += with numbers ('{setting.key}')")
    if isinstance(old, StrValue) and isinstance(new, StrValue):
        merged: Value = StrValue(old.text + new.text, old.pos)
    elif isinstance(old, ListValue) and isinstance(new, ListValue):
        merged = ListValue(old.items + new.items, old.pos)
    else:
        raise ConfigSyntaxError(op.pos, f"can't add {kind(new)} to {kind(old)} ('{setting.key}')")
    cfg.settings[setting.key] = Setting(setting.key, merged, prev.pos)


def parse_text(text: str, path: str = "<string>", into: ConfigFile | None = None) -> ConfigFile:
    """Parse xl.cfg text; `into` continues an earlier file (for KEY=VALUE overrides)."""
    cfg = into if into is not None else ConfigFile(path)
    _Parser(text, path).parse(cfg)
    return cfg


def parse_file(path: Path) -> ConfigFile:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise ConfigSyntaxError(SourcePos(str(path), 1, 1), f"not UTF-8 text: {e.reason}") from e
    except OSError as e:
        raise ConfigSyntaxError(None, f"{path}: cannot read: {e.strerror}") from e
    return parse_text(text, str(path))


# ---------------------------------------------------------------------------
# Serializer


def quote(text: str) -> str:
    out = ['"']
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def format_value(value: Writable, indent: int = 0) -> str:
    """xl.cfg text for a value; long lists go one item per line."""
    if isinstance(value, StrValue):
        return quote(value.text)
    if isinstance(value, NumValue):
        return value.source
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int):
        return str(value)
    items = list(value.items) if isinstance(value, ListValue) else value
    flat = "[" + ", ".join(format_value(v) for v in items) + "]"
    if len(flat) + indent <= 80 and "\n" not in flat:
        return flat
    pad = " " * (indent + 4)
    inner = "".join(f"{pad}{format_value(v, indent + 4)},\n" for v in items)
    return "[\n" + inner + " " * indent + "]"


def serialize(settings: Mapping[str, Writable]) -> str:
    return "".join(f"{key} = {format_value(value)}\n" for key, value in settings.items())
