"""The benchmark suite: boots under QEMU (-icount, AMD-V) and Bochs (VT-x),
where the guest's TSC counts instructions, and collects figures.

Each figure has a name, a unit and a value per backend.  Exit-path figures
are instructions per round trip with the guest's empty loop subtracted;
domain figures come from the hypervisor's own log lines (TSC ticks, which
are instructions under both emulators); footprint figures from the image
and the log.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.guests.domains import DomainSet, parse
from tests.harness import BOCHS_ISO, HV_ELF, QEMU_KERNEL, BootResult, BootSpec, Module, boot

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "bench" / "baseline.json"
RESULTS = ROOT / "build" / "bench"

BACKENDS = ("qemu", "bochs")  # AMD-V under QEMU TCG, VT-x under Bochs

# Reference figures (Xen 4.17, PVH dom0, same emulators, same counting) and
# the bare minimal exit loop, from the benchmark issue.
REFERENCE: dict[str, dict[str, float]] = {
    "cpuid": {"qemu": 5800, "bochs": 875},
    "hypercall_null": {"qemu": 5920, "bochs": 870},
    "io_e9_read": {"qemu": 1260, "bochs": 1420},
    "io_unhandled_read": {"qemu": 960, "bochs": 1130},
}
MINIMAL_EXIT = {"qemu": 75, "bochs": 110}
GOALS = {"cpuid": 250, "hypercall_null": 250, "io_e9_read": 250, "io_unhandled_read": 250}
EXIT_FIGURES = ("hypercall_null", "cpuid", "io_e9_read", "io_unhandled_read", "msr_read")


@dataclass
class Figure:
    name: str
    unit: str
    kind: str  # "exit", "domain", "footprint"
    values: dict[str, float] = field(default_factory=dict)


class Suite:
    def __init__(self, backends: tuple[str, ...] = BACKENDS, quick: bool = False, workdir: Path | None = None) -> None:
        self.backends = backends
        self.quick = quick
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="keel-bench-"))
        self.figures: dict[str, Figure] = {}
        self.log: Callable[[str], None] = print

    def put(self, name: str, unit: str, kind: str, backend: str, value: float) -> None:
        self.figures.setdefault(name, Figure(name, unit, kind)).values[backend] = value

    # --- boots ------------------------------------------------------------

    def _base(self, backend: str, cpus: int = 1, memory: int = 512) -> BootSpec:
        spec = QEMU_KERNEL.replace(icount=True) if backend == "qemu" else BOCHS_ISO
        return spec.replace(cpus=cpus, memory_mib=memory, timeout=600 if backend == "bochs" else 180)

    def _domains(self, backend: str, s: DomainSet, name: str) -> BootResult:
        spec = s.spec(self.workdir / f"{backend}-{name}")
        base = self._base(backend, s.cpus, spec.memory_mib)
        r = boot(base.replace(modules=spec.modules, cmdline=s.cmdline, label=f"bench-{name}"), self.workdir)
        r.require_clean_poweroff()
        return r

    def exits(self, backend: str) -> None:
        s = DomainSet(backend=backend, cpus=1)  # type: ignore[arg-type]
        s.add("exits", "bench_exits", memory=16, cmdline=f"iters={200 if self.quick else 2000}")
        r = self._domains(backend, s, "exits")
        res = parse(r, ["exits"]).domain("exits")
        assert res.result == "SUCCESS", res.text()
        values: dict[str, list[int]] = {}
        for m in res.find(r"^BENCH (\w+) (\d+)$"):
            values.setdefault(m.group(1), []).append(int(m.group(2)))
        for name, vs in values.items():
            if name == "empty_loop":
                continue
            # The last pass is the warm one.
            self.put(name, "instructions", "exit", backend, vs[-1])

    def pingpong(self, backend: str) -> None:
        iters = 50 if self.quick else 500
        s = DomainSet(backend=backend, cpus=1)  # type: ignore[arg-type]
        s.add("pong", "bench_pingpong", memory=16, cmdline=f"role=pong peer=2 iters={iters} yields={iters}")
        s.add("ping", "bench_pingpong", memory=16, cmdline=f"role=ping peer=1 iters={iters} yields={iters}")
        r = self._domains(backend, s, "pingpong")
        res = parse(r, ["pong", "ping"])
        for n in ("pong", "ping"):
            assert res.domain(n).result == "SUCCESS", res.describe(n)
        for m in res.domain("ping").find(r"^BENCH (\w+) (\d+)$"):
            self.put(m.group(1), "instructions", "exit", backend, int(m.group(2)))

    _FIRST = re.compile(
        r"^Domain \d+ \((\w+)\): first entry (\d+) TSC ticks after creation, \d+ after boot; hypervisor memory"
        r" (\d+) KiB \+ (\d+) KiB page tables for (\d+) MiB"
    )
    _DESTROYED = re.compile(r"^Domain \d+ \((\w+)\) destroyed in (\d+) TSC ticks")

    def _one_domain(self, backend: str, name: str, mib: int, maxvcpus: int = 1) -> tuple[int, int, int, int | None]:
        """Boot Keel with a single domain: (create-to-first-entry ticks,
        hypervisor KiB, page-table KiB, destroy ticks)."""
        s = DomainSet(backend=backend, cpus=1, memory_mib=mib + 128)  # type: ignore[arg-type]
        s.add(name, "hello", memory=mib, vcpus=1, maxvcpus=maxvcpus)
        r = self._domains(backend, s, name)
        first = destroy = None
        for line in r.lines:
            if m := self._FIRST.match(line.text):
                first = (int(m.group(2)), int(m.group(3)), int(m.group(4)))
            elif m := self._DESTROYED.match(line.text):
                destroy = int(m.group(2))
        assert first, f"no first-entry line for {name}"
        return (*first, destroy)

    def domain_ops(self, backend: str) -> None:
        """Each figure from a boot with that one domain, so nothing else
        runs between its creation and its first instruction."""
        sizes = [16] if self.quick else [16, 256, 1024]
        for mib in sizes:
            ticks, kib, pt_kib, destroy = self._one_domain(backend, f"d{mib}", mib)
            self.put(f"domain_create_to_first_insn_{mib}m", "instructions", "domain", backend, ticks)
            if destroy is not None:
                self.put(f"domain_destroy_{mib}m", "instructions", "domain", backend, destroy)
            if mib == 16:
                self.put("hv_memory_per_domain", "KiB", "footprint", backend, kib)
                base_kib = kib
            if mib == 1024:
                self.put("page_table_bytes_per_gib", "bytes", "footprint", backend, pt_kib * 1024)
        if not self.quick:
            _, kib2, _, _ = self._one_domain(backend, "two", 16, maxvcpus=2)
            self.put("hv_memory_per_extra_vcpu", "KiB", "footprint", backend, kib2 - base_kib)

    def boot_figures(self, backend: str) -> None:
        cpus = 4 if backend == "qemu" else 2
        spec = self._base(backend, cpus=cpus, memory=512).replace(
            modules=(Module(ROOT / "build" / "guests" / "hello.elf", "hello.elf"),),
            cmdline="dom0_mem=16M",
            label="bench-boot",
        )
        r = boot(spec, self.workdir)
        r.require_clean_poweroff()
        online = int(r.require(r"^Boot: all CPUs online (\d+) TSC ticks after entry").group(1))
        dom0_rx = r"^Domain 0 \(Domain-0\): first entry \d+ TSC ticks after creation, (\d+) after boot"
        dom0 = int(r.require(dom0_rx).group(1))
        self.put(f"entry_to_all_cpus_online_{cpus}cpu", "instructions", "domain", backend, online)
        self.put("entry_to_dom0_first_insn", "instructions", "domain", backend, dom0)

    def tiny_domains(self, backend: str) -> None:
        """As many 1 MiB domains as fit on a 2 GiB host, each running to its end."""
        n = 2100
        s = DomainSet(backend=backend, cpus=2, memory_mib=2048)  # type: ignore[arg-type]
        for i in range(n):
            s.add(f"t{i}", "hello", memory=1)
        r = self._domains(backend, s, "tiny")
        res = parse(r, [f"t{i}" for i in range(n)])
        ran = sum(1 for d in res.domains.values() if d.result == "SUCCESS")
        started = int(r.require(r"^Boot manifest: (\d+) domains started").group(1))
        assert ran == started, (ran, started)
        self.put("max_1mib_domains_on_2gib", "domains", "footprint", backend, ran)

    def footprint(self) -> None:
        out = subprocess.run(["size", "-A", str(HV_ELF)], capture_output=True, text=True, check=True).stdout
        sizes: dict[str, int] = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith(".") and parts[1].isdigit():
                sizes[parts[0]] = int(parts[1])
        text = sizes.get(".text", 0) + sizes.get(".boot", 0)
        data = sum(v for k, v in sizes.items() if k in (".rodata", ".data", ".kparams", "__ex_table"))
        for b in self.backends:
            self.put("image_text_bytes", "bytes", "footprint", b, text)
            self.put("image_data_bytes", "bytes", "footprint", b, data)
            self.put("image_bss_bytes", "bytes", "footprint", b, sizes.get(".bss", 0))

    def run(self) -> dict[str, Figure]:
        self.footprint()
        for b in self.backends:
            self.log(f"bench: {b}: exit paths")
            self.exits(b)
            self.log(f"bench: {b}: event channels and yield")
            self.pingpong(b)
            self.log(f"bench: {b}: domain operations")
            self.domain_ops(b)
            if not self.quick:
                self.log(f"bench: {b}: boot")
                self.boot_figures(b)
                if b == "qemu":
                    self.log(f"bench: {b}: 1 MiB domains on a 2 GiB host")
                    self.tiny_domains(b)
        return self.figures


# --- Reporting ----------------------------------------------------------------


def to_json(figures: dict[str, Figure]) -> dict[str, object]:
    return {"figures": {n: asdict(f) for n, f in sorted(figures.items())}}


def load(path: Path) -> dict[str, Figure]:
    if not path.exists():
        return {}
    data = json.loads(path.read_text())
    return {n: Figure(**f) for n, f in data["figures"].items()}


def regressions(current: dict[str, Figure], baseline: dict[str, Figure], limit: float = 0.05) -> list[str]:
    """Exit paths more than 5 % slower than the baseline."""
    out = []
    for name, f in current.items():
        if f.kind != "exit" or name not in baseline:
            continue
        for backend, value in f.values.items():
            old = baseline[name].values.get(backend)
            if old and value > old * (1 + limit):
                out.append(f"{name} on {backend}: {value:.0f} vs baseline {old:.0f} (+{(value / old - 1) * 100:.1f} %)")
    return out


def table(current: dict[str, Figure], baseline: dict[str, Figure], backends: tuple[str, ...] = BACKENDS) -> str:
    label = {"qemu": "AMD-V (QEMU)", "bochs": "VT-x (Bochs)"}
    head = f"{'figure':40} {'unit':12}"
    for b in backends:
        head += f" {label[b]:>14} {'baseline':>9} {'Xen 4.17':>9}"
    lines = [head, "-" * len(head)]
    for name in sorted(current, key=lambda n: (current[n].kind, n)):
        f = current[name]
        row = f"{name:40} {f.unit:12}"
        for b in backends:
            v = f.values.get(b)
            base = baseline.get(name, Figure(name, f.unit, f.kind)).values.get(b)
            ref = REFERENCE.get(name, {}).get(b)
            row += f" {'' if v is None else f'{v:,.0f}':>14} {'' if base is None else f'{base:,.0f}':>9}"
            row += f" {'' if ref is None else f'{ref:,.0f}':>9}"
        lines.append(row)
    lines.append("")
    lines.append(
        "Reference: a bare exit loop with no dispatch costs about "
        + ", ".join(f"{v} instructions on {label[b]}" for b, v in MINIMAL_EXIT.items())
        + ". Goals: null hypercall, CPUID and I/O exits at most 250 instructions on both backends."
    )
    return "\n".join(lines)
