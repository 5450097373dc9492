"""The Python sources stay ruff-clean, formatted and mypy-strict clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYTHON_DIRS = ["python_build", "dom0", "tests", "bench", "SConstruct"]


def tool(name: str) -> str:
    exe = Path(sys.executable).with_name(name)
    found = str(exe) if exe.exists() else shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (scripts/bootstrap installs it into .venv)")
    return found


def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_check() -> None:
    r = run([tool("ruff"), "check", *PYTHON_DIRS])
    assert r.returncode == 0, r.stdout + r.stderr


def test_ruff_format() -> None:
    r = run([tool("ruff"), "format", "--check", *PYTHON_DIRS])
    assert r.returncode == 0, r.stdout + r.stderr


def test_mypy_strict() -> None:
    r = run([tool("mypy")])
    assert r.returncode == 0, r.stdout + r.stderr
