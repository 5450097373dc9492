"""Running sets of guest domains under Keel: build the boot manifest and the
modules, boot under QEMU (AMD-V) or Bochs (VT-x), and split the console into
per-domain logs and results.

    run = DomainSet(backend="qemu", flavour="64")
    run.add("hello-0", "hello", memory=16, cmdline="x=1")
    result = run.boot(run_boot)           # one boot, every domain at once
    result.domain("hello-0").result       # "SUCCESS", or None if it never said

Domains are listed in a boot manifest (docs/boot-manifest.md) with no control
domain, so Keel powers off once the last one is gone.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tests.harness import BOCHS_ISO, BUILD_DIR, QEMU_KERNEL, BootResult, BootSpec, Module

GUESTS = BUILD_DIR / "guests"
MANIFEST = Path(__file__).with_name("manifest.toml")

Backend = Literal["qemu", "bochs"]
Flavour = Literal["64", "32"]
RunBoot = Callable[[BootSpec], BootResult]

_CREATED = re.compile(r"^Domain (\d+) \(([^)]+)\): \d+ MiB")
_OUTPUT = re.compile(r"^\(d(\d+)\) (.*)$")
_RESULT = re.compile(r"^Test result: (SUCCESS|SKIP|ERROR|FAILURE)\b")
_SHUTDOWN = re.compile(r"^Domain (\d+) \(([^)]+)\) shut down: (\w+)")
_CRASHED = re.compile(r"^Domain (\d+) \(([^)]+)\) crashed: (.*)$")
_MANIFEST_ERR = re.compile(r"^manifest line (\d+): (.*)$")


def image_path(image: str, flavour: Flavour) -> Path:
    return GUESTS / (f"{image}.elf" if flavour == "64" else f"{image}-32.elf")


@dataclass
class DomainSpec:
    name: str
    image: str
    memory: int = 16
    vcpus: int = 1
    maxvcpus: int | None = None
    cmdline: str = ""
    extra: dict[str, str] = field(default_factory=dict)  # more manifest keys: cpus=, weight=, ...


@dataclass
class DomainLog:
    name: str
    domid: int | None = None
    lines: list[str] = field(default_factory=list)
    result: str | None = None
    shutdown: str | None = None
    crash: str | None = None

    def text(self) -> str:
        return "\n".join(self.lines)

    def find(self, pattern: str) -> list[re.Match[str]]:
        rx = re.compile(pattern)
        return [m for line in self.lines if (m := rx.search(line))]


@dataclass
class SetResult:
    boot: BootResult
    domains: dict[str, DomainLog]
    manifest_errors: list[tuple[int, str]]

    def domain(self, name: str) -> DomainLog:
        return self.domains[name]

    def describe(self, name: str) -> str:
        d = self.domains[name]
        tail = "\n".join(d.lines[-25:])
        return (
            f"domain {name} (id {d.domid}): result {d.result}, shutdown {d.shutdown}, crash {d.crash}\n"
            f"--- its output ---\n{tail}\n--- end ---"
        )


def _quote(value: str) -> str:
    if value and all(c.isalnum() or c in "-_.,^=:/" for c in value):
        return value
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class DomainSet:
    """Domains to start together in one boot of Keel."""

    def __init__(
        self,
        backend: Backend,
        *,
        flavour: Flavour = "64",
        cpus: int = 2,
        memory_mib: int | None = None,
        cmdline: str = "",
        timeout: float | None = None,
    ) -> None:
        self.backend = backend
        self.flavour = flavour
        self.cpus = cpus
        self.memory_mib = memory_mib
        self.cmdline = cmdline
        self.timeout = timeout
        self.domains: list[DomainSpec] = []
        self.raw_lines: list[str] = []

    def add(self, name: str, image: str, **kw: object) -> DomainSpec:
        d = DomainSpec(name, image, **kw)  # type: ignore[arg-type]
        self.domains.append(d)
        return d

    def manifest_text(self) -> str:
        lines = ["# written by tests/guests/domains.py", "keel-manifest 1"]
        for d in self.domains:
            parts = [
                f"name={d.name}",
                f"kernel={image_path(d.image, self.flavour).name}",
                f"memory={d.memory}",
                f"vcpus={d.vcpus}",
                f"maxvcpus={d.maxvcpus or d.vcpus}",
                "on_poweroff=destroy",
                "on_reboot=destroy",
                "on_crash=destroy",
            ]
            if d.cmdline:
                parts.append(f"cmdline={_quote(d.cmdline)}")
            parts += [f"{k}={_quote(v)}" for k, v in d.extra.items()]
            lines.append("domain " + " ".join(parts))
        lines += self.raw_lines
        return "\n".join(lines) + "\n"

    def spec(self, workdir: Path) -> BootSpec:
        workdir.mkdir(parents=True, exist_ok=True)
        manifest = workdir / "manifest.txt"
        manifest.write_text(self.manifest_text())
        images = sorted({image_path(d.image, self.flavour) for d in self.domains})
        modules = [Module(manifest, "manifest")] + [Module(p, p.name) for p in images]
        mem = self.memory_mib or max(256, 64 + sum(d.memory for d in self.domains) + 16 * len(self.domains))
        base = QEMU_KERNEL if self.backend == "qemu" else BOCHS_ISO
        timeout = self.timeout
        return base.replace(
            cpus=self.cpus,
            memory_mib=mem,
            cmdline=self.cmdline,
            modules=tuple(modules),
            timeout=timeout,
            label=f"{self.backend}-{self.flavour}",
        )

    def boot(self, run_boot: RunBoot, workdir: Path) -> SetResult:
        result = run_boot(self.spec(workdir))
        return parse(result, [d.name for d in self.domains])


def parse(result: BootResult, names: Iterable[str]) -> SetResult:
    logs = {n: DomainLog(n) for n in names}
    by_id: dict[int, DomainLog] = {}
    errors: list[tuple[int, str]] = []
    for line in result.lines:
        text = line.text
        if m := _CREATED.match(text):
            log = logs.get(m.group(2))
            if log:
                log.domid = int(m.group(1))
                by_id[log.domid] = log
        elif m := _OUTPUT.match(text):
            log = by_id.get(int(m.group(1)))
            if log:
                log.lines.append(m.group(2))
                if r := _RESULT.match(m.group(2)):
                    log.result = r.group(1)
        elif m := _SHUTDOWN.match(text):
            log = by_id.get(int(m.group(1)))
            if log:
                log.shutdown = m.group(3)
        elif m := _CRASHED.match(text):
            log = by_id.get(int(m.group(1)))
            if log:
                log.crash = m.group(3)
        elif m := _MANIFEST_ERR.match(text):
            errors.append((int(m.group(1)), m.group(2)))
    return SetResult(result, logs, errors)


@dataclass(frozen=True)
class ManifestTest:
    name: str
    image: str
    vcpus: int
    memory: int
    cmdline: str
    extra_domains: tuple[dict[str, object], ...]
    timeout: float
    groups: tuple[str, ...]
    flavours: tuple[str, ...]
    expect: str

    def domain_names(self) -> list[str]:
        return [f"{self.name}-{i}" for i in range(1 + len(self.extra_domains))]

    def add_to(self, s: DomainSet) -> None:
        s.add(f"{self.name}-0", self.image, memory=self.memory, vcpus=self.vcpus, cmdline=self.cmdline)
        for i, extra in enumerate(self.extra_domains, start=1):
            s.add(
                f"{self.name}-{i}",
                str(extra["image"]),
                memory=int(str(extra.get("memory", 16))),
                vcpus=int(str(extra.get("vcpus", 1))),
                cmdline=str(extra.get("cmdline", "")),
            )


def load_manifest(path: Path = MANIFEST) -> list[ManifestTest]:
    """manifest.toml and every manifest.d/*.toml next to it."""
    data: dict[str, dict[str, object]] = {}
    for f in [path, *sorted(path.with_name("manifest.d").glob("*.toml"))]:
        for name, table in tomllib.loads(f.read_text()).items():
            if name in data:
                raise ValueError(f"{f}: test {name!r} is defined twice")
            data[name] = table
    tests = []
    for name, t in data.items():
        tests.append(
            ManifestTest(
                name=name,
                image=str(t["image"]),
                vcpus=int(str(t.get("vcpus", 1))),
                memory=int(str(t.get("memory", 16))),
                cmdline=str(t.get("cmdline", "")),
                extra_domains=tuple(t.get("extra_domains", [])),  # type: ignore[arg-type]
                timeout=float(str(t.get("timeout", 60))),
                groups=tuple(t.get("groups", [])),  # type: ignore[arg-type]
                flavours=tuple(t.get("flavours", ["64", "32"])),  # type: ignore[arg-type]
                expect=str(t.get("expect", "SUCCESS")),
            )
        )
    return tests
