"""The xl.cfg grammar, its errors with positions, and the round trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from keel.config.syntax import ListValue, NumValue, StrValue, parse_file, parse_text, serialize
from keel.errors import ConfigSyntaxError


def values(text: str) -> dict[str, object]:
    return dict(parse_text(text, "t.cfg").values())


def test_assignments_strings_numbers() -> None:
    assert values("a = 1\nb = 'x'\nc = \"y\"\n") == {"a": 1, "b": "x", "c": "y"}


def test_numbers_decimal_octal_hex() -> None:
    assert values("a = 10\nb = 010\nc = 0x1F\nd = 0\ne = 0X10\n") == {"a": 10, "b": 8, "c": 31, "d": 0, "e": 16}


def test_number_keeps_its_source_text() -> None:
    v = parse_text("m = 0x20\n", "t.cfg").settings["m"].value
    assert isinstance(v, NumValue)
    assert (v.value, v.source) == (32, "0x20")


def test_semicolons_separate_statements() -> None:
    assert values("a = 1; b = 2;c=3\n;;\n") == {"a": 1, "b": 2, "c": 3}


def test_comments_and_blank_lines() -> None:
    text = "# heading\n\n  a = 1   # trailing\n#b = 2\n"
    assert values(text) == {"a": 1}


def test_hash_inside_string_is_not_a_comment() -> None:
    assert values("a = 'x # y'\n") == {"a": "x # y"}


def test_escapes() -> None:
    text = r"""a = "q\"s\'b\\n\n t\t x\x41 o\101 \a\b\f\v\r" """
    assert values(text)["a"] == "q\"s'b\\n\n t\t xA oA \a\b\f\v\r"


def test_single_quoted_string_escapes() -> None:
    assert values(r"a = 'it\'s'") == {"a": "it's"}


def test_list_nested_multiline_trailing_commas() -> None:
    text = """disk = [
        'a',   # first
        "b",
        [ 1, 0x2, [ 'deep', ], ],

    ]
    empty = []
    one = [ 'x' ]
    """
    assert values(text) == {"disk": ["a", "b", [1, 2, ["deep"]]], "empty": [], "one": ["x"]}


def test_list_positions() -> None:
    cfg = parse_text("k = [\n  'a',\n    'b' ]\n", "t.cfg")
    v = cfg.settings["k"].value
    assert isinstance(v, ListValue)
    assert (v.pos.line, v.pos.col) == (1, 5)
    assert [(i.pos.line, i.pos.col) for i in v.items] == [(2, 3), (3, 5)]


def test_plus_equals_concatenates_strings_and_lists() -> None:
    text = "s = 'a'\ns += 'b'\nl = [1]\nl += [2, 3]\nnew += 'x'\n"
    assert values(text) == {"s": "ab", "l": [1, 2, 3], "new": "x"}


def test_last_assignment_wins_with_a_warning() -> None:
    cfg = parse_text("a = 1\nb = 2\na = 3\n", "t.cfg")
    assert cfg.values() == {"a": 3, "b": 2}
    assert list(cfg.values()) == ["a", "b"]
    assert [(p.line, m) for p, m in cfg.warnings] == [
        (3, "'a' is set again (first set at line 1); the last value wins")
    ]


def test_keys_with_dots_and_underscores() -> None:
    assert values("on_crash = 'x'\na.b_c = 1\n") == {"on_crash": "x", "a.b_c": 1}


def test_no_trailing_newline() -> None:
    assert values("a = 1") == {"a": 1}


@pytest.mark.parametrize(
    ("text", "line", "col", "message"),
    [
        ("a = 'abc\n", 1, 5, "unterminated string (missing closing ')"),
        ('x = 1\nb = "abc', 2, 5, 'unterminated string (missing closing ")'),
        ("a = '\\q'\n", 1, 6, "invalid escape '\\q' in string"),
        ("a = '\\xZ1'\n", 1, 6, "invalid \\x escape in string: two hexadecimal digits must follow"),
        ("a = 08\n", 1, 5, "invalid octal number '08': '8' is not an octal digit"),
        ("a = 0x\n", 1, 5, "invalid hexadecimal number '0x'"),
        ("a = 0xfg\n", 1, 5, "invalid hexadecimal number '0xfg'"),
        ("a = 12ab\n", 1, 5, "invalid number '12ab'"),
        ("a = @\n", 1, 5, "unexpected character '@'"),
        ("a + 1\n", 1, 3, "unexpected '+' (did you mean '+='?)"),
        ("a 1\n", 1, 3, "expected '=' or '+=' after 'a', found '1'"),
        ("a\n", 1, 2, "expected '=' or '+=' after 'a', found the end of the line"),
        ("= 1\n", 1, 1, "expected a setting name, found '='"),
        ("a =\n", 1, 4, "expected a value (a string, a number or a list), found the end of the line"),
        ("a = ;", 1, 5, "expected a value (a string, a number or a list), found ';'"),
        ("a = foo\n", 1, 5, "expected a value, found the bare word 'foo' (quote strings: \"foo\")"),
        ("a = 1 b = 2\n", 1, 7, "expected a newline or ';' after the value, found 'b'"),
        ("a = [1, 2\n\n", 1, 5, "unterminated list: missing ']'"),
        ("a = [1 2]\n", 1, 8, "expected ',' or ']' in the list, found '2'"),
        ("a = [1,, 2]\n", 1, 8, "expected a value (a string, a number or a list), found ','"),
        ("a = 1\na += 2\n", 2, 3, "can't use += with numbers ('a')"),
        ("a = 'x'\na += [1]\n", 2, 3, "can't add a list to a string ('a')"),
        ("a = [1]\na += 'x'\n", 2, 3, "can't add a string to a list ('a')"),
    ],
)
def test_errors_have_positions(text: str, line: int, col: int, message: str) -> None:
    with pytest.raises(ConfigSyntaxError) as e:
        parse_text(text, "dir/t.cfg")
    assert str(e.value) == f"dir/t.cfg:{line}:{col}: {message}"
    assert e.value.pos is not None
    assert (e.value.pos.line, e.value.pos.col) == (line, col)


def test_parse_file_reports_the_path(tmp_path: Path) -> None:
    path = tmp_path / "bad.cfg"
    path.write_text("name = 'ok'\nmemory = 08\n")
    with pytest.raises(ConfigSyntaxError, match=rf"^{path}:2:10: invalid octal number"):
        parse_file(path)


def test_parse_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "bin.cfg"
    path.write_bytes(b"a = '\xff'\n")
    with pytest.raises(ConfigSyntaxError, match="not UTF-8"):
        parse_file(path)


def test_parse_file_missing(tmp_path: Path) -> None:
    with pytest.raises(ConfigSyntaxError, match="cannot read"):
        parse_file(tmp_path / "nope.cfg")


ROUND_TRIP = r"""
# every construct
name = "weird \"name\"\t\\"
memory = 0x40; maxmem = 0100
count = 7
cpus = ["0-3,^1", '4']
disk = [ 'phy:/dev/x,xvda,w',
         "format=raw, vdev=xvdb, target=/a,b",
         [ 1, [ "", 'nested' ], ],
       ]
