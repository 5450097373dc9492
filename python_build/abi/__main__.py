"""Command-line entry: ``python -m python_build.abi OUTDIR SPEC...``.

Writes every generated output into OUTDIR.  SCons calls the same functions
directly; this entry exists for humans and for tests."""

from __future__ import annotations

import sys
from pathlib import Path

from .generate import OUTPUTS, write_outputs
from .model import SpecError


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: python -m python_build.abi OUTDIR SPEC...", file=sys.stderr)
        return 2
    try:
        write_outputs([Path(p) for p in argv[1:]], Path(argv[0]))
    except SpecError as e:
        print(e, file=sys.stderr)
        return 1
    for name in OUTPUTS:
        print(Path(argv[0]) / name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
