"""bundle and run: boot domains through the hypervisor's boot manifest."""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from keel.bundle.bundle import Bundle, make_bundle
from keel.bundle.qemu import QemuOptions, run_qemu
from keel.cli.context import Context, UsageError
from keel.cli.output import print_json
from keel.config import DomainConfig, load

DEFAULT_HV = Path("build/hv.elf")
EXIT_PORT_OPTION = "exit_port=0xf4"


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--hv", type=Path, default=DEFAULT_HV, help=f"hypervisor ELF (default {DEFAULT_HV})")
    p.add_argument("--hv-cmdline", default="", metavar="OPTS", help="extra hypervisor command-line options")
    p.add_argument("--control", metavar="NAME", help="make this domain the control domain (dom0)")


def setup_bundle(p: argparse.ArgumentParser) -> None:
    p.add_argument("configs", metavar="CFG", type=Path, nargs="+", help="domain configuration files")
    p.add_argument("-o", "--output", metavar="DIR", type=Path, required=True, help="bundle directory to write")
    p.add_argument("--no-iso", dest="iso", action="store_false", help="skip building keel.iso")
    _common(p)


def _configs(ctx: Context, paths: list[Path]) -> list[DomainConfig]:
    configs = []
    for path in paths:
        loaded = load(path)
        for w in loaded.warnings:
            ctx.warn(w)
        configs.append(loaded.config)
    return configs


def _summary(ctx: Context, b: Bundle) -> None:
    rows = [("manifest", b.manifest, "")]
    for d in b.domains:
        note = f"{d.name} kernel (from {d.kernel_format} {d.kernel_source})"
        rows.append(("module", b.dir / d.kernel_module, note))
        if d.ramdisk_module:
            rows.append(("module", b.dir / d.ramdisk_module, f"{d.name} ramdisk"))
    rows.append(("grub.cfg", b.grub_cfg, ""))
    if b.iso:
        rows.append(("iso", b.iso, ""))
    for kind, path, note in rows:
        ctx.out.write(f"{kind:<9} {path}{'  ' + note if note else ''}\n")
    ctx.out.write(f"cmdline   {b.hv_cmdline}\n")


def run_bundle(ctx: Context, args: argparse.Namespace) -> int:
    configs = _configs(ctx, args.configs)
    b = make_bundle(
        configs,
        args.output,
        args.hv,
        extra_cmdline=args.hv_cmdline,
        control=args.control,
        iso=args.iso,
        progress=ctx.progress,
    )
    if args.json:
        print_json(ctx.out, b.to_json())
    else:
        _summary(ctx, b)
    return 0


def setup_run(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "configs", metavar="CFG", type=Path, nargs="*", help="domain configuration files (default: examples/*.cfg)"
    )
    p.add_argument("--timeout", type=float, help="stop QEMU after this many seconds (exit status 124)")
    p.add_argument("--smp", type=int, default=2, help="CPUs of the emulated machine (default 2)")
    p.add_argument("--memory", type=int, default=1024, metavar="MIB", help="RAM of the emulated machine (default 1024)")
    p.add_argument("--keep", type=Path, metavar="DIR", help="write the bundle here instead of a temporary directory")
    p.add_argument("--qemu", default="qemu-system-x86_64", metavar="PROGRAM", help="the QEMU to run")
    _common(p)


def run_run(ctx: Context, args: argparse.Namespace) -> int:
    paths = args.configs or sorted(Path("examples").glob("*.cfg"))
    if not paths:
        raise UsageError("no configs given and no examples/*.cfg here")
    configs = _configs(ctx, paths)
    extra = f"{EXIT_PORT_OPTION} {args.hv_cmdline}".strip()
    with tempfile.TemporaryDirectory(prefix="keel-run-") as tmp:
        out = args.keep or Path(tmp)
        b = make_bundle(configs, out, args.hv, extra_cmdline=extra, control=args.control, progress=ctx.progress)
        assert b.iso is not None
        names = ", ".join(d.name for d in b.domains)
        print(f"Booting {b.iso} with {names} (QEMU: {args.smp} CPUs, {args.memory} MiB)", file=ctx.err)
        opts = QemuOptions(memory_mib=args.memory, smp=args.smp, timeout=args.timeout, qemu=args.qemu)
        result = run_qemu(b.iso, opts, lambda data: _stream(ctx, data))
    print(f"\nkeel run: {result.outcome}", file=ctx.err)
    return result.exit_status


def _stream(ctx: Context, data: bytes) -> None:
    buffer = getattr(ctx.out, "buffer", None)
    if buffer is not None and ctx.out is sys.stdout:
        ctx.out.flush()
        buffer.write(data)
        buffer.flush()
    else:
        ctx.out.write(data.decode("utf-8", "replace"))
        ctx.out.flush()
