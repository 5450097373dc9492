"""The fake hypervisor: its model, its accounting, and the requests it refuses."""

from __future__ import annotations

import errno
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from keel.builder.vcpu import initial_context
from keel.config.model import Action
from keel.errors import HypervisorError, TransportUnavailable
from keel.transport import (
    MAX_COPY_CHUNK,
    DomainFlag,
    FakeHypervisor,
    LiveTransport,
    MemRegion,
    PersistentFake,
    SchedCredit,
    ShutdownActions,
    ShutdownReason,
    Transport,
    open_transport,
)

PVH = DomainFlag.PVH
MIB_KIB = 1024


def refused(code: int, fn: Callable[[], object]) -> HypervisorError:
    with pytest.raises(HypervisorError) as e:
        fn()
    assert e.value.errno == code, str(e.value)
    return e.value


def new(fake: FakeHypervisor, name: str = "vm", vcpus: int = 2, mib: int = 64) -> int:
    return fake.create_domain(name, vcpus, mib * MIB_KIB, PVH)


def test_both_transports_implement_the_protocol(fake: FakeHypervisor) -> None:
    assert isinstance(fake, Transport)
    assert isinstance(LiveTransport(), Transport)


def test_initial_host(fake: FakeHypervisor) -> None:
    p = fake.physinfo()
    assert (p.nr_cpus, p.total_kib, p.free_kib, p.version) == (4, 4 << 20, 3 << 20, "4.17-keel")
    [dom0] = fake.list_domains()
    assert (dom0.domid, dom0.name, dom0.state, dom0.vcpus_online) == (0, "Domain-0", "r-----", 2)


def test_memory_accounting_is_exact(fake: FakeHypervisor) -> None:
    free = fake.physinfo().free_kib
    a = new(fake, "a", mib=100)
    b = new(fake, "b", mib=28)
    assert fake.physinfo().free_kib == free - 128 * MIB_KIB
    fake.set_max_memory(a, 200 * MIB_KIB)
    fake.set_memory(a, 150 * MIB_KIB)
    assert fake.physinfo().free_kib == free - 178 * MIB_KIB
    fake.set_memory(a, 50 * MIB_KIB)
    assert fake.physinfo().free_kib == free - 78 * MIB_KIB
    fake.destroy_domain(a)
    fake.destroy_domain(b)
    assert fake.physinfo().free_kib == free
    total = fake.physinfo().total_kib
    assert sum(d.mem_kib for d in fake.list_domains()) + fake.physinfo().free_kib == total


def test_create_refusals(fake: FakeHypervisor) -> None:
    new(fake, "vm")
    refused(errno.EEXIST, lambda: new(fake, "vm"))
    refused(errno.EINVAL, lambda: new(fake, "bad name"))
    refused(errno.EINVAL, lambda: new(fake, "x", vcpus=0))
    refused(errno.EINVAL, lambda: new(fake, "x", vcpus=129))
    refused(errno.ENOMEM, lambda: new(fake, "x", mib=4096))
    refused(errno.EINVAL, lambda: fake.create_domain("x", 1, 1001, PVH))
    refused(errno.EEXIST, lambda: fake.create_domain("x", 1, 4096, PVH | DomainFlag.CONTROL))


def test_ids_are_not_reused(fake: FakeHypervisor) -> None:
    a = new(fake, "a")
    fake.destroy_domain(a)
    assert new(fake, "b") == a + 1


def test_unknown_domain_everywhere(fake: FakeHypervisor) -> None:
    ops: list[Callable[[], object]] = [
        lambda: fake.get_domain_info(42),
        lambda: fake.destroy_domain(42),
        lambda: fake.pause_domain(42),
        lambda: fake.unpause_domain(42),
        lambda: fake.set_memory(42, 4096),
        lambda: fake.set_max_memory(42, 4096),
        lambda: fake.set_vcpu_online(42, 0, True),
        lambda: fake.set_vcpu_affinity(42, 0, frozenset({0})),
        lambda: fake.get_vcpu_info(42),
        lambda: fake.set_sched_credit(42, SchedCredit()),
        lambda: fake.get_sched_credit(42),
        lambda: fake.request_shutdown(42, ShutdownReason.POWEROFF),
        lambda: fake.set_shutdown_actions(42, ShutdownActions()),
        lambda: fake.get_exit_counters(42),
    ]
    for op in ops:
        refused(errno.ESRCH, op)


def test_pause_states(fake: FakeHypervisor) -> None:
    d = new(fake)
    assert fake.get_domain_info(d).state == "--p---"  # created paused
    fake.set_vcpu_online(d, 0, True)
    fake.unpause_domain(d)
    assert fake.get_domain_info(d).state == "r-----"
    refused(errno.EINVAL, lambda: fake.unpause_domain(d))
    fake.pause_domain(d)
    fake.pause_domain(d)
    fake.unpause_domain(d)
    assert fake.get_domain_info(d).paused  # pauses nest
    refused(errno.EINVAL, lambda: fake.pause_domain(0))
    refused(errno.EPERM, lambda: fake.destroy_domain(0))


