"""The ``keel`` command: global options, then a command from the table."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from keel.cli.context import Context, UsageError
from keel.cli.table import BY_NAME, COMMANDS, Command
from keel.config.validate import ConfigInvalid
from keel.errors import ConfigError, KeelError
from keel.transport.selection import ENV_VAR, transport_spec
from keel.version import __version__

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

PROG = "keel"


class _Exit(Exception):
    def __init__(self, status: int) -> None:
        self.status = status


class _Parser(argparse.ArgumentParser):
    """argparse that prints to the command's streams and raises instead of exiting the process."""

    out: TextIO = sys.stdout

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            (self.out if file is None or file is sys.stdout else file).write(message)

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if message:
            sys.stderr.write(message)
        raise _Exit(status)


def command_parser(cmd: Command, out: TextIO = sys.stdout) -> argparse.ArgumentParser:
    p = _Parser(prog=f"{PROG} {cmd.name}", description=cmd.description or cmd.summary)
    p.out = out
    cmd.setup(p)
    if cmd.json:
        p.add_argument("--json", action="store_true", help="print the data as JSON")
    return p


def usage() -> str:
    width = max(len(c.name) for c in COMMANDS)
    lines = [
        f"usage: {PROG} [--transport SPEC] COMMAND [ARGS...]",
        "",
        "Keel's toolstack: xl's commands for Keel domains.",
        "",
        "commands:",
        *(f"  {c.name:<{width}}  {c.summary}" for c in COMMANDS),
        f"  {'help':<{width}}  Show a command's options (keel help COMMAND)",
        "",
        "global options:",
        f"  --transport SPEC  'live' (default) or 'fake:STATE.json'; also ${ENV_VAR}",
        "  -V, --version     print the version",
    ]
    return "\n".join(lines) + "\n"


def _global_options(argv: list[str]) -> tuple[str | None, list[str]]:
    spec = None
    while argv and argv[0].startswith("-"):
        opt = argv.pop(0)
        if opt == "--transport" and argv:
            spec = argv.pop(0)
        elif opt.startswith("--transport="):
            spec = opt.partition("=")[2]
        elif opt in ("-h", "--help"):
            argv.insert(0, "help")
            break
        elif opt in ("-V", "--version"):
            argv.insert(0, "version")
            break
        else:
            raise UsageError(f"unknown global option '{opt}'")
    return spec, argv


def _help(ctx: Context, args: list[str]) -> int:
    if not args:
        ctx.out.write(usage())
        return 0
    cmd = BY_NAME.get(args[0])
    if cmd is None:
        raise UsageError(f"unknown command '{args[0]}' (keel help lists them)")
    ctx.out.write(command_parser(cmd).format_help())
    return 0


def _report(ctx: Context, e: KeelError) -> None:
    if isinstance(e, ConfigInvalid):
        for p in e.problems:
            print(f"{p.pos}: error: {p.message}" if p.pos else f"error: {p.message}", file=ctx.err)
    elif isinstance(e, ConfigError) and e.pos is not None:
        print(f"{e.pos}: error: {e.message}", file=ctx.err)
    else:
        print(f"{PROG}: error: {e}", file=ctx.err)


def run(argv: Sequence[str], ctx: Context | None = None) -> int:
    ctx = ctx or Context(transport_spec())
    name = ""
    try:
        spec, args = _global_options(list(argv))
        if spec is not None:
            ctx.transport_spec = spec
        if not args:
            ctx.err.write(usage())
            return 2
        name, rest = args[0], args[1:]
        if name == "help":
            return _help(ctx, rest)
        if name == "version":
            ctx.out.write(f"{PROG} {__version__}\n")
            return 0
        cmd = BY_NAME.get(name)
        if cmd is None:
            raise UsageError(f"unknown command '{name}' (keel help lists them)")
        ns = command_parser(cmd, ctx.out).parse_args(rest)
        if not cmd.json:
            ns.json = False
        return cmd.run(ctx, ns)
    except _Exit as e:
        return e.status
    except UsageError as e:
        where = f"{PROG} {name}" if name in BY_NAME else PROG
        hint = f" (keel help {name})" if name in BY_NAME else ""
        print(f"{where}: {e}{hint}", file=ctx.err)
        return 2
    except KeelError as e:
        _report(ctx, e)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (keel ... | head): stop quietly, as other tools do.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 -- keep Python from complaining at exit
        return 141
    finally:
        try:
            ctx.close()
        except KeelError as e:
            _report(ctx, e)


def main(argv: list[str] | None = None) -> int:
    return run(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
