"""Device specifications in xl syntax: pci, vif and disk list items.

They are parsed and validated so that existing xl.cfg files are checked now;
attaching the devices needs PCI passthrough and split drivers, which Keel does
not have yet. Each parser raises ValueError with a message; the caller adds
the file position."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# -- pci ---------------------------------------------------------------------

_BDF = re.compile(r"(?:(?P<seg>[0-9a-fA-F]{1,4}):)?(?P<bus>[0-9a-fA-F]{1,2}):(?P<dev>[0-9a-fA-F]{1,2})\.(?P<fn>[0-7*])")
_PCI_BOOL_KEYS = ("permissive", "msitranslate", "seize", "power_mgmt")
_PCI_KEYS = (*_PCI_BOOL_KEYS, "rdm_policy", "vslot", "name")


@dataclass(frozen=True)
class PciDevice:
    seg: int
    bus: int
    dev: int
    func: int | None  # None: every function ("BB:DD.*")
    vslot: int | None = None
    options: tuple[tuple[str, str], ...] = ()

    @property
    def bdf(self) -> str:
        fn = "*" if self.func is None else str(self.func)
        return f"{self.seg:04x}:{self.bus:02x}:{self.dev:02x}.{fn}"


def parse_pci(spec: str) -> PciDevice:
    """`[DDDD:]BB:DD.F[@VSLOT][,KEY=VALUE...]` (xl-pci-configuration)."""
    head, *opts = [p.strip() for p in spec.split(",")]
    vslot: int | None = None
    if "@" in head:
        head, slot = head.split("@", 1)
        try:
            vslot = int(slot, 16)
        except ValueError:
            raise ValueError(f"invalid virtual slot '@{slot}' (a hexadecimal number)") from None
        if vslot > 0x1F:
            raise ValueError(f"virtual slot {vslot:#x} is out of range (0-0x1f)")
    m = _BDF.fullmatch(head)
    if not m:
        raise ValueError(f"'{head}' is not a PCI address [DDDD:]BB:DD.F")
    dev = int(m["dev"], 16)
    if dev > 0x1F:
        raise ValueError(f"PCI device number {dev:#x} is out of range (0-0x1f)")
    options: list[tuple[str, str]] = []
    for opt in opts:
        key, sep, value = opt.partition("=")
        if not sep:
            raise ValueError(f"'{opt}' is not KEY=VALUE")
        if key not in _PCI_KEYS:
            raise ValueError(f"unknown pci option '{key}' (known: {', '.join(_PCI_KEYS)})")
        if key in _PCI_BOOL_KEYS and value not in ("0", "1"):
            raise ValueError(f"pci option {key} takes 0 or 1, not '{value}'")
        if key == "rdm_policy" and value not in ("strict", "relaxed"):
            raise ValueError(f"rdm_policy is 'strict' or 'relaxed', not '{value}'")
        if key == "vslot":
            try:
                vslot = int(value, 0)
            except ValueError:
                raise ValueError(f"invalid vslot '{value}'") from None
        options.append((key, value))
    func = None if m["fn"] == "*" else int(m["fn"])
    return PciDevice(int(m["seg"] or "0", 16), int(m["bus"], 16), dev, func, vslot, tuple(options))


# -- vif ---------------------------------------------------------------------

_MAC = re.compile(r"[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}")
_RATE = re.compile(r"\d+(?:\.\d+)?[KMGT]?[bB]/s(?:@\d+[mu]?s)?")
_VIF_KEYS = ("mac", "bridge", "ip", "type", "model", "vifname", "script", "backend", "rate", "mtu", "gatewayip")


@dataclass(frozen=True)
class Vif:
    options: tuple[tuple[str, str], ...] = ()

    def get(self, key: str) -> str | None:
        return dict(self.options).get(key)


def parse_vif(spec: str) -> Vif:
    """`KEY=VALUE,...` with the keys of xl-network-configuration."""
    options: list[tuple[str, str]] = []
    for opt in (p.strip() for p in spec.split(",")):
        if not opt:
            continue
        key, sep, value = opt.partition("=")
        if not sep:
            raise ValueError(f"'{opt}' is not KEY=VALUE")
        if key not in _VIF_KEYS:
            raise ValueError(f"unknown vif option '{key}' (known: {', '.join(_VIF_KEYS)})")
        if key == "mac":
            if not _MAC.fullmatch(value):
                raise ValueError(f"invalid MAC address '{value}' (six hex pairs separated by ':')")
            if int(value[:2], 16) & 1:
                raise ValueError(f"MAC address '{value}' is a multicast address")
        elif key == "type" and value not in ("vif", "ioemu"):
            raise ValueError(f"vif type is 'vif' or 'ioemu', not '{value}'")
        elif key == "rate" and not _RATE.fullmatch(value):
            raise ValueError(f"invalid rate '{value}' (for example 10Mb/s or 1MB/s@20ms)")
        elif key == "mtu" and not (value.isdigit() and 68 <= int(value) <= 65535):
            raise ValueError(f"mtu must be a number from 68 to 65535, not '{value}'")
        options.append((key, value))
    return Vif(tuple(options))


# -- disk --------------------------------------------------------------------

_FORMATS = ("raw", "qcow", "qcow2", "vhd", "qed", "empty")
_ACCESS = {"r": "ro", "ro": "ro", "w": "rw", "rw": "rw"}
_VDEV = re.compile(r"(?:xvd|hd|sd)[a-z]+\d*|d\d+(?:p\d+)?")
_DISK_KEYS = ("target", "format", "vdev", "access", "devtype", "backend", "backendtype", "script")
_DISK_FLAGS = ("cdrom", "direct-io-safe", "discard", "no-discard", "colo", "trusted", "untrusted")
_DEPRECATED_PREFIXES = ("phy:", "file:", "tap:aio:", "tap:qcow:", "tap:qcow2:", "tap:vhd:", "aio:", "qcow:", "qcow2:")


@dataclass(frozen=True)
class Disk:
    vdev: str
    target: str = ""
    format: str = "raw"
    access: str = "rw"
    cdrom: bool = False
    options: tuple[tuple[str, str], ...] = field(default=())


def parse_disk(spec: str) -> Disk:
    """xl-disk-configuration: `[target,[format,]]vdev[,access]` positionally, or KEY=VALUE."""
    values: dict[str, str] = {}
    options: list[tuple[str, str]] = []
    positional: list[str] = []
    cdrom = False
    rest = spec
    while rest:
        item, _, rest = rest.partition(",")
        item = item.strip()
        key, sep, value = item.partition("=")
        if sep and key == "target":
            # target= swallows the rest of the string, commas included.
            values["target"] = (value + ("," + rest if rest else "")).strip()
            break
        if sep:
            if key not in _DISK_KEYS:
                raise ValueError(f"unknown disk option '{key}' (known: {', '.join(_DISK_KEYS)})")
            values[key] = value
            options.append((key, value))
        elif item in _DISK_FLAGS:
            cdrom = cdrom or item == "cdrom"
            options.append((item, "1"))
        else:
            positional.append(item)
    names = ["target", "format", "vdev", "access"]
    if len(positional) == 3 and positional[1] not in _FORMATS and positional[1]:
        names = ["target", "vdev", "access"]  # the legacy "phy:/dev/x,xvda,w"
    if len(positional) > 4:
        raise ValueError(f"too many positional parameters in '{spec}'")
    for name, value in zip(names, positional, strict=False):
        if value:
            values.setdefault(name, value)
    target = values.get("target", "")
    for prefix in _DEPRECATED_PREFIXES:
        if target.startswith(prefix):
            target = target[len(prefix) :]
            if prefix.rstrip(":").split(":")[-1] in _FORMATS:
                values.setdefault("format", prefix.rstrip(":").split(":")[-1])
            break
    vdev = values.get("vdev", "")
    if vdev.endswith(":cdrom"):
        vdev, cdrom = vdev[: -len(":cdrom")], True
    if values.get("devtype") == "cdrom":
        cdrom = True
    if not vdev:
        raise ValueError(f"no virtual device (vdev such as xvda) in '{spec}'")
    if not _VDEV.fullmatch(vdev):
        raise ValueError(f"'{vdev}' is not a virtual device name (xvdN, hdN, sdN or dN[pM])")
    fmt = values.get("format", "raw")
    if fmt not in _FORMATS:
        raise ValueError(f"unknown disk format '{fmt}' (known: {', '.join(_FORMATS)})")
    access = values.get("access", "rw")
    if access not in _ACCESS:
        raise ValueError(f"disk access is 'ro'/'r' or 'rw'/'w', not '{access}'")
    if not target and fmt != "empty" and not cdrom:
        raise ValueError(f"no target in '{spec}' (only an empty cdrom may omit it)")
    return Disk(vdev, target, fmt, _ACCESS[access], cdrom, tuple(options))
