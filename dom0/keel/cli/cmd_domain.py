"""create, destroy, shutdown, reboot, pause, unpause, console, domid, domname."""

from __future__ import annotations

import argparse
from pathlib import Path

from keel.cli.context import CommandFailed, Context, UsageError
from keel.cli.output import print_json
from keel.config import load, serialize


def setup_create(p: argparse.ArgumentParser) -> None:
    p.add_argument("config", metavar="CFG", type=Path, help="domain configuration file (xl.cfg syntax)")
    p.add_argument("overrides", metavar="KEY=VALUE", nargs="*", help="extra settings, as lines of the file")
    p.add_argument("-p", dest="paused", action="store_true", help="leave the domain paused after creating it")
    p.add_argument("-c", dest="console", action="store_true", help="attach to the domain's console")
    p.add_argument("-n", dest="dry_run", action="store_true", help="dry run: print the resolved configuration")
    p.add_argument("-q", dest="quiet", action="store_true", help="quiet: no 'Parsing config' line")


def run_create(ctx: Context, args: argparse.Namespace) -> int:
    if not args.quiet:
        print(f"Parsing config from {args.config}", file=ctx.err)
    loaded = load(args.config, args.overrides)
    for w in loaded.warnings:
        ctx.warn(w)
    cfg = loaded.config
    if args.dry_run:
        if args.json:
            print_json(ctx.out, {"domid": None, "config": cfg.resolved()})
        else:
            ctx.out.write(serialize(cfg.resolved()))
        return 0
    dom = ctx.host.create(cfg, paused=args.paused, progress=ctx.progress)
    if args.console:
        return _console(ctx, dom.name)
    return 0


def setup_domain(p: argparse.ArgumentParser) -> None:
    p.add_argument("domain", metavar="DOMAIN", help="domain name or id")


def run_destroy(ctx: Context, args: argparse.Namespace) -> int:
    ctx.host.domain(args.domain).destroy()
    return 0


def run_pause(ctx: Context, args: argparse.Namespace) -> int:
    ctx.host.domain(args.domain).pause()
    return 0


def run_unpause(ctx: Context, args: argparse.Namespace) -> int:
    ctx.host.domain(args.domain).unpause()
    return 0


def setup_shutdown(p: argparse.ArgumentParser) -> None:
    p.add_argument("domain", metavar="DOMAIN", nargs="?", help="domain name or id")
    p.add_argument("-a", "--all", action="store_true", help="every domain but the control domain")
    p.add_argument("-w", "--wait", action="store_true", help="wait until the domains have shut down")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait with -w (default 60)")


def _targets(ctx: Context, args: argparse.Namespace) -> list[str]:
    if args.all == (args.domain is not None):
        raise UsageError("give either a DOMAIN or -a")
    if args.all:
        return [str(d.domid) for d in ctx.host.domains() if d.domid != 0 and not d.shutdown]
    return [args.domain]


def run_shutdown(ctx: Context, args: argparse.Namespace) -> int:
    doms = [ctx.host.domain(spec) for spec in _targets(ctx, args)]
    for dom in doms:
        dom.shutdown()
    if args.wait:
        for dom in doms:
            print(f"Waiting for domain {dom.name} ({dom.domid}) to shut down", file=ctx.err)
            if not dom.wait_shutdown(args.timeout):
                raise CommandFailed(f"domain {dom.name} did not shut down within {args.timeout:g} s")
    return 0


def setup_reboot(p: argparse.ArgumentParser) -> None:
    p.add_argument("domain", metavar="DOMAIN", nargs="?", help="domain name or id")
    p.add_argument("-a", "--all", action="store_true", help="every domain but the control domain")


def run_reboot(ctx: Context, args: argparse.Namespace) -> int:
    for spec in _targets(ctx, args):
        ctx.host.domain(spec).reboot()
    return 0


def run_console(ctx: Context, args: argparse.Namespace) -> int:
    return _console(ctx, args.domain)


def _console(ctx: Context, spec: str) -> int:
    host = ctx.host
    dom = host.domain(spec)
    print(f"Connected to domain {dom.name} ({dom.domid}) console; Ctrl-C leaves", file=ctx.err)
    for line in host.console(dom):
        ctx.out.write(line + "\n")
        ctx.out.flush()
    return 0


def run_domid(ctx: Context, args: argparse.Namespace) -> int:
    ctx.out.write(f"{ctx.host.find(args.domain).domid}\n")
    return 0


def run_domname(ctx: Context, args: argparse.Namespace) -> int:
    ctx.out.write(f"{ctx.host.find(args.domain).name}\n")
    return 0
