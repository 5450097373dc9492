"""A one-line progress display for terminals."""

from __future__ import annotations

import time
from typing import TextIO

MIB = 1 << 20
SPINNER = "|/-\\"


class TerminalProgress:
    """Rewrites one line with \\r; finishes it with a newline when an operation completes."""

    def __init__(self, stream: TextIO, min_interval: float = 0.1) -> None:
        self.stream = stream
        self.min_interval = min_interval
        self.last = 0.0
        self.label = ""
        self.ticks = 0

    def __call__(self, label: str, done: int, total: int) -> None:
        now = time.monotonic()
        finished = total > 0 and done >= total
        if label == self.label and not finished and now - self.last < self.min_interval:
            return
        self.last, self.label = now, label
        if total <= 0:
            self.ticks += 1
            text = f"{label} {SPINNER[self.ticks % len(SPINNER)]}"
        elif total >= MIB:
            text = f"{label}: {100 * done // total:3d}% ({done / MIB:.1f}/{total / MIB:.1f} MiB)"
        else:
            text = f"{label}: {100 * done // total:3d}%"
        self.stream.write(f"\r\x1b[K{text}")
        if finished:
            self.stream.write("\n")
            self.label = ""
        self.stream.flush()
