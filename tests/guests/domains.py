"""Running sets of guest domains under Keel: build the boot manifest and the
modules, boot under QEMU (AMD-V) or Bochs (VT-x), and split the console into
per-domain logs and results.

    run = DomainSet(backend="qemu", flavour="64")
    run.add("hello-0", "hello", memory=16, cmdline="x=1")
    result = run.boot(run_boot)           # one boot, every domain at once
    result.domain("hello-0").result       # "SUCCESS", or None if it never said

Domains are listed in a boot manifest (docs/boot-manifest.md) with no control
domain, so Keel powers off once the last one is gone.

Also here: Dom0Boot (a control domain booted without a manifest, Xen's rule:
first module = dom0 kernel, second = its ramdisk) and shared_boot() (one boot
whose result several tests read, run once per session even across
pytest-xdist workers).
"""

from __future__ import annotations

import fcntl
import os
import pickle
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tests.harness import BOCHS_ISO, BUILD_DIR, QEMU_KERNEL, BootResult, BootSpec, Module

GUESTS = BUILD_DIR / "guests"
MANIFEST = Path(__file__).with_name("manifest.toml")

Backend = Literal["qemu", "bochs"]
Flavour = Literal["64", "32"]
RunBoot = Callable[[BootSpec], BootResult]

_CREATED = re.compile(r"^Domain (\d+) \(([^)]+)\): \d+ MiB")
_CREATED_BY = re.compile(r"^Domain (\d+) \(([^)]+)\) created by domain \d+")
_EXITS = re.compile(r"^Domain (\d+) exits:(.*)$")
_RESTARTED = re.compile(r"^Domain '([^']+)' restarted as domain (\d+)")
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
    # (hypervisor timestamp, text) of each output line; the time is None when
    # the line had no timestamp
    timed: list[tuple[float | None, str]] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)  # every id it had (restarts give new ones)
    crash_time: float | None = None
    exits: dict[int, dict[str, int]] = field(default_factory=dict)  # per id: "Domain N exits:" at destroy
    restarts: int = 0

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
        self.raw_lines: list[str] = []  # more manifest lines, as written (bad ones, for instance)
        self.extra_modules: list[Path] = []  # more modules for raw_lines to name

    def add(self, name: str, image: str, **kw: object) -> DomainSpec:
        d = DomainSpec(name, image, **kw)  # type: ignore[arg-type]
        self.domains.append(d)
        return d

    def manifest_text(self) -> str:
        lines = ["# written by tests/guests/domains.py", "keel-manifest 1"]
        for d in self.domains:
            keys = {
                "name": d.name,
                "kernel": image_path(d.image, self.flavour).name,
                "memory": str(d.memory),
                "vcpus": str(d.vcpus),
                "maxvcpus": str(d.maxvcpus or d.vcpus),
                "on_poweroff": "destroy",
                "on_reboot": "destroy",
                "on_crash": "destroy",
            }
            if d.cmdline:
                keys["cmdline"] = d.cmdline
            keys.update(d.extra)  # extra keys win over the defaults above
            lines.append("domain " + " ".join(f"{k}={_quote(v)}" for k, v in keys.items()))
        lines += self.raw_lines
        return "\n".join(lines) + "\n"

    def raw_line_numbers(self) -> list[int]:
        """The manifest line number of each of raw_lines."""
        first = 3 + len(self.domains)  # a comment, the magic line, then one line per domain
        return list(range(first, first + len(self.raw_lines)))

    def spec(self, workdir: Path) -> BootSpec:
        workdir.mkdir(parents=True, exist_ok=True)
        manifest = workdir / "manifest.txt"
        manifest.write_text(self.manifest_text())
        images = sorted({image_path(d.image, self.flavour) for d in self.domains} | set(self.extra_modules))
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


def parse_exits(text: str) -> dict[str, int]:
    """ " NAME COUNT NAME COUNT ..." (the tail of a "Domain N exits:" line) as a dict."""
    words = text.split()
    return {words[i]: int(words[i + 1]) for i in range(0, len(words) - 1, 2)}


def parse(result: BootResult, names: Iterable[str]) -> SetResult:
    """Split the console into per-domain logs.  Domains are found by name in
    the hypervisor's creation lines (built at boot, or created through
    domctl); a restarted domain keeps its log under its new id."""
    logs = {n: DomainLog(n) for n in names}
    by_id: dict[int, DomainLog] = {}
    errors: list[tuple[int, str]] = []
    for line in result.lines:
        text = line.text
        if (m := _CREATED.match(text)) or (m := _CREATED_BY.match(text)):
            log = logs.get(m.group(2))
            if log:
                log.domid = int(m.group(1))
                if log.domid not in log.ids:
                    log.ids.append(log.domid)
                by_id[log.domid] = log
        elif m := _OUTPUT.match(text):
            log = by_id.get(int(m.group(1)))
            if log:
                log.lines.append(m.group(2))
                log.timed.append((line.time, m.group(2)))
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
                log.crash_time = line.time
        elif m := _EXITS.match(text):
            log = by_id.get(int(m.group(1)))
            if log:
                log.exits[int(m.group(1))] = parse_exits(m.group(2))
        elif m := _RESTARTED.match(text):
            log = logs.get(m.group(1))
            if log:
                log.restarts += 1
        elif m := _MANIFEST_ERR.match(text):
            errors.append((int(m.group(1)), m.group(2)))
    return SetResult(result, logs, errors)


