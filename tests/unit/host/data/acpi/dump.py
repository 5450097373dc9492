#!/usr/bin/env python3
"""Dump the ACPI tables QEMU gives Keel, for the host unit tests (test_acpi*).

Boots the hypervisor under QEMU with -no-shutdown, reads the table addresses
it prints ("ACPI: RSDP 0x..." and "ACPI: SIG 0xADDR LENGTH (...)"), then
saves guest memory through the HMP monitor's pmemsave: the BIOS data area,
the first KiB of the EBDA, the RSDP and every table.  Each machine gets a
directory with one .bin file per area and a manifest, tables.txt:

    name paddr length      (hex address and length)

SeaBIOS machines boot build/hv.elf with -kernel (multiboot1; Keel finds the
RSDP by scanning the BIOS area).  The OVMF machine boots build/keel.iso
through GRUB (multiboot2 hands Keel a copy of the RSDP, so Keel prints no
address): the RSDP is then found next to the XSDT, where EDK2 allocates both,
by its signature and checksums.

Usage: python3 tests/unit/host/data/acpi/dump.py [--kernel HV_ELF] [--iso ISO] [machine ...]
(after `scons`; all machines when none is named).
"""

from __future__ import annotations

import argparse
import os
import re
import select
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[4]
OVMF = Path("/usr/share/ovmf/OVMF.fd")


@dataclass(frozen=True)
class Machine:
    args: list[str]
    ovmf: bool = False


MACHINES: dict[str, Machine] = {
    "pc-smp4": Machine(["-machine", "pc", "-smp", "4"]),
    "q35-smp8": Machine(["-machine", "q35", "-smp", "8"]),
    # Four CPUs present, four more hot-pluggable: disabled MADT entries.
    "q35-hotplug": Machine(["-machine", "q35", "-smp", "4,maxcpus=8"]),
    # TCG accepts both IOMMUs on q35 without kernel-irqchip=split.
    "q35-intel-iommu": Machine(["-machine", "q35", "-smp", "2", "-device", "intel-iommu"]),
    "q35-amd-iommu": Machine(["-machine", "q35", "-smp", "2", "-device", "amd-iommu"]),
    # UEFI: RSDP revision 2 and a real XSDT.
    "q35-ovmf": Machine(["-machine", "q35", "-smp", "4"], ovmf=True),
}

RSDP_RE = re.compile(r"ACPI: RSDP (0x[0-9a-f]+) rev")
TABLE_RE = re.compile(r"ACPI: ([A-Z0-9_]{4}) (0x[0-9a-f]+) ([0-9a-f]+) \(")
# Of the BIOS data area only the EBDA segment (its other bytes, the timer
# tick count among them, change from run to run).
BDA = 0x40E
BDA_LEN = 2
RSDP_LEN = 36
BOOT_TIMEOUT_S = 60


class Monitor:
    """Just enough HMP: send a command, wait for the next prompt."""

    def __init__(self, path: Path) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                self.sock.connect(str(path))
                break
            except OSError:
                self.sock.close()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self.sock.settimeout(10)
        self._until_prompt()

    def _until_prompt(self) -> str:
        data = b""
        while not data.endswith(b"(qemu) "):
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("QEMU monitor closed")
            data += chunk
        return data.decode(errors="replace")

    def command(self, cmd: str) -> str:
        self.sock.sendall(cmd.encode() + b"\n")
        return self._until_prompt()

    def pmemsave(self, addr: int, length: int, path: Path) -> bytes:
        self.command(f'pmemsave {addr:#x} {length:#x} "{path}"')
        return path.read_bytes()

    def quit(self) -> None:
        """quit: QEMU exits without another prompt; wait for it to hang up."""
        self.sock.sendall(b"quit\n")
        while self.sock.recv(4096):
            pass

    def close(self) -> None:
        self.sock.close()


def qemu_command(m: Machine, kernel: Path, iso: Path, sock: Path) -> list[str]:
    boot = ["-bios", str(OVMF), "-cdrom", str(iso)] if m.ovmf else ["-kernel", str(kernel)]
    return [
        "qemu-system-x86_64",
        *boot,
        "-m",
        "256",
        "-display",
        "none",
        "-serial",
        "stdio",
        "-no-shutdown",
        "-monitor",
        f"unix:{sock},server,nowait",
        *m.args,
    ]


