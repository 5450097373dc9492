"""BootResult: what a boot printed and how it ended, with assertion helpers."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from .console import BANNER_RE, LOADER_RE, PANIC_RE, POWEROFF_RE, TEST_RESULT_RE, ConsoleLine, Outcome, parse_console
from .spec import BootSpec

Pattern = str | re.Pattern[str]

TAIL_LINES = 40


def _compile(pattern: Pattern) -> re.Pattern[str]:
    return pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)


@dataclass
class BootResult:
    """The outcome of one boot.

    Regex helpers search each console line's text (without its timestamp) with
    re.search.  require_* helpers raise AssertionError with the outcome, the
    console tail and emulator diagnostics in the message."""

    spec: BootSpec
    outcome: Outcome
    console: str  # everything COM1 received, decoded (escape sequences included)
    exit_status: int | None  # the emulator's exit status; None when the harness stopped it
    elapsed: float  # wall-clock seconds from spawn to exit
    timeout: float  # the effective timeout of the run
    argv: list[str] = field(default_factory=list)
    workdir: Path | None = None  # holds console.log and emulator files (None: already removed)
    emulator_stderr: str = ""  # the end of the emulator's own stderr
    emulator_log: list[str] = field(default_factory=list)  # Bochs: error and VM-entry log lines
    banner_elapsed: float | None = None  # wall-clock seconds from spawn to the banner line
    lines: list[ConsoleLine] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.lines:
            self.lines = parse_console(self.console)

    # --- looking things up -------------------------------------------------

    @property
    def messages(self) -> list[str]:
        """Every console line's text, without timestamps."""
        return [ln.text for ln in self.lines]

    def find(self, pattern: Pattern) -> re.Match[str] | None:
        """The first line matching pattern."""
        rx = _compile(pattern)
        for ln in self.lines:
            m = rx.search(ln.text)
            if m:
                return m
        return None

    def find_all(self, pattern: Pattern) -> list[re.Match[str]]:
        """Every line matching pattern (the first match in each line)."""
        rx = _compile(pattern)
        return [m for m in (rx.search(ln.text) for ln in self.lines) if m]

    def lines_matching(self, pattern: Pattern) -> list[ConsoleLine]:
        rx = _compile(pattern)
        return [ln for ln in self.lines if rx.search(ln.text)]

    def lines_after(self, pattern: Pattern) -> list[ConsoleLine]:
        """The lines after the first one matching pattern (empty if none matches)."""
        rx = _compile(pattern)
        for i, ln in enumerate(self.lines):
            if rx.search(ln.text):
                return self.lines[i + 1 :]
        return []

    @property
    def version(self) -> str | None:
        """The version from the banner line."""
        m = self.find(BANNER_RE)
        return m.group("version") if m else None

    @property
    def loader(self) -> re.Match[str] | None:
        """The Loader line: groups loader, multiboot ("1"/"2") and cmdline."""
        return self.find(LOADER_RE)

    @property
    def multiboot(self) -> int | None:
        """The multiboot version the hypervisor reports it was loaded with."""
        m = self.loader
        return int(m.group("multiboot")) if m else None

    @property
    def panic_line(self) -> str | None:
        m = self.lines_matching(PANIC_RE)
        return m[0].text if m else None

    @property
    def test_result(self) -> str | None:
        """The last "Test result: X" of a guest test kernel (SUCCESS, SKIP, ERROR or FAILURE)."""
        found = self.find_all(TEST_RESULT_RE)
        return found[-1].group("result") if found else None

    @property
    def hint(self) -> str | None:
        """A guess at what went wrong, for failure messages."""
        if self.outcome is Outcome.CRASHED and self.exit_status is not None and self.exit_status < 0:
            return f"the emulator was killed by signal {-self.exit_status}"
        if self.outcome is Outcome.CRASHED and self.spec.backend == "qemu" and self.exit_status == 0:
            return "QEMU exited 0 without a power-off line: with -no-reboot that is a triple fault or reset"
        if self.outcome is Outcome.CRASHED and self.spec.backend == "bochs":
            return "Bochs stopped without a power-off line: see the Bochs log lines (triple fault, Bochs panic)"
        if self.outcome is Outcome.HANG and self.find(POWEROFF_RE) is not None:
            return "the power-off line appeared but the emulator did not stop (power-off failed?)"
        if self.outcome is Outcome.NO_BANNER and self.spec.boot == "iso" and not self.lines:
            return "no output at all: the firmware or GRUB never reached the serial console"
        return None

    # --- assertions --------------------------------------------------------

    def describe(self, tail: int = TAIL_LINES) -> str:
        """A multi-line report: outcome, spec, command, emulator output, console tail."""
        status = "stopped by the harness" if self.exit_status is None else f"exit status {self.exit_status}"
        out = [
            f"outcome: {self.outcome} after {self.elapsed:.2f} s (timeout {self.timeout:.1f} s, {status})",
            f"spec: {self.spec.describe()}",
            f"command: {shlex.join(self.argv)}",
        ]
        if self.workdir is not None:
            out.append(f"files: {self.workdir}")
        hint = self.hint
        if hint:
            out.append(f"hint: {hint}")
        if self.emulator_stderr.strip():
            out.append("--- emulator stderr (end) ---")
            out += self.emulator_stderr.rstrip().splitlines()[-15:]
        if self.emulator_log:
            out.append("--- Bochs log: errors and VM-entry lines (end) ---")
            out += self.emulator_log
        shown = self.lines[-tail:]
        skipped = len(self.lines) - len(shown)
        out.append(f"--- console: last {len(shown)} of {len(self.lines)} lines ---")
        if skipped:
            out.append(f"[... {skipped} earlier lines ...]")
        out += [ln.raw for ln in shown]
        if not self.lines:
            out.append("(no console output)")
        return "\n".join(out)

    def fail(self, message: str) -> AssertionError:
        """An AssertionError for this run: message, then describe()."""
        return AssertionError(f"{message}\n{self.describe()}")

    def require_outcome(self, *outcomes: Outcome | str) -> BootResult:
        wanted = [Outcome(o) for o in outcomes]
        if self.outcome not in wanted:
            names = " or ".join(str(o) for o in wanted)
            raise self.fail(f"Keel boot: expected {names}, got {self.outcome}")
        return self

    def require_clean_poweroff(self) -> BootResult:
        """The hypervisor printed its banner, never panicked, and powered off."""
        self.require_outcome(Outcome.POWERED_OFF)
        if self.find(BANNER_RE) is None:
            raise self.fail("Keel boot: powered off without printing the banner")
        return self

    def require_panic(self, pattern: Pattern | None = None) -> re.Match[str] | None:
        """The hypervisor panicked (with a panic line matching pattern, if given)."""
        self.require_outcome(Outcome.PANIC)
        if pattern is None:
            return None
        rx = _compile(pattern)
        for ln in self.lines_matching(PANIC_RE):
            m = rx.search(ln.text)
            if m:
                return m
        raise self.fail(f"Keel boot: panicked, but no panic line matches {rx.pattern!r}")

    def require(self, pattern: Pattern) -> re.Match[str]:
        """The first console line matching pattern (AssertionError if none)."""
        m = self.find(pattern)
        if m is None:
            raise self.fail(f"Keel boot: no console line matches {_compile(pattern).pattern!r}")
        return m

    def require_absent(self, pattern: Pattern) -> BootResult:
        found = self.lines_matching(pattern)
        if found:
            raise self.fail(f"Keel boot: unexpected console line: {found[0].raw}")
        return self

    def require_test_result(self, expected: str = "SUCCESS") -> BootResult:
        """A guest test kernel reported "Test result: <expected>"."""
        got = self.test_result
        if got != expected:
            raise self.fail(f"Keel boot: expected 'Test result: {expected}', got {got or 'no test result'}")
        return self