# --- A control domain without a manifest -------------------------------------


@dataclass
class Dom0Boot:
    """Keel with no manifest: the first module is the control domain's kernel
    (its string is dom0's command line), the second its ramdisk (Keel passes
    it in hvm_start_info's module list).  dom0_mem= keeps dom0 small."""

    backend: Backend
    kernel: str  # image name: build/guests/<kernel>.elf (or -32.elf)
    ramdisk: str | None = None  # image name, or None for no ramdisk
    flavour: Flavour = "64"
    ramdisk_flavour: Flavour | None = None  # default: the kernel's
    cmdline: str = ""  # dom0's command line
    dom0_mem: int = 32  # MiB
    cpus: int = 4
    memory_mib: int = 256
    hv_cmdline: str = ""  # more hypervisor options
    timeout: float | None = None

    def spec(self) -> BootSpec:
        modules = [Module(image_path(self.kernel, self.flavour), self.cmdline)]
        if self.ramdisk:
            rd = image_path(self.ramdisk, self.ramdisk_flavour or self.flavour)
            modules.append(Module(rd, rd.name))
        base = QEMU_KERNEL if self.backend == "qemu" else BOCHS_ISO
        return base.replace(
            cpus=self.cpus,
            memory_mib=self.memory_mib,
            cmdline=" ".join(x for x in (f"dom0_mem={self.dom0_mem}M", self.hv_cmdline) if x),
            modules=tuple(modules),
            timeout=self.timeout,
            label=f"{self.backend}-dom0-{self.kernel}",
        )

    def boot(self, run_boot: RunBoot, names: Iterable[str] = ("Domain-0",)) -> SetResult:
        """Boot; the result has a log for dom0 ("Domain-0") and for each of names."""
        return parse(run_boot(self.spec()), ["Domain-0", *[n for n in names if n != "Domain-0"]])


# --- Boots shared by several tests -------------------------------------------

# kind -> make(backend, workdir): a boot that several tests read.  A test
# reads one through a fixture named "<kind>_run" parametrized by "backend".
_SHARED_MAKERS: dict[str, Callable[[str, Path], Any]] = {}


def register_shared_boot(kind: str, make: Callable[[str, Path], Any]) -> None:
    """Declare a shared boot: make(backend, workdir) runs it and returns a
    picklable result (a SetResult, for instance)."""
    _SHARED_MAKERS[kind] = make


def _shared_root(request: Any) -> Path:
    factory = request.getfixturevalue("tmp_path_factory")
    base = Path(factory.getbasetemp())
    # Under pytest-xdist each worker has its own basetemp below a common one.
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "keel-shared-boots"
    root.mkdir(parents=True, exist_ok=True)
    return root


def _needed(request: Any) -> list[tuple[str, str]]:
    """The shared boots the selected tests of this session read, in order."""
    out: list[tuple[str, str]] = []
    for item in request.session.items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        for kind in _SHARED_MAKERS:
            key = (kind, str(params.get("backend")))
            if f"{kind}_run" in getattr(item, "fixturenames", ()) and "backend" in params and key not in out:
                out.append(key)
    return out


def _run_locked(root: Path, kind: str, backend: str, blocking: bool) -> bool:
    """Run the boot unless done or (non-blocking) someone else is running it.
    True once its result file exists."""
    result = root / f"{kind}-{backend}.pickle"
    with open(root / f"{kind}-{backend}.lock", "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
        except BlockingIOError:
            return False
        if not result.exists():
            try:
                value: tuple[str, Any] = ("ok", _SHARED_MAKERS[kind](backend, root / f"{kind}-{backend}"))
            except Exception as e:  # reported to every test that reads it
                value = ("error", f"{type(e).__name__}: {e}")
            tmp = result.with_suffix(".tmp")
            tmp.write_bytes(pickle.dumps(value))
            tmp.rename(result)
        return True


def shared_boot(request: Any, kind: str, backend: str) -> Any:
    """The result of the shared boot (kind, backend), run once per session.
    While another xdist worker runs it, this one runs another boot the
    session needs instead of waiting idle."""
    root = _shared_root(request)
    result = root / f"{kind}-{backend}.pickle"
    if not result.exists() and not _run_locked(root, kind, backend, blocking=False):
        for other_kind, other_backend in _needed(request):
            if not (root / f"{other_kind}-{other_backend}.pickle").exists():
                _run_locked(root, other_kind, other_backend, blocking=False)
            if result.exists():
                break
        _run_locked(root, kind, backend, blocking=True)
    status, value = pickle.loads(result.read_bytes())
    if status != "ok":
        raise AssertionError(f"the shared boot {kind}-{backend} failed: {value}")
    return value


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
