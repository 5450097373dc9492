r"""Boot test harness: boot Keel under QEMU or Bochs and judge it by its serial console.

Describe a boot with a BootSpec (start from a preset and .replace() fields),
run it with boot() -- or the run_boot fixture, which keeps the run's files in
the test's tmp_path -- and check the BootResult::

    import pytest
    from tests.harness import QEMU_KERNEL, STANDARD_MACHINES, Module

    @pytest.mark.boot
    def test_big_machine(run_boot):
        r = run_boot(QEMU_KERNEL.replace(cpus=4, memory_mib=6144, cmdline="noreboot"))
        r.require_clean_poweroff()
        rev = r.require(r"^ACPI: RSDP rev (\d+)").group(1)  # re.search on each line's text

    @pytest.mark.boot
    @pytest.mark.parametrize("machine", STANDARD_MACHINES.values(), ids=STANDARD_MACHINES.keys())
    def test_guest(run_boot, machine):
        spec = machine.replace(modules=(Module(guest_elf, "guest args"),), done=r"Test result:")
        run_boot(spec).require_test_result("SUCCESS")

When a test using run_boot fails, each boot's report is added to pytest's
failure output; the run's files (console.log, emulator.err, bochsrc,
bochs.log) stay in the test's tmp_path.

Presets (STANDARD_MACHINES): QEMU_KERNEL (QEMU -kernel, multiboot1, SeaBIOS),
QEMU_SEABIOS_ISO and QEMU_OVMF_ISO (GRUB ISO, multiboot2), BOCHS_ISO (VT-x,
corei7_skylake_x).  QEMU runs TCG with -cpu qemu64,+svm,+npt by default
(accel="auto" uses a working KVM); icount=True makes RDTSC count instructions.
ISOs are built on demand and cached by content in build/harness-cache/.

A run stops when the hypervisor powers off and the emulator exits, at a KEEL
PANIC line (after a short grace for the dump), when spec.done matches a line,
or at the timeout.  BootResult.outcome is one of Outcome: powered_off, panic,
done, hang, no_banner, crashed.  require_clean_poweroff(), require_panic(),
require(), require_absent(), require_outcome() and require_test_result() raise
AssertionError messages carrying the outcome, the command, emulator
diagnostics (Bochs VM-entry errors) and the last 40 console lines.
KEEL_TIMEOUT_SCALE=N multiplies every timeout on slow machines."""

from python_build.iso import Module

from .console import (
    BANNER_RE,
    LOADER_RE,
    PANIC_RE,
    POWEROFF_RE,
    TEST_RESULT_RE,
    ConsoleLine,
    ConsoleScanner,
    Outcome,
    classify,
    parse_console,
)
from .isocache import cached_iso, prune_iso_cache
from .paths import BUILD_DIR, HANG_ELF, HV_ELF, KEEL_ISO, REPO_ROOT, SILENT_ELF, missing_build_outputs
from .qemu import kvm_usable, qemu_argv
from .result import BootResult
from .runner import boot
from .spec import (
    BOCHS_CPU,
    BOCHS_ISO,
    QEMU_CPU,
    QEMU_KERNEL,
    QEMU_OVMF_ISO,
    QEMU_SEABIOS_ISO,
    STANDARD_MACHINES,
    BootSpec,
)

__all__ = [
    "BANNER_RE",
    "BOCHS_CPU",
    "BOCHS_ISO",
    "BUILD_DIR",
    "HANG_ELF",
    "HV_ELF",
    "KEEL_ISO",
    "LOADER_RE",
    "PANIC_RE",
    "POWEROFF_RE",
    "QEMU_CPU",
    "QEMU_KERNEL",
    "QEMU_OVMF_ISO",
    "QEMU_SEABIOS_ISO",
    "REPO_ROOT",
    "SILENT_ELF",
    "STANDARD_MACHINES",
    "TEST_RESULT_RE",
    "BootResult",
    "BootSpec",
    "ConsoleLine",
    "ConsoleScanner",
    "Module",
    "Outcome",
    "boot",
    "cached_iso",
    "classify",
    "kvm_usable",
    "missing_build_outputs",
    "parse_console",
    "prune_iso_cache",
    "qemu_argv",
]
