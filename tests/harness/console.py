"""Reading Keel's serial console: line cleanup, end conditions, classification.

Everything here is pure (no emulator, no files) so it can be unit-tested on
canned text.  The runner feeds raw serial bytes to a ConsoleScanner as they
arrive and asks classify() for the verdict when the run ends."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

# Markers printed by the hypervisor (hv/c/core/main.c, power.c, panic.c).
BANNER_RE = re.compile(r"Keel hypervisor (?P<version>\S+)")
LOADER_RE = re.compile(r"Loader: (?P<loader>.*), multiboot(?P<multiboot>[12]), command line: '(?P<cmdline>.*)'")
POWEROFF_RE = re.compile(r"Keel: powering off")
POWEROFF_FAILED_RE = re.compile(r"Power-off failed")
PANIC_RE = re.compile(r"KEEL PANIC")
# The last lines panic() prints: once seen, the register dump is complete.
PANIC_END_RE = re.compile(r"Rebooting in \d+ seconds|noreboot: halted")
# The last line of a guest test kernel's output.
TEST_RESULT_RE = re.compile(r"Test result: (?P<result>SUCCESS|SKIP|ERROR|FAILURE)\b")

_TIMESTAMP_RE = re.compile(r"^\[\s*(?P<time>\d+\.\d+)\]\s?(?P<text>.*)$")
# ANSI/VT100 escape sequences (GRUB and OVMF paint the screen with them).
_ESCAPE_RE = re.compile(r"\x1b(?:\[[0-9;=?]*[ -/]*[@-~]|[@-Z\\-_])")


class Outcome(enum.StrEnum):
    """How a boot ended."""

    POWERED_OFF = "powered_off"  # printed "Keel: powering off" and the emulator exited
    PANIC = "panic"  # printed a KEEL PANIC line
    DONE = "done"  # the caller's done pattern matched (the emulator was then stopped)
    HANG = "hang"  # the banner appeared but the run hit its timeout
    NO_BANNER = "no_banner"  # ended or timed out without the "Keel hypervisor" banner
    CRASHED = "crashed"  # the emulator died unexpectedly (signal, or exit without power-off)


@dataclass(frozen=True)
class ConsoleLine:
    """One console line, cleaned of escape sequences and carriage returns."""

    raw: str  # the cleaned line, timestamp included
    text: str  # the message without the "[   0.000123] " prefix (== raw if none)
    time: float | None  # the hypervisor's timestamp, if the line has one

    def __str__(self) -> str:
        return self.raw


def clean_line(line: str) -> str:
    """Strip escape sequences; on a carriage return keep what a terminal would show last."""
    line = _ESCAPE_RE.sub("", line).rstrip("\r")
    if "\r" in line:
        parts = [p for p in line.split("\r") if p]
        line = parts[-1] if parts else ""
    return line.rstrip()


def parse_line(line: str) -> ConsoleLine:
    raw = clean_line(line)
    m = _TIMESTAMP_RE.match(raw)
    if m:
        return ConsoleLine(raw=raw, text=m.group("text"), time=float(m.group("time")))
    return ConsoleLine(raw=raw, text=raw, time=None)


def parse_console(text: str) -> list[ConsoleLine]:
    """Split a whole console capture into cleaned lines (empty lines dropped)."""
    return [cl for cl in (parse_line(ln) for ln in text.split("\n")) if cl.raw]


class ConsoleScanner:
    """Incremental console reader: feed() raw bytes as they arrive, finish() at the end.

    Tracks the end conditions the runner acts on.  Only complete lines are
    examined until finish(), which also examines a last unterminated line (the
    emulator may power off before the final newline leaves the UART)."""

    def __init__(self, done: re.Pattern[str] | None = None, banner: re.Pattern[str] = BANNER_RE) -> None:
        self._done = done
        self._banner = banner
        self._data = bytearray()
        self._pending = b""
        self.lines: list[ConsoleLine] = []
        self.banner: re.Match[str] | None = None
        self.poweroff = False
        self.poweroff_failed = False
        self.panic = False
        self.panic_complete = False
        self.done = False
        self.finished = False

    @classmethod
    def from_text(
        cls, text: str, done: re.Pattern[str] | None = None, banner: re.Pattern[str] = BANNER_RE
    ) -> ConsoleScanner:
        """A finished scanner over canned console text (for tests)."""
        scanner = cls(done, banner)
        scanner.feed(text.encode())
        scanner.finish()
        return scanner

    @property
    def text(self) -> str:
        """Everything received so far, decoded."""
        return self._data.decode("utf-8", errors="replace")

    def feed(self, data: bytes) -> None:
        if not data:
            return
        self._data += data
        chunks = (self._pending + data).split(b"\n")
        self._pending = chunks.pop()
        for chunk in chunks:
            self._line(chunk)

    def finish(self) -> None:
        if self._pending:
            self._line(self._pending)
            self._pending = b""
        self.finished = True

    def _line(self, chunk: bytes) -> None:
        line = parse_line(chunk.decode("utf-8", errors="replace"))
        if not line.raw:
            return
        self.lines.append(line)
        text = line.text
        if self.banner is None:
            self.banner = self._banner.search(text)
        if PANIC_RE.search(text):
            self.panic = True
        if self.panic and PANIC_END_RE.search(text):
            self.panic_complete = True
        if POWEROFF_RE.search(text):
            self.poweroff = True
        if POWEROFF_FAILED_RE.search(text):
            self.poweroff_failed = True
        if self._done is not None and self._done.search(text):
            self.done = True


def classify(
    scan: ConsoleScanner,
    *,
    exited: bool,
    returncode: int | None,
    timed_out: bool,
) -> Outcome:
    """The verdict for a finished run.

    exited: the emulator ended on its own (not killed by the harness);
    returncode: its exit status (negative: killed by that signal);
    timed_out: the harness stopped it at the timeout."""
    if scan.panic:
        return Outcome.PANIC
    if scan.done:
        return Outcome.DONE
    if exited and returncode is not None and returncode < 0:
        return Outcome.CRASHED
    if scan.poweroff and exited:
        return Outcome.POWERED_OFF
    if scan.banner is None:
        return Outcome.NO_BANNER
    if timed_out or not exited or scan.poweroff_failed:
        return Outcome.HANG
    return Outcome.CRASHED
