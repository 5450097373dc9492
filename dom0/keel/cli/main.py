"""The ``keel`` command."""

from __future__ import annotations

import sys

from keel import __version__


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-V", "--version", "version"):
        print(f"keel {__version__}")
        return 0
    print("usage: keel COMMAND [ARGS...]  (commands arrive with the toolstack)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
