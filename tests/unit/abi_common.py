"""Helpers shared by the ABI generator tests (tests/unit/test_abi_*.py).

This module defines no tests; it is named like them so that it can live
beside them.  It puts the repository root on sys.path, because a bare
``pytest`` (unlike ``python -m pytest``) does not, and re-exports the parts
of python_build.abi the tests use.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from python_build.abi import Spec, SpecError, parse_files  # noqa: E402
from python_build.abi.generate import OUTPUTS, render, write_outputs  # noqa: E402
from python_build.abi.layout import AggLayout, layout  # noqa: E402

__all__ = [
    "BAD",
    "CFLAGS",
    "DATA",
    "GCC_INCLUDE",
    "GOLDEN",
    "OUTPUTS",
    "REAL_SPECS",
    "ROOT",
    "SMALL",
    "AggLayout",
    "Spec",
    "SpecError",
    "check_run",
    "generate",
    "import_path",
    "layout",
    "parse_files",
    "render",
    "run",
    "run_generator",
    "spec_files",
]

DATA = ROOT / "tests" / "unit" / "abi_data"
SMALL = DATA / "small.abi"
GOLDEN = DATA / "golden"
BAD = DATA / "bad"
# The real spec, in the order SCons feeds it to the generators.
REAL_SPECS = sorted((ROOT / "hv" / "abi").glob("*.abi"))

CFLAGS = ["-std=c11", "-Wall", "-Wextra", "-Werror"]


def run(
    cmd: Sequence[str | Path], stdin: str | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(c) for c in cmd], input=stdin, capture_output=True, text=True, check=False, timeout=120, cwd=cwd
    )


def check_run(cmd: Sequence[str | Path], stdin: str | None = None, cwd: Path | None = None) -> str:
    """Run a command that must succeed; return its stdout."""
    proc = run(cmd, stdin, cwd)
    assert proc.returncode == 0, (
        f"{' '.join(str(c) for c in cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    )
    return proc.stdout


def _gcc_include() -> str:
    return subprocess.run(
        ["gcc", "-print-file-name=include"], capture_output=True, text=True, check=True
    ).stdout.strip()


# The compiler's own headers (stddef.h, stdint.h): with -nostdinc and only
# this directory, a header that compiles uses nothing from the C library.
GCC_INCLUDE = _gcc_include()


def spec_files(which: str) -> list[Path]:
    return [SMALL] if which == "small" else list(REAL_SPECS)


def generate(which: str, outdir: Path) -> Path:
    """Write every output for ``small`` or ``real`` into outdir."""
    write_outputs(spec_files(which), outdir, ROOT)
    return outdir


def run_generator(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """``python -m python_build.abi ARGS...`` from the repository root."""
    return run([sys.executable, "-m", "python_build.abi", *args], cwd=ROOT)


def import_path(path: Path, name: str) -> ModuleType:
    """Import a Python file under a unique module name (not via sys.path, so
    build/gen/keel_abi.py is never picked up instead)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
