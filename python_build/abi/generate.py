"""Run every generator over a spec and write the outputs."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from . import gen_c, gen_doc, gen_py
from .model import Spec
from .parser import parse_files

# output file name -> generator
OUTPUTS: dict[str, Callable[[Spec], str]] = {
    "abi.h": gen_c.hv_header,
    "abi_dispatch.c": gen_c.dispatch_source,
    "keel_guest_abi.h": gen_c.guest_header,
    "keel_abi.py": gen_py.python_module,
    "ABI.md": gen_doc.reference_page,
    "abi_layout_probe.c": gen_c.layout_probe,
}


def render(spec: Spec) -> dict[str, str]:
    return {name: gen(spec) for name, gen in OUTPUTS.items()}


def write_outputs(specs: Sequence[Path], outdir: Path, root: Path | None = None) -> dict[str, Path]:
    spec = parse_files(specs, root)
    outdir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, text in render(spec).items():
        path = outdir / name
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
        written[name] = path
    return written
