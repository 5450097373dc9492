"""The hypervisor boots on every supported path, prints its banner and powers off cleanly."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.harness import BOCHS_ISO, QEMU_KERNEL, QEMU_OVMF_ISO, QEMU_SEABIOS_ISO, BootResult, BootSpec

RunBoot = Callable[[BootSpec], BootResult]


@pytest.mark.boot
@pytest.mark.parametrize(
    ("spec", "multiboot"),
    [
        pytest.param(QEMU_KERNEL, 1, id="qemu-kernel-multiboot1"),
        pytest.param(QEMU_SEABIOS_ISO, 2, id="qemu-seabios-iso-multiboot2"),
        pytest.param(QEMU_OVMF_ISO, 2, id="qemu-ovmf-iso-multiboot2"),
        pytest.param(BOCHS_ISO, 2, id="bochs-vtx-iso-multiboot2"),
    ],
)
def test_boots_and_powers_off(run_boot: RunBoot, spec: BootSpec, multiboot: int) -> None:
    spec = spec.replace(cmdline="foundation=1")
    r = run_boot(spec)
    r.require_clean_poweroff()
    assert r.version
    loader = r.require(r"^Loader: ")
    assert r.multiboot == multiboot, loader.string
    assert loader.string.endswith(f"command line: '{spec.hv_cmdline}'"), loader.string
    r.require(r"^ACPI: RSDP")
    r.require_absent(r"KEEL PANIC")
