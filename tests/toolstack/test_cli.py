"""Every command against the fake hypervisor, compared with golden transcripts.

Regenerate the transcripts with KEEL_REGEN_GOLDEN=1 after an intended change
and review the diff."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from keel.cli.context import Context
from keel.cli.main import main
from keel.cli.progress import TerminalProgress
from keel.transport.fake_store import PersistentFake
from keel.transport.types import ShutdownReason

from tests.toolstack.conftest import Cli, check_golden
from tests.toolstack.elfgen import simple_kernel


@pytest.fixture
def cfgs(tmp_path: Path) -> Path:
    (tmp_path / "kernel.elf").write_bytes(simple_kernel())
    (tmp_path / "vm.cfg").write_text(
        "# a test domain\nname = 'vm'\nkernel = 'kernel.elf'\nmemory = 64\nmaxmem = 128\nvcpus = 2\nmaxvcpus = 4\n"
        "cmdline = 'console=hvc0'\non_poweroff = 'preserve'\n"
    )
    (tmp_path / "web.cfg").write_text("name = 'web'\nkernel = 'kernel.elf'\nmemory = 32\ncpus = '2-3'\n")
    return tmp_path


def fake_state(cli: Cli) -> PersistentFake:
    return PersistentFake.open(cli.state)


def test_create_and_list(cli: Cli, cfgs: Path) -> None:
    cli.ok("list")
    cli.ok("create", "-n", "vm.cfg")
    cli.ok("create", "-n", "--json", "-q", "web.cfg", "memory=48", "extra='quiet'")
    cli.ok("create", "vm.cfg")
    cli.ok("create", "-p", "web.cfg")
    r = cli.ok("list")
    assert [line.split()[:2] for line in r.out.splitlines()[1:]] == [["Domain-0", "0"], ["vm", "1"], ["web", "2"]]
    cli.ok("list", "web", "0")
    r = cli.ok("list", "--json", "vm")
    [vm] = json.loads(r.out)
    assert (vm["domid"], vm["mem_kib"], vm["vcpus_online"], vm["state"]) == (1, 65536, 2, "r-----")
    cli.ok("domid", "web")
    cli.ok("domname", "1")
    cli.fail("create", "vm.cfg")  # the name is taken
    cli.fail("list", "nosuch")
    check_golden("cli-create-list.txt", cli.transcript())


def test_create_config_problems(cli: Cli, cfgs: Path) -> None:
    (cfgs / "warn.cfg").write_text("name = 'warn'\nkernel = 'kernel.elf'\nmemroy = 64\nvnc = 1\nvif = ['bridge=br0']\n")
    (cfgs / "bad.cfg").write_text("name = 'bad'\nkernel = 'kernel.elf'\nmemory = 64\nmaxmem = 32\ntype = 'hvm'\n")
    (cfgs / "syntax.cfg").write_text("name = 'x'\nmemory = 08\n")
    (cfgs / "big.cfg").write_text("name = 'big'\nkernel = 'kernel.elf'\nmemory = 8192\n")
    cli.ok("create", "-n", "warn.cfg")
    cli.fail("create", "bad.cfg")
    cli.fail("create", "syntax.cfg")
    cli.fail("create", "missing.cfg")
    cli.fail("create", "big.cfg")
    cli.fail("create", "vm.cfg", "memory=")
    r = cli.ok("list")
    assert len(r.out.splitlines()) == 2  # nothing was left behind
    check_golden("cli-create-errors.txt", cli.transcript())


def test_lifecycle(cli: Cli, cfgs: Path) -> None:
    cli.ok("create", "vm.cfg")
    cli.ok("create", "web.cfg")
    cli.ok("pause", "vm")
    cli.ok("pause", "vm")
    cli.ok("list", "vm")
    cli.ok("unpause", "1")
    cli.ok("unpause", "vm")
    cli.fail("unpause", "vm")
    cli.fail("pause", "0")
    cli.ok("shutdown", "vm")  # on_poweroff = preserve
    cli.ok("reboot", "web")  # on_reboot = restart
    cli.ok("list")
    cli.fail("shutdown", "vm")
    cli.fail("shutdown", rc=2)
    cli.ok("destroy", "vm")
    cli.ok("shutdown", "-a", "-w")  # web: destroyed by on_poweroff = destroy
    cli.ok("list")
    cli.fail("destroy", "vm")
    cli.fail("destroy", "0")
    check_golden("cli-lifecycle.txt", cli.transcript())


def test_vcpus(cli: Cli, cfgs: Path) -> None:
    cli.ok("create", "vm.cfg")
    cli.ok("create", "web.cfg")
    cli.ok("vcpu-list")
    cli.ok("vcpu-set", "vm", "1")
    cli.ok("vcpu-set", "vm", "4")
    cli.fail("vcpu-set", "vm", "5")
    cli.fail("vcpu-set", "vm", "0")
    cli.ok("vcpu-pin", "vm", "all", "all,^0")
    cli.ok("vcpu-pin", "vm", "0", "1-2")
    cli.ok("vcpu-pin", "vm", "3", "3", "-")
    cli.ok("vcpu-pin", "vm", "1", "-")
    cli.fail("vcpu-pin", "vm", "0", "7")
    cli.fail("vcpu-pin", "vm", "0", "1", "2", rc=2)
    cli.fail("vcpu-pin", "vm", "x", "1", rc=2)
    cli.fail("vcpu-pin", "vm", "0", "^1", rc=2)
    r = cli.ok("vcpu-list", "vm")
    assert r.out.splitlines()[1].split()[-3:] == ["1-2", "/", "all"]
    cli.ok("vcpu-list", "--json", "web")
    check_golden("cli-vcpus.txt", cli.transcript())


def test_vcpu_set_refuses_to_overcommit(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "kernel.elf").write_bytes(simple_kernel())
    (tmp_path / "wide.cfg").write_text("name = 'wide'\nkernel = 'kernel.elf'\nmemory = 16\nmaxvcpus = 8\n")
    cli.ok("create", "-q", "wide.cfg")
    cli.fail("vcpu-set", "wide", "6")
    cli.ok("vcpu-set", "-i", "wide", "6")
    assert "    6     r-----" in cli.ok("list", "wide").out
    check_golden("cli-vcpu-overcommit.txt", cli.transcript())


def test_memory_and_scheduler(cli: Cli, cfgs: Path) -> None:
    cli.ok("create", "vm.cfg")
    cli.ok("mem-set", "vm", "48")
    cli.ok("mem-max", "vm", "256m")
    cli.ok("mem-set", "vm", "131072k")
    cli.ok("list", "vm")
    cli.fail("mem-set", "vm", "512")
    cli.fail("mem-max", "vm", "64")
    cli.fail("mem-set", "vm", "12q", rc=2)
    cli.ok("info", "free_memory")
    cli.ok("sched-credit")
    cli.ok("sched-credit", "-d", "vm", "-w", "512", "-c", "50")
    cli.ok("sched-credit", "-d", "vm")
    cli.ok("sched-credit", "-d", "vm", "-c", "0")
    cli.ok("sched-credit", "--json")
    cli.fail("sched-credit", "-d", "vm", "-w", "0")
    cli.fail("sched-credit", "-w", "100", rc=2)
    check_golden("cli-mem-sched.txt", cli.transcript())


def test_info_dmesg_console_exits(cli: Cli, cfgs: Path) -> None:
    cli.ok("info")
    cli.ok("info", "--json")
    cli.ok("info", "xen_version")
    cli.fail("info", "nosuch")
    cli.ok("create", "vm.cfg")
    fake = fake_state(cli)
    fake.guest_write(1, "Hello from vm\nsecond line")
    fake.record_exits(1, "hlt", 40)
    fake.record_exits(1, "io", 2)
    fake.request_shutdown(1, ShutdownReason.POWEROFF)  # on_poweroff = preserve: the console ends
    fake.close()
    cli.ok("console", "vm")
    cli.ok("exit-counters")
    cli.ok("exit-counters", "--json", "vm")
    cli.ok("dmesg")
    r = cli.ok("dmesg", "--json")
    assert json.loads(r.out)["start"] == 0
    cli.ok("dmesg", "-c")
    cli.ok("dmesg")
    check_golden("cli-info-log.txt", cli.transcript())


def test_help_and_usage(cli: Cli) -> None:
    cli.ok("help")
    cli.ok("--help")
    cli.ok("help", "create")
    cli.ok("help", "sched-credit")
    cli.ok("list", "-h")
    cli.ok("--version")
    cli.fail("help", "nosuch", rc=2)
    cli.fail("nosuch", rc=2)
    cli.fail(rc=2)
    cli.fail("list", "--bogus", rc=2)
    cli.fail("--bogus", rc=2)
    check_golden("cli-help.txt", cli.transcript())


def test_every_command_has_help(cli: Cli) -> None:
    from keel.cli.table import COMMANDS

    for cmd in COMMANDS:
        r = cli.ok("help", cmd.name)
        assert r.out.startswith(f"usage: keel {cmd.name}")
        assert ("--json" in r.out) == cmd.json


def test_live_transport_by_default(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("KEEL_TRANSPORT", raising=False)
    assert main(["list"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("keel: error: list_domains: the live control channel needs Keel's dom0 interface")


def test_transport_from_environment_and_option(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KEEL_TRANSPORT", f"fake:{tmp_path / 'env.json'}")
    assert main(["list"]) == 0
    assert (tmp_path / "env.json").exists()
    assert main(["--transport", f"fake:{tmp_path / 'opt.json'}", "info", "nr_cpus"]) == 0
    assert (tmp_path / "opt.json").exists()
    assert capsys.readouterr().out.endswith("4\n")


def test_progress_only_on_a_terminal(tmp_path: Path) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert not isinstance(Context("live", out=io.StringIO()).progress, TerminalProgress)
    tty = Tty()
    progress = Context("live", out=tty).progress
    assert isinstance(progress, TerminalProgress)
    for done in (0, 1 << 20, 2 << 20):
        progress("loading vm", done, 2 << 20)
    assert tty.getvalue().endswith("loading vm: 100% (2.0/2.0 MiB)\n")
