"""Golden outputs: every generator's output for abi_data/small.abi must match
abi_data/golden/NAME.golden byte for byte.

After an intended generator change, regenerate and review the diff::

    KEEL_REGEN_GOLDEN=1 pytest tests/unit/test_abi_golden.py
    git diff tests/unit/abi_data/golden/
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

import pytest

from tests.unit.abi_common import DATA, GOLDEN, OUTPUTS, ROOT, SMALL, parse_files, render, run_generator

REGEN = os.environ.get("KEEL_REGEN_GOLDEN") == "1"


def _golden(name: str) -> Path:
    # ".golden" keeps linters, mypy and compilers away from keel_abi.py and the C files.
    return GOLDEN / f"{name}.golden"


def _compare(name: str, text: str) -> None:
    path = _golden(name)
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="")
        return
    assert path.exists(), f"{path} is missing: run with KEEL_REGEN_GOLDEN=1 and review it"
    expected = path.read_text(encoding="utf-8")
    if text != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                text.splitlines(keepends=True),
                str(path.relative_to(ROOT)),
                f"generated {name}",
            )
        )
        pytest.fail(f"{name} differs from its golden file (KEEL_REGEN_GOLDEN=1 rewrites it):\n{diff}")


@pytest.mark.parametrize("name", list(OUTPUTS))
def test_output_matches_golden(name: str) -> None:
    outputs = render(parse_files([SMALL], DATA))
    _compare(name, outputs[name])


def test_no_stale_golden_files() -> None:
    if REGEN:
        return
    present = {p.name for p in GOLDEN.iterdir()}
    assert present == {_golden(name).name for name in OUTPUTS}


def test_command_line_writes_the_golden_outputs(tmp_path: Path) -> None:
    """``python -m python_build.abi OUTDIR SPEC`` writes exactly the six
    outputs, lists them on stdout, and leaves unchanged files alone."""
    out = tmp_path / "gen"
    stdout = _cli(out)
    assert stdout.splitlines() == [str(out / name) for name in OUTPUTS]
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUTS)
    if not REGEN:
        for name in OUTPUTS:
            assert (out / name).read_text(encoding="utf-8") == _golden(name).read_text(encoding="utf-8"), name
    # A second run with nothing changed rewrites nothing (SCons and make rely on it).
    for name in OUTPUTS:
        os.utime(out / name, ns=(1_000_000_000, 1_000_000_000))
    _cli(out)
    assert {name: (out / name).stat().st_mtime_ns for name in OUTPUTS} == dict.fromkeys(OUTPUTS, 1_000_000_000)


def _cli(out: Path) -> str:
    proc = run_generator(out, SMALL)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return proc.stdout


def test_reference_page_names_union_arguments(tmp_path: Path) -> None:
    """A sub-operation whose argument is a union is shown as one, not as
    ``struct NAME``."""
    spec_path = tmp_path / "u.abi"
    spec_path.write_text(
        "constants errno {\n    EPERM = 1\n    ENOSYS = 38\n}\n"
        "union choice {\n    u32 a\n    u64 b\n}\n"
        "hypercall op = 1 policy=any {\n    arg cmd u32\n    arg arg handle(void)\n"
        "    subop OP_pick = 0 arg=choice\n}\n",
        encoding="utf-8",
    )
    page = render(parse_files([spec_path], tmp_path))["ABI.md"]
    assert "| 0 | `OP_pick` | `union choice` | any domain |  |" in page.splitlines()
