"""What a command runs with: the transport (opened on first use), streams, progress."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from keel.cli.progress import TerminalProgress
from keel.config.validate import Diagnostic
from keel.errors import KeelError
from keel.host import Host
from keel.progress import Progress, no_progress
from keel.transport.base import Transport
from keel.transport.selection import open_transport


class CommandFailed(KeelError):
    """A command could not do what was asked (an error message, exit status 1)."""


class UsageError(KeelError):
    """The command line is wrong (exit status 2)."""


@dataclass
class Context:
    transport_spec: str
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    _transport: Transport | None = None

    @property
    def transport(self) -> Transport:
        if self._transport is None:
            self._transport = open_transport(self.transport_spec)
        return self._transport

    @property
    def host(self) -> Host:
        return Host(self.transport)

    @property
    def progress(self) -> Progress:
        """A progress display on the terminal, only when stdout is one."""
        isatty = getattr(self.out, "isatty", None)
        return TerminalProgress(self.out) if isatty is not None and isatty() else no_progress

    def warn(self, diag: Diagnostic | str) -> None:
        if isinstance(diag, Diagnostic) and diag.pos is not None:
            print(f"{diag.pos}: warning: {diag.message}", file=self.err)
        else:
            print(f"warning: {diag}", file=self.err)

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
            self._transport = None
