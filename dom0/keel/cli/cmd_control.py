"""vcpu-set, vcpu-pin, mem-set, mem-max, sched-credit."""

from __future__ import annotations

import argparse
import re

from keel.cli import output
from keel.cli.context import Context, UsageError
from keel.cpumap import CpuSet, CpuSpecError

_SIZE = re.compile(r"(\d+)([bBkKmMgGtT]?)")


def parse_mem_kib(text: str) -> int:
    """xl's memory sizes: a number with b, k, m, g or t; no suffix means MiB."""
    m = _SIZE.fullmatch(text)
    if not m:
        raise UsageError(f"invalid memory size: {text} (a number with an optional b, k, m, g or t suffix)")
    n, unit = int(m.group(1)), m.group(2).lower()
    return {"b": n >> 10, "k": n, "": n << 10, "m": n << 10, "g": n << 20, "t": n << 30}[unit]


def setup_vcpu_set(p: argparse.ArgumentParser) -> None:
    p.add_argument("domain", metavar="DOMAIN", help="domain name or id")
    p.add_argument("count", metavar="VCPUS", type=int, help="number of vCPUs to have online")
    p.add_argument("-i", "--ignore-host", action="store_true", help="allow more vCPUs than host CPUs")


def run_vcpu_set(ctx: Context, args: argparse.Namespace) -> int:
    host = ctx.host
    limit = None if args.ignore_host else host.physinfo().nr_cpus
    host.domain(args.domain).set_vcpus(args.count, host_cpus=limit)
    return 0


def setup_vcpu_pin(p: argparse.ArgumentParser) -> None:
    p.add_argument("domain", metavar="DOMAIN", help="domain name or id")
    p.add_argument("vcpu", metavar="VCPU", help="vCPU number, or 'all'")
    p.add_argument("hard", metavar="CPUS", help="hard affinity in xl syntax (0-3,^1 or all), or '-' to keep it")
    p.add_argument("soft", metavar="SOFT", nargs="?", help="soft affinity: not supported (give '-' or nothing)")


def run_vcpu_pin(ctx: Context, args: argparse.Namespace) -> int:
    if args.soft not in (None, "-"):
        raise UsageError("soft affinity is not supported yet: Keel's scheduler uses hard affinity only")
    if args.hard == "-":
        return 0
    if args.vcpu == "all":
        vcpu = None
    elif args.vcpu.isdigit():
        vcpu = int(args.vcpu)
    else:
        raise UsageError(f"invalid VCPU '{args.vcpu}' (a number or 'all')")
    try:
        cpus = CpuSet.parse(args.hard)
    except CpuSpecError as e:
        raise UsageError(f"invalid CPUS: {e}") from None
    host = ctx.host
    host.domain(args.domain).pin(vcpu, cpus, host.physinfo().nr_cpus)
    return 0


def setup_mem(p: argparse.ArgumentParser) -> None:
    p.add_argument("domain", metavar="DOMAIN", help="domain name or id")
    p.add_argument("size", metavar="SIZE", help="amount: a number with b, k, m, g or t (default m)")


def run_mem_set(ctx: Context, args: argparse.Namespace) -> int:
    ctx.host.domain(args.domain).set_memory(parse_mem_kib(args.size))
    return 0


def run_mem_max(ctx: Context, args: argparse.Namespace) -> int:
    ctx.host.domain(args.domain).set_max_memory(parse_mem_kib(args.size))
    return 0


def setup_sched_credit(p: argparse.ArgumentParser) -> None:
    p.add_argument("-d", "--domain", metavar="DOMAIN", help="the domain to show or change")
    p.add_argument("-w", "--weight", type=int, help="new weight (1-65535)")
    p.add_argument("-c", "--cap", type=int, help="new cap in percent of one CPU (0: none)")


def run_sched_credit(ctx: Context, args: argparse.Namespace) -> int:
    host = ctx.host
    if (args.weight is not None or args.cap is not None) and args.domain is None:
        raise UsageError("must specify a domain (-d) to set the weight or cap")
    if args.domain is not None and (args.weight is not None or args.cap is not None):
        host.domain(args.domain).set_sched_credit(args.weight, args.cap)
        return 0
    doms = [host.find(args.domain)] if args.domain is not None else host.domains()
    rows = [(d, host.transport.get_sched_credit(d.domid)) for d in doms]
    if args.json:
        output.print_json(ctx.out, [{"name": d.name, "domid": d.domid, **output.to_jsonable(s)} for d, s in rows])
        return 0
    ctx.out.write(output.SCHED_HEADER + "\n")
    for d, s in rows:
        ctx.out.write(output.sched_line(d, s) + "\n")
    return 0
