"""The library's exceptions: everything it raises derives from KeelError."""

from __future__ import annotations

import errno as _errno
import os
from dataclasses import dataclass


class KeelError(Exception):
    """Root of every error the keel library raises."""


@dataclass(frozen=True)
class SourcePos:
    """A position in a configuration file (1-based line and column)."""

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class AbiError(KeelError):
    """Bytes do not hold the ABI struct they should."""


class ConfigError(KeelError):
    """A configuration file is malformed or invalid; str() reads `file:line:col: message`."""

    def __init__(self, pos: SourcePos | None, message: str) -> None:
        self.pos = pos
        self.message = message
        super().__init__(f"{pos}: {message}" if pos else message)


class ConfigSyntaxError(ConfigError):
    """The text does not follow the xl.cfg grammar."""


class ImageError(KeelError):
    """A kernel or module image cannot be loaded."""


class LayoutError(KeelError):
    """The guest does not fit the PVH memory layout."""


class DomainNotFound(KeelError):
    """No domain has the given name or id."""

    def __init__(self, spec: str) -> None:
        self.spec = spec
        super().__init__(f"domain '{spec}' does not exist")


class HypervisorError(KeelError):
    """The hypervisor refused an operation; carries the errno it returned."""

    def __init__(self, op: str, errno: int, detail: str = "") -> None:
        self.op = op
        self.errno = errno
        self.detail = detail
        name = _errno.errorcode.get(errno, str(errno))
        text = detail or os.strerror(errno)
        super().__init__(f"{op}: {text} ({name})")


class TransportUnavailable(KeelError):
    """The selected transport cannot reach a hypervisor."""


class BundleError(KeelError):
    """A boot bundle cannot be written or booted."""


class ManifestError(KeelError):
    """A boot manifest is invalid; lists every bad line."""

    def __init__(self, problems: list[tuple[int, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"line {n}: {msg}" for n, msg in problems))