def test_memory_refusals(fake: FakeHypervisor) -> None:
    d = new(fake, mib=64)
    refused(errno.EINVAL, lambda: fake.set_max_memory(d, 32 * MIB_KIB))
    refused(errno.EINVAL, lambda: fake.set_memory(d, 65 * MIB_KIB))  # above max
    fake.set_max_memory(d, 8 << 20)
    refused(errno.ENOMEM, lambda: fake.set_memory(d, 4 << 20))  # beyond the host
    refused(errno.EINVAL, lambda: fake.set_memory(d, 1))


def test_populate_and_copy(fake: FakeHypervisor) -> None:
    d = new(fake, mib=4)
    fake.populate_memory(d, [MemRegion(0, 0xA0000), MemRegion(0x100000, 0x100000)])
    refused(errno.EEXIST, lambda: fake.populate_memory(d, [MemRegion(0x1FF000, 0x2000)]))
    refused(errno.EINVAL, lambda: fake.populate_memory(d, [MemRegion(0x300001, 0x1000)]))
    refused(errno.ENOMEM, lambda: fake.populate_memory(d, [MemRegion(0x400000, 4 << 20)]))
    fake.copy_to_guest(d, 0x100FFE, b"abcd")
    assert fake.read_guest(d, 0x100FFC, 8) == b"\0\0abcd\0\0"
    refused(errno.EFAULT, lambda: fake.copy_to_guest(d, 0xA0000, b"x"))
    refused(errno.EFAULT, lambda: fake.copy_to_guest(d, 0x1FFFFF, b"xy"))
    refused(errno.E2BIG, lambda: fake.copy_to_guest(d, 0x100000, bytes(MAX_COPY_CHUNK + 1)))
    fake.set_vcpu_online(d, 0, True)
    fake.unpause_domain(d)
    refused(errno.EBUSY, lambda: fake.copy_to_guest(d, 0x100000, b"x"))
    refused(errno.EBUSY, lambda: fake.populate_memory(d, [MemRegion(0x300000, 0x1000)]))
    refused(errno.EBUSY, lambda: fake.set_vcpu_context(d, 0, initial_context(0x100000)))


def test_vcpus(fake: FakeHypervisor) -> None:
    d = new(fake, vcpus=3)
    info = fake.get_domain_info(d)
    assert (info.vcpus_online, info.max_vcpus) == (0, 3)
    fake.set_vcpu_context(d, 0, initial_context(0x100000))
    refused(errno.EINVAL, lambda: fake.set_vcpu_context(d, 3, initial_context(0x100000)))
    refused(errno.EINVAL, lambda: fake.set_vcpu_context(d, 0, b"short"))
    fake.set_vcpu_online(d, 0, True)
    fake.set_vcpu_online(d, 2, True)
    assert fake.get_domain_info(d).vcpus_online == 2
    refused(errno.EINVAL, lambda: fake.set_vcpu_online(d, 3, True))
    refused(errno.EBUSY, lambda: fake.set_vcpu_online(d, 0, False))
    fake.set_vcpu_affinity(d, 1, frozenset({2, 3}))
    refused(errno.EINVAL, lambda: fake.set_vcpu_affinity(d, 1, frozenset({4})))
    refused(errno.EINVAL, lambda: fake.set_vcpu_affinity(d, 1, frozenset()))
    refused(errno.EINVAL, lambda: fake.set_vcpu_affinity(d, 5, frozenset({0})))
    v = fake.get_vcpu_info(d)
    assert [(x.vcpu, x.online, x.cpu, sorted(x.affinity)) for x in v] == [
        (0, True, 0, [0, 1, 2, 3]),
        (1, False, 2, [2, 3]),
        (2, True, 2, [0, 1, 2, 3]),
    ]


def test_sched_credit(fake: FakeHypervisor) -> None:
    d = new(fake, vcpus=2)
    assert fake.get_sched_credit(d) == SchedCredit(256, 0)
    fake.set_sched_credit(d, SchedCredit(512, 200))
    assert fake.get_sched_credit(d) == SchedCredit(512, 200)
    refused(errno.EINVAL, lambda: fake.set_sched_credit(d, SchedCredit(0, 0)))
    refused(errno.EINVAL, lambda: fake.set_sched_credit(d, SchedCredit(65536, 0)))
    refused(errno.EINVAL, lambda: fake.set_sched_credit(d, SchedCredit(256, 201)))


def running(fake: FakeHypervisor, name: str, actions: ShutdownActions) -> int:
    d = new(fake, name)
    fake.set_shutdown_actions(d, actions)
    fake.set_vcpu_online(d, 0, True)
    fake.unpause_domain(d)
    return d


