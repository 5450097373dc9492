"""Bare-metal bring-up: every CPU, all memory, faults, panics and the command line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import BOCHS_ISO, QEMU_KERNEL, QEMU_OVMF_ISO, QEMU_SEABIOS_ISO, BootResult, BootSpec, Module

RunBoot = Callable[[BootSpec], BootResult]


def cpus_online(r: BootResult) -> tuple[int, int]:
    m = r.require(r"^CPUs: (\d+) online \((\d+) in the MADT\)")
    return int(m.group(1)), int(m.group(2))


def memory_total(r: BootResult) -> tuple[int, int]:
    m = r.require(r"^Memory: (\d+) MiB total, (\d+) MiB free")
    return int(m.group(1)), int(m.group(2))


@pytest.mark.boot
@pytest.mark.parametrize("cpus", [1, 2, 4, 8])
def test_every_cpu_comes_online(run_boot: RunBoot, cpus: int) -> None:
    r = run_boot(QEMU_KERNEL.replace(cpus=cpus))
    r.require_clean_poweroff()
    assert cpus_online(r) == (cpus, cpus)
    r.require(r"^Virtualization: AMD-V \(NPT yes")


@pytest.mark.boot
@pytest.mark.parametrize("mib", [128, 1024, 6144])
def test_memory_totals_match_the_firmware_map(run_boot: RunBoot, mib: int) -> None:
    r = run_boot(QEMU_KERNEL.replace(memory_mib=mib))
    r.require_clean_poweroff()
    total, free = memory_total(r)
    # QEMU's map gives all but the BIOS area and a few pages of ROM back as RAM.
    assert mib - 2 <= total <= mib, (total, mib)
    assert 0 < free < total
    highest = int(r.require(r"highest RAM (0x[0-9a-f]+)").group(1), 16)
    if mib > 4096:
        # RAM above 4 GiB is in the allocator and the direct map.
        assert highest > 1 << 32
        assert free > 4096
        r.require(r"direct map of RAM up to 0x1[0-9a-f]{8}")
    else:
        assert highest <= mib << 20


@pytest.mark.boot
@pytest.mark.parametrize(
    ("spec", "multiboot"),
    [
        pytest.param(QEMU_SEABIOS_ISO.replace(cpus=2), 2, id="seabios"),
        pytest.param(QEMU_OVMF_ISO.replace(cpus=2), 2, id="ovmf"),
    ],
)
def test_grub_iso_multiboot2(run_boot: RunBoot, spec: BootSpec, multiboot: int) -> None:
    r = run_boot(spec)
    r.require_clean_poweroff()
    assert r.multiboot == multiboot
    assert cpus_online(r) == (2, 2)
    r.require(r"^ACPI: RSDP .* from the boot loader" if spec.firmware == "ovmf" else r"^ACPI: RSDP")


@pytest.mark.boot
@pytest.mark.parametrize("cpus", [1, 2])
def test_bochs_vtx(run_boot: RunBoot, cpus: int) -> None:
    r = run_boot(BOCHS_ISO.replace(cpus=cpus))
    r.require_clean_poweroff()
    assert cpus_online(r) == (cpus, cpus)
    r.require(r"^Virtualization: VT-x \(EPT yes, VPID yes, unrestricted guest yes\)")
    r.require(r"^LAPIC: x2APIC mode")


@pytest.mark.boot
def test_page_fault_dumps_registers_and_stops_every_cpu(run_boot: RunBoot) -> None:
    r = run_boot(QEMU_KERNEL.replace(cpus=4, cmdline="test_fault=pf noreboot"))
    r.require_panic(r"fatal exception 14 \(#PF page fault\)")
    r.require(r"Fatal exception 14 \(#PF page fault\) on CPU 0")
    r.require(r"^Faulting address: 0x10 \(not present, write\)")
    r.require(r"^RIP: 0008:ffffffff8[0-9a-f]{7} RFLAGS:")
    r.require(r"^CR2: 0000000000000010")
    r.require(r"^Stack trace")
    r.require(r"^Stopped 3 of 3 other CPUs")
    assert r.exit_status in (3, None)  # exit port: (1 << 1) | 1


@pytest.mark.boot
def test_stack_overflow_hits_the_guard_page(run_boot: RunBoot) -> None:
    """The overflow faults on the guard page; the #PF cannot push its frame
    and the CPU takes a double fault on its own IST stack."""
    r = run_boot(QEMU_KERNEL.replace(cpus=2, cmdline="test_fault=stack noreboot"))
    r.require_panic(r"fatal exception 8 \(#DF double fault\)")
    r.require(r"^Stopped 1 of 1 other CPUs")


@pytest.mark.boot
@pytest.mark.parametrize("fault", ["ud", "gp", "de"])
def test_other_faults_panic_with_their_name(run_boot: RunBoot, fault: str) -> None:
    names = {"ud": r"#UD invalid opcode", "gp": r"#GP general protection", "de": r"#DE divide error"}
    r = run_boot(QEMU_KERNEL.replace(cmdline=f"test_fault={fault} noreboot"))
    r.require_panic(names[fault])


@pytest.mark.boot
def test_command_line_options(run_boot: RunBoot) -> None:
    r = run_boot(QEMU_KERNEL.replace(cpus=4, cmdline="maxcpus=2 no-such-option=1 com1=115200,8n1 loglvl=7"))
    r.require_clean_poweroff()
    r.require(r"cmdline: unknown option 'no-such-option=1' ignored")
    assert cpus_online(r) == (2, 4)
    r.require(r"^SMP: maxcpus=2, not starting APIC id 2")


@pytest.mark.boot
def test_bad_values_are_warned_about(run_boot: RunBoot) -> None:
    r = run_boot(QEMU_KERNEL.replace(cmdline="maxcpus=lots com1=9999999"))
    r.require_clean_poweroff()
    r.require(r"cmdline: bad value for 'maxcpus' in 'maxcpus=lots', ignored")
    r.require(r"cmdline: bad value for 'com1' in 'com1=9999999', ignored")


@pytest.mark.boot
def test_entry_to_all_cpus_online_instruction_count(run_boot: RunBoot) -> None:
    """Under -icount the TSC counts instructions: the bring-up of 4 CPUs,
    from the first instruction, stays under 20 million."""
    r = run_boot(QEMU_KERNEL.replace(cpus=4, memory_mib=512, icount=True))
    r.require_clean_poweroff()
    ticks = int(r.require(r"^Boot: all CPUs online (\d+) TSC ticks after entry").group(1))
    print(f"entry to 4 CPUs online: {ticks} instructions")
    assert 1_000_000 < ticks < 20_000_000, ticks
    tsc = r.require(r"^TSC: (\d+\.\d+) MHz")
    # icount runs the TSC at one tick per instruction, which QEMU's virtual
    # clock makes a 1 GHz TSC; the calibration agrees within 0.01 %.
    assert abs(float(tsc.group(1)) - 1000.0) < 0.1, tsc.string


@pytest.mark.boot
@pytest.mark.parametrize(
    ("cpu", "why"),
    [
        pytest.param("qemu64,-svm", r"no VT-x or AMD-V", id="no-virtualization"),
        pytest.param("qemu64,+svm,-npt", r"no nested paging \(NPT\)", id="svm-without-npt"),
    ],
)
def test_without_usable_virtualization_keel_boots_and_says_so(run_boot: RunBoot, cpu: str, why: str) -> None:
    hello = Path(__file__).resolve().parents[2] / "build" / "guests" / "hello.elf"
    r = run_boot(QEMU_KERNEL.replace(cpu_model=cpu, modules=(Module(hello, "hello.elf"),)))
    r.require_clean_poweroff()
    r.require(rf"^HVM: cannot run guests: {why}\. Keel keeps running without domains\.")
    r.require(r"^Keel: no domains: this machine cannot run guests")
    r.require_absent(r"^Domain 0")
