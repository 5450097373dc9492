"""Progress reporting for long operations, decoupled from any terminal."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    """Called as work advances; `total` 0 means the size is unknown."""

    def __call__(self, label: str, done: int, total: int) -> None: ...


def no_progress(label: str, done: int, total: int) -> None:
    """A Progress that ignores updates."""
