"""list, info, dmesg, vcpu-list, sched-credit listing, exit-counters: commands that print data."""

from __future__ import annotations

import argparse

from keel.cli import output
from keel.cli.context import CommandFailed, Context


def setup_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("domains", metavar="DOMAIN", nargs="*", help="only these domains (names or ids)")


def run_list(ctx: Context, args: argparse.Namespace) -> int:
    host = ctx.host
    doms = [host.find(s) for s in args.domains] if args.domains else host.domains()
    if args.json:
        output.print_json(ctx.out, [output.domain_json(d) for d in doms])
        return 0
    ctx.out.write(output.LIST_HEADER + "\n")
    for d in doms:
        ctx.out.write(output.list_line(d) + "\n")
    return 0


def setup_info(p: argparse.ArgumentParser) -> None:
    p.add_argument("field", metavar="FIELD", nargs="?", help="print only this field's value (as `xl info FIELD`)")


def run_info(ctx: Context, args: argparse.Namespace) -> int:
    physinfo = ctx.host.physinfo()
    if args.json:
        data = output.physinfo_json(physinfo)
        if args.field:
            data = {k: v for k, v in data.items() if k.startswith(args.field)}
            if not data:
                raise CommandFailed(f"no info field '{args.field}'")
        output.print_json(ctx.out, data)
        return 0
    fields = output.info_fields(physinfo)
    if args.field:
        fields = [(k, v) for k, v in fields if k.startswith(args.field)]
        if not fields:
            raise CommandFailed(f"no info field '{args.field}'")
    if args.field:
        ctx.out.write("".join(v + "\n" for _, v in fields))
    else:
        ctx.out.write("".join(line + "\n" for line in output.info_lines(fields)))
    return 0


def setup_dmesg(p: argparse.ArgumentParser) -> None:
    p.add_argument("-c", "--clear", action="store_true", help="clear the log ring after reading it")


def run_dmesg(ctx: Context, args: argparse.Namespace) -> int:
    chunk = ctx.host.read_log(0, clear=args.clear)
    if args.json:
        output.print_json(ctx.out, chunk)
    else:
        ctx.out.write(chunk.text)
    return 0


def setup_vcpu_list(p: argparse.ArgumentParser) -> None:
    p.add_argument("domains", metavar="DOMAIN", nargs="*", help="only these domains (names or ids)")


def run_vcpu_list(ctx: Context, args: argparse.Namespace) -> int:
    host = ctx.host
    nr_cpus = host.physinfo().nr_cpus
    doms = [host.find(s) for s in args.domains] if args.domains else host.domains()
    rows = [(d, v) for d in doms for v in host.transport.get_vcpu_info(d.domid)]
    if args.json:
        output.print_json(ctx.out, [{"name": d.name, "domid": d.domid, **output.to_jsonable(v)} for d, v in rows])
        return 0
    ctx.out.write(output.vcpu_list_header() + "\n")
    for d, v in rows:
        ctx.out.write(output.vcpu_line(d, v, nr_cpus) + "\n")
    return 0


def setup_exit_counters(p: argparse.ArgumentParser) -> None:
    p.add_argument("domains", metavar="DOMAIN", nargs="*", help="only these domains (names or ids)")


def run_exit_counters(ctx: Context, args: argparse.Namespace) -> int:
    host = ctx.host
    doms = [host.find(s) for s in args.domains] if args.domains else host.domains()
    rows = [(d, host.transport.get_exit_counters(d.domid)) for d in doms]
    if args.json:
        output.print_json(ctx.out, [{"name": d.name, "domid": d.domid, "exits": c.counts} for d, c in rows])
        return 0
    ctx.out.write(f"{'Name':<32} {'ID':>5} {'Reason':<24} {'Count':>12}\n")
    for d, c in rows:
        for reason, count in sorted(c.counts.items()):
            ctx.out.write(f"{d.name:<32} {d.domid:5d} {reason:<24} {count:12d}\n")
        ctx.out.write(f"{d.name:<32} {d.domid:5d} {'total':<24} {c.total:12d}\n")
    return 0