def serial_until_poweroff(proc: subprocess.Popen[bytes]) -> str:
    """The serial output up to Keel's power-off line (or the timeout)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    while b"powering off" not in data and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            data += chunk
    return data.decode(errors="replace")


def rsdp_checksums_ok(b: bytes) -> bool:
    if sum(b[:20]) & 0xFF:
        return False
    return b[15] < 2 or not sum(b[:RSDP_LEN]) & 0xFF


def find_rsdp_near(mon: Monitor, root: int, tmp: Path) -> int:
    """The RSDP in the pages around the root table, by signature and checksums.
    EDK2 keeps an ACPI 1.0 RSDP (RSDT only) and, right after it and not
    16-byte aligned, the revision 2 one: look at every 4-byte offset."""
    base = (root & ~0xFFF) - 0x4000
    page = mon.pmemsave(base, 0x9000, tmp / "near.bin")
    for off in range(0, len(page) - RSDP_LEN, 4):
        b = page[off : off + RSDP_LEN]
        if b[:8] == b"RSD PTR " and rsdp_checksums_ok(b):
            xsdt = int.from_bytes(b[24:32], "little")
            rsdt = int.from_bytes(b[16:20], "little")
            if root in (xsdt, rsdt):
                return base + off
    raise RuntimeError(f"no RSDP pointing at {root:#x} near it")


def dump_machine(name: str, m: Machine, kernel: Path, iso: Path) -> None:
    out = HERE / name
    out.mkdir(exist_ok=True)
    for old in out.glob("*.bin"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        sock = tmp / "mon.sock"
        proc = subprocess.Popen(qemu_command(m, kernel, iso, sock), stdout=subprocess.PIPE)
        ok = False
        try:
            log = serial_until_poweroff(proc)
            tables = TABLE_RE.findall(log)
            if "powering off" not in log or not tables:
                raise RuntimeError(f"{name}: no tables or no power-off in the serial log:\n{log}")
            areas: list[tuple[str, int, int]] = [("bda", BDA, BDA_LEN)]
            seen: dict[str, int] = {}
            for sig, addr, length in tables:
                n = seen.get(sig, 0)
                seen[sig] = n + 1
                areas.append((sig if n == 0 else f"{sig}.{n}", int(addr, 16), int(length, 16)))
            mon = Monitor(sock)
            try:
                rsdp = RSDP_RE.search(log)
                # The root table is the first one Keel prints.
                rsdp_addr = int(rsdp.group(1), 16) if rsdp else find_rsdp_near(mon, areas[1][1], tmp)
                areas.insert(1, ("rsdp", rsdp_addr, RSDP_LEN))
                for area, addr, length in areas:
                    mon.pmemsave(addr, length, out / f"{area}.bin")
                # Keel walks the XSDT when there is one; keep the RSDT too, for
                # the tests that fall back to it.
                rsdp_bytes = (out / "rsdp.bin").read_bytes()
                rsdt = int.from_bytes(rsdp_bytes[16:20], "little")
                if rsdp_bytes[15] >= 2 and rsdt and "RSDT" not in seen:
                    head = mon.pmemsave(rsdt, 36, tmp / "rsdt.bin")
                    length = int.from_bytes(head[4:8], "little")
                    if head[:4] == b"RSDT" and 36 <= length <= 0x1000:
                        areas.append(("RSDT", rsdt, length))
                        mon.pmemsave(rsdt, length, out / "RSDT.bin")
                seg = int.from_bytes((out / "bda.bin").read_bytes(), "little")
                if seg:
                    areas.insert(1, ("ebda", seg << 4, 0x400))
                    mon.pmemsave(seg << 4, 0x400, out / "ebda.bin")
                mon.quit()
                ok = True
            finally:
                mon.close()
        finally:
            if not ok:
                proc.kill()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                raise
    how = "OVMF, GRUB ISO" if m.ovmf else "SeaBIOS, -kernel hv.elf"
    manifest = [f"# qemu-system-x86_64 {' '.join(m.args)}  (QEMU 7.2, {how})\n"]
    manifest += [f"{area} {addr:#010x} {length:#x}\n" for area, addr, length in areas]
    (out / "tables.txt").write_text("".join(manifest))
    print(f"{name}: {len(areas)} areas: {', '.join(a for a, _, _ in areas)}")


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--kernel", type=Path, default=ROOT / "build" / "hv.elf")
    ap.add_argument("--iso", type=Path, default=ROOT / "build" / "keel.iso")
    ap.add_argument("machines", nargs="*", metavar="machine", help=", ".join(MACHINES))
    opts = ap.parse_args(argv)
    for name in opts.machines:
        if name not in MACHINES:
            ap.error(f"unknown machine {name}")
    for name in opts.machines or list(MACHINES):
        dump_machine(name, MACHINES[name], opts.kernel, opts.iso)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