extra = 'a'
extra += " b"
control = "\x01\x7f"
long = ["aaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccc", "dddddddddddddd"]
"""


def test_round_trip() -> None:
    first = parse_text(ROUND_TRIP, "t.cfg")
    text = serialize({k: s.value for k, s in first.settings.items()})
    second = parse_text(text, "t2.cfg")
    assert second.values() == first.values()
    assert serialize({k: s.value for k, s in second.settings.items()}) == text
    # numbers keep how they were written
    assert "memory = 0x40\n" in text and "maxmem = 0100\n" in text
    # a long list goes one item per line, with trailing commas
    assert 'long = [\n    "aaaaaaaaaaaaaaaaaaaaaa",\n' in text


def test_serialize_plain_values() -> None:
    text = serialize({"a": "x\ny", "b": 3, "c": ["p", ["q"]]})
    assert text == 'a = "x\\ny"\nb = 3\nc = ["p", ["q"]]\n'
    assert parse_text(text).values() == {"a": "x\ny", "b": 3, "c": ["p", ["q"]]}


def test_value_types() -> None:
    cfg = parse_text("s = 'x'\nn = 1\nl = []\n", "t.cfg")
    assert isinstance(cfg.settings["s"].value, StrValue)
    assert isinstance(cfg.settings["n"].value, NumValue)
    assert isinstance(cfg.settings["l"].value, ListValue)
