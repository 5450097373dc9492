"""Building a domain through a transport: what ends up in the (fake) hypervisor."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

import pytest
from keel.builder.startinfo import decode_boot_data
from keel.builder.vcpu import decode_context
from keel.config import load
from keel.config.model import Action
from keel.errors import DomainNotFound, HypervisorError
from keel.host import Host
from keel.transport import DomainFlag, FakeHypervisor, SchedCredit, ShutdownReason

from tests.toolstack.elfgen import simple_kernel

MIB = 1 << 20


def config(write_cfg: Callable[[str, str], Path], extra: str = "") -> Path:
    return write_cfg("vm.cfg", f"name='vm'\nkernel='kernel.elf'\nmemory=8\n{extra}")


def test_create_loads_memory_and_state(
    fake: FakeHypervisor, kernel: Path, write_cfg: Callable[[str, str], Path]
) -> None:
    (kernel.parent / "initrd").write_bytes(b"I" * 10000)
    cfg = config(
        write_cfg,
        "ramdisk='initrd'\ncmdline='console=hvc0'\nvcpus=2\nmaxvcpus=3\ncpus=['1', '2-3']\n"
        "cpu_weight=512\ncap=50\nmaxmem=16\non_crash='preserve'\n",
    )
    dom = Host(fake).create(load(cfg).config)
    info = dom.info()
    assert (info.name, info.state, info.vcpus_online, info.max_vcpus) == ("vm", "r-----", 2, 3)
    assert (info.mem_kib, info.max_mem_kib) == (8 * 1024, 16 * 1024)

    boot = decode_boot_data(fake.read_guest(dom.domid, 0x6000, 0x3000))
    assert boot.cmdline == "console=hvc0"
    assert sum(r.size for r in boot.memmap if r.type == 1) == 8 * MIB
    [ramdisk] = boot.modules
    assert (ramdisk.paddr, ramdisk.size) == (0x200000, 10000)
    assert fake.read_guest(dom.domid, ramdisk.paddr, 10000) == b"I" * 10000

    image = simple_kernel()
    text = bytes((i * 7 + 3) & 0xFF for i in range(0x3000))
    assert fake.read_guest(dom.domid, 0x100000, 0x3000) == text
    assert fake.read_guest(dom.domid, 0x103000, 0x2000) == bytes(0x2000)  # bss: zero
    assert len(image) > 0x3000

    ctx = fake.domains[dom.domid].vcpus[0].context
    assert ctx is not None and decode_context(bytes.fromhex(ctx))["eip"] == 0x100010
    vcpus = fake.get_vcpu_info(dom.domid)
    assert [sorted(v.affinity) for v in vcpus] == [[1], [2, 3], [0, 1, 2, 3]]
    assert fake.get_sched_credit(dom.domid) == SchedCredit(512, 50)
    assert Action(fake.domains[dom.domid].on_crash) is Action.PRESERVE


def test_create_paused(fake: FakeHypervisor, kernel: Path, write_cfg: Callable[[str, str], Path]) -> None:
    dom = Host(fake).create(load(config(write_cfg)).config, paused=True)
    assert dom.info().state == "--p---"
    dom.unpause()
    assert dom.info().state == "r-----"


def test_a_failed_build_leaves_no_domain(
    fake: FakeHypervisor, kernel: Path, write_cfg: Callable[[str, str], Path]
) -> None:
    free = fake.physinfo().free_kib
    cfg = config(write_cfg, "cpus='5'\n")  # the fake host has 4 CPUs
    with pytest.raises(HypervisorError) as e:
        Host(fake).create(load(cfg).config)
    assert e.value.errno == errno.EINVAL and "CPU 5 does not exist" in str(e.value)
    assert [d.name for d in fake.list_domains()] == ["Domain-0"]
    assert fake.physinfo().free_kib == free


def test_host_memory_limit(fake: FakeHypervisor, kernel: Path, write_cfg: Callable[[str, str], Path]) -> None:
    cfg = config(write_cfg).with_name("big.cfg")
    cfg.write_text("name='big'\nkernel='kernel.elf'\nmemory=4000\n")
    with pytest.raises(HypervisorError, match=r"create_domain: .* KiB asked") as e:
        Host(fake).create(load(cfg).config)
    assert e.value.errno == errno.ENOMEM


def test_find_by_name_or_id(fake: FakeHypervisor) -> None:
    host = Host(fake)
    d = fake.create_domain("web", 1, 4096, DomainFlag.NONE)
    assert host.find("web").domid == d
    assert host.find(str(d)).name == "web"
    assert host.find("0").name == "Domain-0"
    for spec in ("nosuch", "99"):
        with pytest.raises(DomainNotFound, match=f"domain '{spec}' does not exist"):
            host.find(spec)


def test_console_follows_until_shutdown(fake: FakeHypervisor) -> None:
    host = Host(fake)
    d = fake.create_domain("g", 1, 4096, DomainFlag.NONE)
    fake.set_vcpu_online(d, 0, True)
    fake.unpause_domain(d)
    fake.guest_write(d, "one")
    other = fake.create_domain("h", 1, 4096, DomainFlag.NONE)
    fake.guest_write(other, "not mine")

    def step_one() -> None:
        fake.guest_write(d, "two")

    def step_two() -> None:
        fake.guest_write(d, "three")
        fake.request_shutdown(d, ShutdownReason.POWEROFF)

    steps = iter([step_one, step_two])

    def sleep(_: float) -> None:
        next(steps)()

    lines = list(host.console(host.domain("g"), sleep=sleep))
    assert lines == ["one", "two", "three"]
