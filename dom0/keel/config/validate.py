"""From parsed xl.cfg settings to a validated DomainConfig."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import keel_abi

from keel.config.devices import Disk, PciDevice, Vif, parse_disk, parse_pci, parse_vif
from keel.config.model import Action, DomainConfig, Pinning
from keel.config.syntax import ConfigFile, ListValue, NumValue, Setting, StrValue, kind, parse_file, parse_text
from keel.cpumap import CpuSet, CpuSpecError
from keel.errors import ConfigError, SourcePos

CMDLINE_MAX = 2047
T = TypeVar("T")
NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,63}")

# Every key Keel understands, with a one-line description (docs and `keel help`).
KEYS: dict[str, str] = {
    "name": "domain name: 1-63 of A-Z a-z 0-9 _ . - (not only digits)",
    "type": "domain type: pvh (pv and hvm are not supported yet)",
    "memory": "MiB of RAM at start (at least 4, a multiple of 2; default 32)",
    "maxmem": "MiB the domain may grow to (>= memory; default memory)",
    "vcpus": "vCPUs online at start (default 1)",
    "maxvcpus": f"maximum vCPUs (>= vcpus, at most {keel_abi.KEEL_MAX_VCPUS}; default vcpus)",
    "cpus": 'hard affinity: "all", "0-3,^1", or a list with one entry per vCPU',
    "cpu_weight": "credit scheduler weight 1-65535 (default 256)",
    "cap": "credit cap in percent of one CPU, 0 = none (default 0)",
    "kernel": "PVH ELF or Linux bzImage, relative to the config file",
    "ramdisk": "initial ramdisk, relative to the config file",
    "cmdline": "kernel command line",
    "root": "legacy: prepended to the command line as root=VALUE",
    "extra": "legacy: appended to the command line",
    "on_poweroff": "destroy, restart or preserve (default destroy)",
    "on_reboot": "destroy, restart or preserve (default restart)",
    "on_crash": "destroy, restart or preserve (default destroy)",
    "pci": "PCI passthrough devices (validated; not applied yet)",
    "vif": "network interfaces (validated; not applied yet)",
    "disk": "virtual disks (validated; not applied yet)",
}

# xl.cfg keys Keel recognises but does not implement: ignored with a warning.
XL_UNSUPPORTED = frozenset(
    (
        "acpi", "apic", "bootloader", "bootloader_args", "boot", "builder", "channel", "cpus_soft",
        "device_model_version", "device_tree", "dtdev", "e820_host", "firmware", "gfx_passthru", "hap", "iomem",
        "ioports", "irqs", "keymap", "localtime", "max_grant_frames", "max_maptrack_frames", "nestedhvm",
        "nographic", "on_soft_reset", "on_watchdog", "p9", "pae", "pool", "rdm", "rtc_timeoffset", "sdl",
        "seclabel", "serial", "shadow_memory", "soundhw", "spice", "stdvga", "tsc_mode", "usb", "usbctrl",
        "usbdev", "uuid", "vfb", "vga", "videoram", "viridian", "vkb", "vnc", "vtpm", "xen_platform_pci",
    )
)  # fmt: skip

_UNSUPPORTED_ACTIONS = ("rename-restart", "coredump-destroy", "coredump-restart", "soft-reset")


@dataclass(frozen=True)
class Diagnostic:
    pos: SourcePos | None
    message: str

    def __str__(self) -> str:
        return f"{self.pos}: {self.message}" if self.pos else self.message


class ConfigInvalid(ConfigError):
    """One or more settings are invalid; `problems` lists each with its position."""

    def __init__(self, problems: list[Diagnostic]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(first.pos, first.message)
        self.args = ("\n".join(str(p) for p in problems),)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class _Invalid(Exception):
    def __init__(self, pos: SourcePos | None, message: str) -> None:
        self.pos = pos
        self.message = message


def nearest_key(key: str) -> str:
    """The known key with the smallest edit distance (ties: alphabetical)."""
    return min(sorted(KEYS), key=lambda k: _distance(key.lower(), k))


def _distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


# -- typed getters ---------------------------------------------------------


def _int(s: Setting) -> int:
    v = s.value
    if isinstance(v, NumValue):
        return v.value
    if isinstance(v, StrValue):
        # xl stores every atom as a string and reads numbers with strtol(.., 0).
        text = v.text.strip()
        try:
            if re.fullmatch(r"0[0-7]+", text):
                return int(text, 8)
            return int(text, 0)
        except ValueError:
            pass
    raise _Invalid(v.pos, f"{s.key} must be a number, not {kind(v)}")


def _str(s: Setting) -> str:
    if isinstance(s.value, StrValue):
        return s.value.text
    if isinstance(s.value, NumValue):
        return s.value.source
    raise _Invalid(s.value.pos, f"{s.key} must be a string, not a list")


def _str_list(s: Setting) -> list[tuple[str, SourcePos]]:
    if not isinstance(s.value, ListValue):
        raise _Invalid(s.value.pos, f"{s.key} must be a list of strings, for example {s.key} = [ '...' ]")
    out = []
    for item in s.value.items:
        if not isinstance(item, StrValue):
            raise _Invalid(item.pos, f"each {s.key} entry must be a string, not {kind(item)}")
        out.append((item.text, item.pos))
    return out


def _bounded(s: Setting, lo: int, hi: int | None = None) -> int:
    n = _int(s)
    if n < lo or (hi is not None and n > hi):
        span = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
        raise _Invalid(s.value.pos, f"{s.key} must be {span}, not {n}")
    return n


# -- the validator ---------------------------------------------------------


class _Validator:
    def __init__(self, cfg: ConfigFile) -> None:
        self.cfg = cfg
        self.errors: list[Diagnostic] = []
        self.warnings: list[Diagnostic] = [Diagnostic(p, m) for p, m in cfg.warnings]
        self.base = Path(cfg.path).parent if not cfg.path.startswith("<") else Path(".")

    def get(self, key: str) -> Setting | None:
        return self.cfg.get(key)

    def check(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except _Invalid as e:
            self.errors.append(Diagnostic(e.pos, e.message))

    def field(self, key: str, conv: Callable[[Setting], T], default: T) -> T:
        s = self.get(key)
        if s is None:
            return default
        try:
            return conv(s)
        except _Invalid as e:
            self.errors.append(Diagnostic(e.pos, e.message))
            return default

    def path(self, s: Setting) -> Path:
        text = _str(s)
        if not text:
            raise _Invalid(s.value.pos, f"{s.key} is empty")
        p = Path(text)
        return p if p.is_absolute() else Path(os.path.normpath(self.base / p))

    def run(self) -> DomainConfig:
        for key, s in self.cfg.settings.items():
            if key in KEYS:
                continue
            if key in XL_UNSUPPORTED:
                self.warnings.append(Diagnostic(s.pos, f"'{key}' is an xl setting Keel does not support yet; ignored"))
            else:
                self.warnings.append(
                    Diagnostic(s.pos, f"unknown key '{key}' ignored (nearest known key: '{nearest_key(key)}')")
                )

        name = self.field("name", self.name, "")
        dtype = self.field("type", self.dtype, "pvh")
        memory = self.field("memory", self.memory, 32)
        maxmem = self.field("maxmem", lambda s: _bounded(s, 4), memory)
        vcpus = self.field("vcpus", lambda s: _bounded(s, 1, keel_abi.KEEL_MAX_VCPUS), 1)
        maxvcpus = self.field("maxvcpus", lambda s: _bounded(s, 1, keel_abi.KEEL_MAX_VCPUS), vcpus)
        self.conflicts(memory, maxmem, vcpus, maxvcpus)
        cpus = self.field("cpus", lambda s: self.pinning(s, maxvcpus), Pinning())
        weight = self.field("cpu_weight", lambda s: _bounded(s, 1, 65535), 256)
        cap = self.field("cap", lambda s: _bounded(s, 0, 100 * maxvcpus), 0)
        kernel = self.field("kernel", self.path, Path())
        ramdisk = self.field("ramdisk", self.path, None)
        cmdline = self.cmdline()
        actions = {k: self.field(k, self.action, d) for k, d in _ACTION_DEFAULTS.items()}
        pci: tuple[PciDevice, ...] = self.field("pci", lambda s: tuple(self.devices(s, parse_pci)), ())
        vif: tuple[Vif, ...] = self.field("vif", lambda s: tuple(self.devices(s, parse_vif)), ())
        disk: tuple[Disk, ...] = self.field("disk", lambda s: tuple(self.devices(s, parse_disk)), ())
        if self.get("name") is None:
            self.errors.append(Diagnostic(SourcePos(self.cfg.path, 1, 1), "name is required"))
        if self.get("kernel") is None:
            self.errors.append(Diagnostic(SourcePos(self.cfg.path, 1, 1), "kernel is required"))
        self.warnings.sort(key=_order)
        if self.errors:
            raise ConfigInvalid(sorted(self.errors, key=_order))
        return DomainConfig(
            name=name,
            kernel=kernel,
            memory=memory,
            maxmem=maxmem,
            vcpus=vcpus,
            maxvcpus=maxvcpus,
            type=dtype,
            cpus=cpus,
            cpu_weight=weight,
            cap=cap,
            ramdisk=ramdisk,
            cmdline=cmdline,
            on_poweroff=actions["on_poweroff"],
            on_reboot=actions["on_reboot"],
            on_crash=actions["on_crash"],
            pci=pci,
            vif=vif,
            disk=disk,
            source=None if self.cfg.path.startswith("<") else Path(self.cfg.path),
        )

    @staticmethod
    def name(s: Setting) -> str:
        name = _str(s)
        if not NAME_RE.fullmatch(name):
            raise _Invalid(s.value.pos, f"invalid name '{name}': use 1-63 characters from A-Z a-z 0-9 _ . -")
        if name.isdigit():
            raise _Invalid(s.value.pos, f"invalid name '{name}': a name of only digits reads as a domain id")
        return name

    @staticmethod
    def dtype(s: Setting) -> str:
        t = _str(s)
        if t in ("pv", "hvm"):
            raise _Invalid(s.value.pos, f"type '{t}' is not supported yet: Keel runs PVH domains (type = \"pvh\")")
        if t != "pvh":
            raise _Invalid(s.value.pos, f"unknown type '{t}' (xl types are pv, pvh and hvm; Keel supports pvh)")
        return t

    @staticmethod
    def memory(s: Setting) -> int:
        n = _bounded(s, 4)
        if n % 2:
            raise _Invalid(s.value.pos, f"memory must be a multiple of 2 MiB, not {n}")
        return n

    def conflicts(self, memory: int, maxmem: int, vcpus: int, maxvcpus: int) -> None:
        if maxmem < memory and (s := self.get("maxmem")) is not None:
            self.errors.append(Diagnostic(s.value.pos, f"maxmem ({maxmem}) is less than memory ({memory})"))
        if vcpus > maxvcpus and (s := self.get("maxvcpus")) is not None:
            self.errors.append(Diagnostic(s.value.pos, f"maxvcpus ({maxvcpus}) is less than vcpus ({vcpus})"))

    @staticmethod
    def pinning(s: Setting, maxvcpus: int) -> Pinning:
        def one(text: str, pos: SourcePos) -> CpuSet:
            try:
                return CpuSet.parse(text)
            except CpuSpecError as e:
                raise _Invalid(pos, f"cpus: {e}") from None

        v = s.value
        if isinstance(v, ListValue):
            items: list[CpuSet] = []
            for item in v.items:
                if isinstance(item, ListValue):
                    raise _Invalid(item.pos, 'each cpus entry must be a string such as "0-3"')
                text = str(item.value) if isinstance(item, NumValue) else item.text
                items.append(one(text, item.pos))
            if len(items) > maxvcpus:
                raise _Invalid(v.pos, f"cpus lists {len(items)} vCPUs but maxvcpus is {maxvcpus}")
            return Pinning(CpuSet.all(), tuple(items))
        return Pinning(one(_str(s), v.pos))

    def cmdline(self) -> str:
        cmd, root, extra = self.get("cmdline"), self.get("root"), self.get("extra")
        if cmd is not None:
            for s in (root, extra):
                if s is not None:
                    self.warnings.append(Diagnostic(s.pos, f"'{s.key}' ignored because cmdline is set"))
            text = self.field("cmdline", _str, "")
            pos: SourcePos | None = cmd.value.pos
        else:
            parts = []
            if root is not None:
                parts.append("root=" + self.field("root", _str, ""))
            if extra is not None:
                parts.append(self.field("extra", _str, ""))
            text = " ".join(p for p in parts if p)
            given = root or extra
            pos = given.value.pos if given is not None else None
        if len(text.encode()) > CMDLINE_MAX:
            self.errors.append(
                Diagnostic(pos, f"the command line is {len(text.encode())} bytes; at most {CMDLINE_MAX}")
            )
        if "\0" in text:
            self.errors.append(Diagnostic(pos, "the command line contains a NUL character"))
        return text

    @staticmethod
    def action(s: Setting) -> Action:
        text = _str(s)
        if text in _UNSUPPORTED_ACTIONS:
            raise _Invalid(s.value.pos, f"{s.key} = '{text}' is not supported yet (use destroy, restart or preserve)")
        try:
            return Action(text)
        except ValueError:
            raise _Invalid(s.value.pos, f"{s.key} must be destroy, restart or preserve, not '{text}'") from None

    def devices(self, s: Setting, parse: Callable[[str], T]) -> list[T]:
        out = []
        for text, pos in _str_list(s):
            try:
                out.append(parse(text))
            except ValueError as e:
                self.errors.append(Diagnostic(pos, f"{s.key}: {e}"))
        if out:
            what = {"pci": "PCI passthrough", "vif": "network devices", "disk": "virtual disks"}[s.key]
            self.warnings.append(
                Diagnostic(
                    s.pos,
                    f"{s.key}: {len(out)} device(s) validated but not attached: {what} are not implemented yet",
                )
            )
        return out


def _order(d: Diagnostic) -> tuple[str, int, int]:
    return (d.pos.path, d.pos.line, d.pos.col) if d.pos else ("", 0, 0)


_ACTION_DEFAULTS = {"on_poweroff": Action.DESTROY, "on_reboot": Action.RESTART, "on_crash": Action.DESTROY}


@dataclass(frozen=True)
class LoadedConfig:
    config: DomainConfig
    warnings: list[Diagnostic]
    file: ConfigFile


def validate(cfg: ConfigFile) -> LoadedConfig:
    v = _Validator(cfg)
    config = v.run()
    return LoadedConfig(config, v.warnings, cfg)


def load(path: Path, overrides: Sequence[str] = ()) -> LoadedConfig:
    """Parse and validate a config file; overrides are extra `KEY=VALUE` lines (as `xl create`)."""
    cfg = parse_file(path)
    for line in overrides:
        parse_text(line + "\n", "<command line>", into=cfg)
    return validate(cfg)
