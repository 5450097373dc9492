"""Spec errors and parser details.

Each file in abi_data/bad/ is one class of spec error.  Its first line says
what the generators must report for it::

    # error: LINE: MESSAGE

where ``{file}`` in MESSAGE stands for the file's own name.  The whole
pipeline (parse, lay out, generate) must fail with exactly
``FILE:LINE: MESSAGE`` as a SpecError, never with another exception.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.abi_common import (
    BAD,
    DATA,
    ROOT,
    SMALL,
    Spec,
    SpecError,
    layout,
    parse_files,
    render,
    run_generator,
)

BAD_SPECS = sorted(BAD.glob("*.abi"))
ERRNO = "constants errno {\n    EPERM = 1\n    ENOSYS = 38\n}\n"


def _expectation(path: Path, shown: str) -> tuple[int, str]:
    first = path.read_text(encoding="utf-8").splitlines()[0]
    m = re.fullmatch(r"# error: (\d+): (.*)", first)
    assert m, f"{path}: the first line must be '# error: LINE: MESSAGE'"
    return int(m.group(1)), m.group(2).replace("{file}", shown)


def _pipeline(paths: list[Path], root: Path | None) -> Spec:
    spec = parse_files(paths, root)
    render(spec)
    return spec


def _spec_error(paths: list[Path], root: Path | None) -> SpecError:
    with pytest.raises(SpecError) as info:
        _pipeline(paths, root)
    return info.value


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_every_error_class_has_a_bad_spec() -> None:
    expected = {
        "dup_hypercall_number",
        "dup_name_constant",
        "dup_name_struct",
        "dup_name_hypercall",
        "dup_name_subop",
        "dup_subop_number",
        "unknown_field_type",
        "unknown_struct_type",
        "unknown_handle_target",
        "unknown_subop_arg",
        "dup_field",
        "zero_length_array",
        "offset_overlap",
        "offset_misaligned",
        "missing_hypercall_number",
        "missing_policy",
        "missing_subop_number",
        "unknown_policy",
        "unknown_option",
        "size_mismatch",
        "unexpected_character",
        "unterminated_block",
        "too_many_args",
        "subop_widens_policy",
    }
    assert expected <= {p.stem for p in BAD_SPECS}


@pytest.mark.parametrize("path", BAD_SPECS, ids=[p.stem for p in BAD_SPECS])
def test_bad_spec(path: Path) -> None:
    line, message = _expectation(path, path.name)
    err = _spec_error([path], BAD)
    assert str(err) == f"{path.name}:{line}: {message}"
    assert err.loc.path == path.name
    assert err.loc.line == line
    assert err.message == message


@pytest.mark.parametrize("stem", ["dup_hypercall_number", "offset_overlap", "size_mismatch"])
def test_command_line_reports_spec_errors(tmp_path: Path, stem: str) -> None:
    """A parse error, a layout error and a size check, through the entry
    point SCons and humans use: exit status 1, the message alone on stderr,
    nothing written."""
    path = BAD / f"{stem}.abi"
    shown = str(path.relative_to(ROOT))
    line, message = _expectation(path, shown)
    out = tmp_path / "gen"
    proc = run_generator(out, shown)
    assert proc.returncode == 1
    assert proc.stderr == f"{shown}:{line}: {message}\n"
    assert proc.stdout == ""
    assert not out.exists() or not any(out.iterdir())


def test_command_line_usage() -> None:
    proc = run_generator()
    assert proc.returncode == 2
    assert proc.stderr == "usage: python -m python_build.abi OUTDIR SPEC...\n"


@pytest.mark.parametrize("stem", ["offset_overlap", "offset_misaligned", "offset_overlap_compat"])
def test_parse_files_checks_every_layout(stem: str) -> None:
    """parse_files() is the validating entry point: a struct whose layout is
    impossible must be rejected there, not only when a generator happens to
    lay it out (today only structs with size= are laid out while parsing)."""
    path = BAD / f"{stem}.abi"
    line, message = _expectation(path, path.name)
    with pytest.raises(SpecError) as info:
        parse_files([path], BAD)
    assert str(info.value) == f"{path.name}:{line}: {message}"


def test_errors_point_into_the_right_file(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.abi", ERRNO + "constants c {\n    SHARED = 1\n}\n")
    second = _write(tmp_path, "b.abi", "# later file\nconstants d {\n    SHARED = 2\n}\n")
    err = _spec_error([first, second], tmp_path)
    assert str(err) == "b.abi:3: duplicate name 'SHARED' (first declared at a.abi:6)"

    third = _write(tmp_path, "c.abi", "\n\nstruct s size=2 {\n    u32 a\n}\n")
    err = _spec_error([first, third], tmp_path)
    assert str(err) == "c.abi:3: struct s is 4 bytes, but size=2 was declared"


def test_later_files_use_earlier_declarations(tmp_path: Path) -> None:
    first = _write(tmp_path, "a.abi", ERRNO + "struct inner {\n    u32 a\n}\n")
    second = _write(tmp_path, "b.abi", "struct outer size=8 {\n    struct inner i\n    u32 b\n}\n")
    spec = _pipeline([first, second], tmp_path)
    assert [a.name for a in spec.aggregates] == ["inner", "outer"]


def test_constant_expressions(tmp_path: Path) -> None:
    """Operators (<<, |, +, -) apply strictly left to right, without C's
    precedence; parentheses group; names refer to earlier constants."""
    text = ERRNO + (
        "constants c {\n"
        "    A = 0x1_0\n"
        "    B = A << 2 | 1\n"
        "    C = 1 | 2 << 3\n"
        "    D = 1 | (2 << 3)\n"
        "    E = -(A - 1)\n"
        "    F = 1_000\n"
        "}\n"
    )
    spec = _pipeline([_write(tmp_path, "e.abi", text)], tmp_path)
    values = {c.name: c.value for c in spec.constants()}
    assert values == {"EPERM": 1, "ENOSYS": 38, "A": 16, "B": 65, "C": 24, "D": 17, "E": -15, "F": 1000}


def test_doc_strings_keep_quotes_and_non_ascii(tmp_path: Path) -> None:
    """Doc strings are UTF-8 text: an escaped quote is a quote, and non-ASCII
    characters survive (today they are decoded byte by byte into mojibake)."""
    text = ERRNO + 'struct s "a \\"quoted\\" word, 10 µs" {\n    u32 a "x\\\\y"\n}\n'
    spec = _pipeline([_write(tmp_path, "d.abi", text)], tmp_path)
    agg = spec.aggregate("s")
    assert agg.doc == 'a "quoted" word, 10 µs'
    assert agg.fields[0].doc == "x\\y"


def test_layout_rules() -> None:
    """The two layouts on a struct that has every kind of field."""
    spec = parse_files([SMALL], DATA)
    tail = spec.aggregate("tail")
    native = layout(spec, tail, "native")
    compat = layout(spec, tail, "compat")
    assert (native.size, native.align) == (88, 8)
    assert (compat.size, compat.align) == (60, 4)
    assert [(f.name, f.offset, f.size) for f in native.fields] == [
        ("x", 0, 1),
        ("y", 8, 8),
        ("list", 16, 8),
        ("arr", 24, 6),
        ("p", 40, 16),
        ("bits", 56, 32),
    ]
    assert [(f.name, f.offset, f.size) for f in compat.fields] == [
        ("x", 0, 1),
        ("y", 4, 4),
        ("list", 8, 4),
        ("arr", 12, 6),
        ("p", 40, 12),
        ("bits", 52, 8),
    ]
    # The explicit @40 pads from the end of arr in both modes.
    assert native.fields[4].pad_before == 40 - 30
    assert compat.fields[4].pad_before == 40 - 18


def _tokens_of(text: str) -> list[re.Match[str]]:
    """The spec's tokens (approximately: comments are skipped, strings kept whole)."""
    return [
        m
        for m in re.finditer(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"|[A-Za-z_0-9]+|<<|\S', text)
        if not m.group().startswith("#")
    ]


def test_damaged_specs_give_spec_errors(tmp_path: Path) -> None:
    """Deleting any one token of small.abi gives either a valid spec or a
    SpecError with a line inside the file, never another exception."""
    text = SMALL.read_text(encoding="utf-8")
    nlines = text.count("\n") + 1
    failures = []
    for m in _tokens_of(text):
        damaged = text[: m.start()] + text[m.end() :]
        path = _write(tmp_path, "damaged.abi", damaged)
        try:
            _pipeline([path], tmp_path)
        except SpecError as e:
            if not 1 <= e.loc.line <= nlines:
                failures.append(f"deleting {m.group()!r}: line {e.loc.line} out of range: {e}")
        except Exception as e:  # the point of the test: nothing else may escape
            failures.append(f"deleting {m.group()!r} at offset {m.start()}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)
