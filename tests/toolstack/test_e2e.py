"""End to end: `keel bundle` of the example domains, booted by the
hypervisor (QEMU, GRUB ISO, AMD-V), shows each example domain's output."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import QEMU_SEABIOS_ISO, BootResult, BootSpec

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples").glob("*.cfg"))

RunBoot = Callable[[BootSpec], BootResult]


@pytest.mark.boot
def test_bundle_of_the_examples_boots_and_runs_them(run_boot: RunBoot, tmp_path: Path) -> None:
    out = tmp_path / "bundle"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "keel.cli.main",
            "bundle",
            "-o",
            str(out),
            "--hv-cmdline",
            "exit_port=0xf4",
            *map(str, EXAMPLES),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    iso = out / "keel.iso"
    assert iso.is_file()
    # Boot the bundle's own ISO: its grub.cfg, manifest and modules.
    r = run_boot(QEMU_SEABIOS_ISO.replace(cpus=2, memory_mib=512, timeout=120, iso=iso))
    r.require_clean_poweroff()
    r.require(r"^Boot manifest: (\d+) domains started, 0 lines rejected")
    names = [p.stem for p in EXAMPLES]
    for name in names:
        created = r.require(rf"^Domain (\d+) \({name}\): \d+ MiB")
        domid = created.group(1)
        r.require(rf"^\(d{domid}\) Test result: SUCCESS")
        r.require(rf"^Domain {domid} \({name}\) shut down: poweroff")
