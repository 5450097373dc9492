"""Fixtures of the toolstack tests: test kernels, the fake hypervisor, the CLI, golden files."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from keel.cli.context import Context
from keel.cli.main import run
from keel.transport.fake import FakeHypervisor

from tests.toolstack.debian import find_or_fetch_kernel
from tests.toolstack.elfgen import simple_kernel

GOLDEN_DIR = Path(__file__).parent / "golden"
REGEN = os.environ.get("KEEL_REGEN_GOLDEN") == "1"
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kernel(tmp_path: Path) -> Path:
    """A tiny PVH ELF kernel (entry 0x100010, 12 KiB + 8 KiB bss at 1 MiB)."""
    path = tmp_path / "kernel.elf"
    path.write_bytes(simple_kernel())
    return path


@pytest.fixture
def write_cfg(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return write


@pytest.fixture
def fake() -> FakeHypervisor:
    return FakeHypervisor()


@dataclass
class CliResult:
    rc: int
    out: str
    err: str

    def transcript(self, argv: list[str], tmp: Path) -> str:
        text = f"$ keel {' '.join(argv)}\n{self.out}"
        if self.err:
            text += f"[stderr]\n{self.err}"
        text += f"[exit {self.rc}]\n"
        return text.replace(str(tmp), "<TMP>")


class Cli:
    """Runs `keel` in-process against a fake hypervisor persisted in tmp_path/state.json."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.state = tmp / "state.json"
        self.log: list[str] = []

    def __call__(self, *argv: str) -> CliResult:
        out, err = io.StringIO(), io.StringIO()
        ctx = Context(f"fake:{self.state}", out=out, err=err)
        rc = run(list(argv), ctx)
        result = CliResult(rc, out.getvalue(), err.getvalue())
        self.log.append(result.transcript(list(argv), self.tmp))
        return result

    def ok(self, *argv: str) -> CliResult:
        result = self(*argv)
        assert result.rc == 0, f"keel {' '.join(argv)} failed ({result.rc}):\n{result.err}"
        return result

    def fail(self, *argv: str, rc: int = 1) -> CliResult:
        result = self(*argv)
        assert result.rc == rc, f"keel {' '.join(argv)}: expected exit {rc}, got {result.rc}:\n{result.out}{result.err}"
        return result

    def transcript(self) -> str:
        return "\n".join(self.log)


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Cli:
    monkeypatch.setenv("COLUMNS", "100")  # argparse help wraps to the terminal width
    monkeypatch.chdir(tmp_path)
    return Cli(tmp_path)


def check_golden(name: str, text: str) -> None:
    """Compare with tests/toolstack/golden/NAME; KEEL_REGEN_GOLDEN=1 rewrites the file instead."""
    path = GOLDEN_DIR / name
    if REGEN:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    if not path.exists():
        pytest.fail(f"no golden file {path}; run with KEEL_REGEN_GOLDEN=1 to create it", pytrace=False)
    expected = path.read_text()
    assert text == expected, f"output differs from {path} (KEEL_REGEN_GOLDEN=1 regenerates it)"


@pytest.fixture(scope="session")
def debian_kernel() -> Path:
    """A real Debian cloud kernel (bzImage), fetched once into build/test-kernels/."""
    return find_or_fetch_kernel(REPO_ROOT / "build" / "test-kernels")