def test_shutdown_actions(fake: FakeHypervisor) -> None:
    free = fake.physinfo().free_kib
    a = running(fake, "a", ShutdownActions())
    fake.request_shutdown(a, ShutdownReason.POWEROFF)  # destroy
    assert a not in [d.domid for d in fake.list_domains()]
    assert fake.physinfo().free_kib == free

    b = running(fake, "b", ShutdownActions(on_poweroff=Action.PRESERVE))
    fake.advance(2_000_000_000)
    fake.request_shutdown(b, ShutdownReason.POWEROFF)
    info = fake.get_domain_info(b)
    assert (info.state, info.shutdown_reason) == ("---s--", ShutdownReason.POWEROFF)
    refused(errno.EINVAL, lambda: fake.request_shutdown(b, ShutdownReason.POWEROFF))

    c = running(fake, "c", ShutdownActions())
    fake.advance(1_000_000_000)
    assert fake.get_domain_info(c).cpu_time_ns == 1_000_000_000
    fake.request_shutdown(c, ShutdownReason.REBOOT)  # restart
    info = fake.get_domain_info(c)
    assert (info.state, info.cpu_time_ns) == ("r-----", 0)

    d = running(fake, "d", ShutdownActions(on_crash=Action.PRESERVE))
    fake.crash(d)
    assert fake.get_domain_info(d).state == "---sc-"
    refused(errno.EINVAL, lambda: fake.request_shutdown(c, ShutdownReason.CRASH))
    refused(errno.EPERM, lambda: fake.request_shutdown(0, ShutdownReason.POWEROFF))


def test_shutdown_of_a_paused_domain_waits_for_unpause(fake: FakeHypervisor) -> None:
    d = running(fake, "a", ShutdownActions(on_poweroff=Action.PRESERVE))
    fake.pause_domain(d)
    fake.request_shutdown(d, ShutdownReason.POWEROFF)
    assert not fake.get_domain_info(d).shutdown
    fake.unpause_domain(d)
    assert fake.get_domain_info(d).shutdown


def test_log_ring_incremental_and_clear(fake: FakeHypervisor) -> None:
    first = fake.read_log()
    assert first.start == 0 and "Domain-0 started" in first.text
    d = new(fake)
    fake.guest_write(d, "hello\nworld")
    more = fake.read_log(first.next)
    assert more.start == first.next
    assert more.text.endswith("(d1) hello\n(d1) world\n") and "created 'vm'" in more.text
    assert fake.read_log(more.next).text == ""
    fake.read_log(clear=True)
    after = fake.read_log()
    assert (after.text, after.start) == ("", more.next)


def test_log_ring_overwrites_old_text(fake: FakeHypervisor) -> None:
    d = new(fake)
    for i in range(2000):
        fake.guest_write(d, f"line {i:05d}")
    chunk = fake.read_log(0)
    assert len(chunk.text) == 16384 and chunk.start > 0 and chunk.lost(0) == chunk.start
    assert chunk.text.endswith("(d1) line 01999\n")


def test_exit_counters(fake: FakeHypervisor) -> None:
    d = new(fake)
    assert fake.get_exit_counters(d).total == 0
    fake.record_exits(d, "hlt", 3)
    fake.record_exits(d, "io", 2)
    assert fake.get_exit_counters(d).counts == {"hlt": 3, "io": 2}


def test_persistence_round_trip(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    fake = PersistentFake.open(state)
    d = new(fake, "vm")
    fake.set_vcpu_affinity(d, 1, frozenset({1}))
    fake.set_sched_credit(d, SchedCredit(300, 50))
    fake.close()
    again = PersistentFake.open(state)
    assert again.list_domains() == fake.list_domains()
    assert again.get_vcpu_info(d) == fake.get_vcpu_info(d)
    assert again.read_log() == fake.read_log()
    assert again.get_sched_credit(d) == SchedCredit(300, 50)
    again.close()
    assert json.loads(state.read_text())["next_domid"] == d + 1


def test_bad_state_file(tmp_path: Path) -> None:
    state = tmp_path / "s.json"
    state.write_text('{"version": 99}')
    with pytest.raises(TransportUnavailable, match="not a fake hypervisor state"):
        open_transport(f"fake:{state}")


def test_transport_selection(tmp_path: Path) -> None:
    assert isinstance(open_transport("live"), LiveTransport)
    t = open_transport(f"fake:{tmp_path / 'x.json'}")
    assert isinstance(t, PersistentFake)
    t.close()
    for spec in ("fake:", "nope", "live:x"):
        with pytest.raises(TransportUnavailable):
            open_transport(spec)


def test_live_transport_is_a_clear_stub() -> None:
    live = LiveTransport()
    calls: list[Callable[[], object]] = [
        lambda: live.create_domain("x", 1, 4096, PVH),
        live.list_domains,
        live.physinfo,
        lambda: live.read_log(0, True),
        lambda: live.copy_to_guest(1, 0, b""),
        lambda: live.get_exit_counters(1),
    ]
    for call in calls:
        with pytest.raises(TransportUnavailable, match="needs Keel's dom0 interface, which is not available yet"):
            call()
    live.close()
