"""SCons rules for Keel.  SConstruct stays a table of targets; the how lives
here as plain Python."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from SCons.Script import Action

from . import toolchain

ROOT = Path(__file__).resolve().parent.parent
ABI_DIR = ROOT / "hv" / "abi"
HV_DIR = ROOT / "hv" / "c"


def _abs(node: Any) -> Path:
    return Path(str(node.abspath))


def spec_files() -> list[Path]:
    return sorted(ABI_DIR.glob("*.abi"))


def abi_outputs(env: Any) -> dict[str, Any]:
    """build/gen/*: every output generated from the ABI spec.  The generator
    sources are dependencies, so editing a generator rebuilds its outputs."""
    from .abi.generate import OUTPUTS

    gendir = ROOT / "build" / "gen"
    targets = [str(gendir / name) for name in OUTPUTS]
    sources = [str(p) for p in spec_files()]
    generators = sorted(str(p) for p in (ROOT / "python_build" / "abi").glob("*.py"))

    def action(target: Any, source: Any, env: Any) -> int:
        from .abi.generate import write_outputs
        from .abi.model import SpecError

        try:
            write_outputs(spec_files(), gendir, ROOT)
        except SpecError as e:
            print(f"error: {e}")
            return 1
        return 0

    nodes = env.Command(targets, sources, Action(action, "Generating ABI outputs from hv/abi"))
    env.Depends(nodes, generators)
    return {name: node for name, node in zip(OUTPUTS, nodes, strict=True)}


def version_header(env: Any) -> Any:
    """build/gen/keel/version.h, rewritten while reading the SConstruct only
    when its text (version, git revision) changes."""
    from . import version

    out = ROOT / "build" / "gen" / "include" / "keel" / "version.h"
    text = version.version_header(ROOT)
    if not out.exists() or out.read_text() != text:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
    return env.File(str(out))


def _sources(directory: Path, exclude: tuple[str, ...] = ()) -> list[Path]:
    found = []
    for dirpath, _dirs, files in os.walk(directory):
        for f in files:
            if f.endswith((".c", ".S")):
                p = Path(dirpath) / f
                if not any(str(p.relative_to(directory)).startswith(e) for e in exclude):
                    found.append(p)
    return sorted(found)


def hv_env(env: Any) -> Any:
    e = env.Clone()
    inc = [
        str(HV_DIR / "include"),
        str(HV_DIR / "arch" / "x86" / "include"),
        str(ROOT / "build" / "gen"),
        str(ROOT / "build" / "gen" / "include"),
    ]
    e.Replace(CC="gcc", AS="gcc")
    e.Replace(CCFLAGS=toolchain.HV_CFLAGS + ["-isystem", toolchain.gcc_include_dir()])
    e.Replace(ASFLAGS=toolchain.HV_ASFLAGS + ["-isystem", toolchain.gcc_include_dir()])
    e.Replace(ASPPFLAGS=[])
    e.Replace(CPPPATH=inc)
    e.Replace(ASCOM="$CC $ASFLAGS $_CPPINCFLAGS -c -o $TARGET $SOURCES")
    e.Replace(ASPPCOM="$CC $ASFLAGS $_CPPINCFLAGS -c -o $TARGET $SOURCES")
    _quiet(e)
    return e


def _quiet(e: Any) -> None:
    """Short build lines unless VERBOSE=1 is given."""
    if e.GetOption("silent") or os.environ.get("VERBOSE") == "1":
        return
    e["CCCOMSTR"] = "  CC      $TARGET"
    e["ASCOMSTR"] = "  AS      $TARGET"
    e["ASPPCOMSTR"] = "  AS      $TARGET"
    e["LINKCOMSTR"] = "  LINK    $TARGET"


def hypervisor(env: Any, gen: dict[str, Any], version: Any) -> Any:
    e = hv_env(env)
    objdir = ROOT / "build" / "obj" / "hv"
    objs = []
    for src in _sources(HV_DIR):
        obj = objdir / src.relative_to(HV_DIR).with_suffix(".o")
        o = e.Object(str(obj), str(src))
        e.Depends(o, [gen["abi.h"], version])
        objs.append(o)
    dispatch = e.Object(str(objdir / "gen" / "abi_dispatch.o"), gen["abi_dispatch.c"])
    objs.append(dispatch)
    lds = HV_DIR / "arch" / "x86" / "hv.ld"
    elf = e.Command(
        str(ROOT / "build" / "hv.elf"),
        objs,
        Action("$HVLDCOM", "$HVLDCOMSTR"),
        HVLDCOM=" ".join(["ld", *toolchain.HV_LDFLAGS, "-T", str(lds), "-o", "$TARGET", "$SOURCES"]),
        HVLDCOMSTR="$HVLDCOM" if os.environ.get("VERBOSE") == "1" else "  LD      $TARGET",
    )
    e.Depends(elf, str(lds))
    return elf


def iso(env: Any, hv_elf: Any) -> Any:
    from .iso import make_iso

    def action(target: Any, source: Any, env: Any) -> int:
        make_iso(_abs(target[0]), _abs(source[0]), cmdline="console=com1 com1=115200,8n1")
        return 0

    node = env.Command(str(ROOT / "build" / "keel.iso"), hv_elf, Action(action, "Building $TARGET"))
    env.Depends(node, [str(ROOT / "python_build" / "iso.py")])
    return node


def harness_images(env: Any) -> list[Any]:
    """Tiny multiboot images that misbehave on purpose, to test the harness."""
    e = hv_env(env)
    out = []
    srcdir = ROOT / "tests" / "harness" / "images"
    e.Append(ASFLAGS=["-m32"])
    for src in sorted(srcdir.glob("*.S")):
        obj = e.Object(str(ROOT / "build" / "obj" / "harness" / (src.stem + ".o")), str(src))
        elf = e.Command(
            str(ROOT / "build" / "tests" / (src.stem + ".elf")),
            obj,
            "ld -m elf_i386 -nostdlib -static -Ttext=0x100000 --build-id=none -o $TARGET $SOURCES",
        )
        out.append(elf)
    return out


def host_tests(env: Any, gen: dict[str, Any], version: Any) -> list[Any]:
    """Host binaries built from the real hypervisor sources plus a shim, with
    sanitizers; tests/unit/host/*.c each become one program."""
    srcdir = ROOT / "tests" / "unit" / "host"
    if not srcdir.is_dir():
        return []
    e = env.Clone()
    e.Replace(CC="gcc")
    e.Replace(
        CCFLAGS=[
            "-std=c11",
            "-O1",
            "-g",
            *toolchain.WARNINGS,
            "-Wno-missing-prototypes",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            "-DKEEL_HOST_TEST",
        ]
    )
    e.Replace(LINKFLAGS=["-fsanitize=address,undefined"])
    _quiet(e)
    e.Replace(
        CPPPATH=[
            str(srcdir),
            str(HV_DIR / "include"),
            str(HV_DIR / "arch" / "x86" / "include"),
            str(ROOT / "build" / "gen"),
            str(ROOT / "build" / "gen" / "include"),
        ]
    )
    out = []
    for test in sorted(srcdir.glob("test_*.c")):
        # A test names the sources it links on its first line, relative to
        # the repository: /* sources: hv/c/core/cmdline.c hv/c/lib/string.c */
        first = test.read_text().splitlines()[0]
        srcs = [str(test), str(srcdir / "shim.c")]
        if "sources:" in first:
            srcs += [str(ROOT / s) for s in first.split("sources:")[1].replace("*/", "").split()]
        objs = []
        for s in srcs:
            rel = Path(s).resolve().relative_to(ROOT)
            objs.append(e.Object(str(ROOT / "build" / "obj" / "host" / test.stem / rel.with_suffix(".o")), s))
        prog = e.Program(str(ROOT / "build" / "host" / test.stem), objs)
        e.Depends(prog, [gen["abi.h"], version])
        out.append(prog)
    return out
