"""Dispatch semantics of the generated abi_dispatch.c.

abi_data/dispatch_driver.c is linked with the dispatcher generated from
small.abi; its handlers print their arguments, so each test sees which
handler ran (if any), with what, and what abi_dispatch() returned.  The same
driver without handlers checks the real spec's table and policies.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.unit.abi_common import CFLAGS, DATA, REAL_SPECS, ROOT, check_run, generate, parse_files

EPERM = -1
ENOSYS = -38
U64 = (1 << 64) - 1

# Hypercall numbers Xen guests use (xen/include/public/xen.h).
XEN_NUMBERS = {
    "memory_op": 12,
    "set_timer_op": 15,
    "xen_version": 17,
    "console_io": 18,
    "grant_table_op": 20,
    "vcpu_op": 24,
    "sched_op": 29,
    "event_channel_op": 32,
    "hvm_op": 34,
}

Result = tuple[list[str], int]


def _build_driver(out: Path, handlers: bool) -> Path:
    exe = out / ("dispatch_driver" if handlers else "dispatch_driver_weak")
    defines = ["-DSMALL_ABI_HANDLERS"] if handlers else []
    check_run(["gcc", *CFLAGS, *defines, "-I", out, DATA / "dispatch_driver.c", out / "abi_dispatch.c", "-o", exe])
    return exe


@pytest.fixture(scope="module")
def small_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate("small", tmp_path_factory.mktemp("dispatch-small"))


@pytest.fixture(scope="module")
def driver(small_out: Path) -> Path:
    return _build_driver(small_out, handlers=True)


@pytest.fixture(scope="module")
def real_driver(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _build_driver(generate("real", tmp_path_factory.mktemp("dispatch-real")), handlers=False)


def _dispatch(exe: Path, calls: list[tuple[int, ...]]) -> list[Result]:
    """Each call is (nr, caller_is_control, compat, *args)."""
    out = check_run([exe], "".join(" ".join(str(x) for x in c) + "\n" for c in calls))
    results: list[Result] = []
    ran: list[str] = []
    for line in out.splitlines():
        if line.startswith("ret "):
            results.append((ran, int(line[4:])))
            ran = []
        else:
            ran.append(line)
    assert not ran and len(results) == len(calls), out
    return results


def call(exe: Path, nr: int, *args: int, control: bool = False, compat: bool = False) -> Result:
    return _dispatch(exe, [(nr, int(control), int(compat), *args)])[0]


def test_table(driver: Path) -> None:
    assert check_run([driver, "table"]).splitlines() == [
        "0 nop nargs=0 policy=0 subops=",
        "1 -",
        "2 -",
        "3 ping nargs=2 policy=0 subops=",
        "4 adjust nargs=3 policy=0 subops=",
        "5 -",
        "6 -",
        "7 ctl nargs=2 policy=1 subops=CTL_one:0:1,CTL_two:1:1",
        "8 mixed nargs=2 policy=0 subops=MIX_open:0:0,MIX_admin:5:1",
    ]


@pytest.mark.parametrize("control", [False, True])
def test_unknown_number(driver: Path, control: bool) -> None:
    for nr in (1, 2, 5, 6):
        assert call(driver, nr, 0, 0, control=control) == ([], ENOSYS), nr


@pytest.mark.parametrize("nr", [9, 10, 1 << 32 | 3, 1 << 63 | 3, U64])
def test_number_beyond_the_table(driver: Path, nr: int) -> None:
    # 1 << 32 | 3 would reach ping if the number were truncated to 32 bits.
    assert call(driver, nr, 1, 2, control=True) == ([], ENOSYS)


def test_arguments_reach_the_handler(driver: Path) -> None:
    assert call(driver, 3, 0x0123456789ABCDEF, 0x55) == (["do_ping vcpu=1 value=0x123456789abcdef tag=0x55"], 1003)
    # A u32 argument arrives truncated to its width.
    assert call(driver, 3, 7, 1 << 32 | 0x55) == (["do_ping vcpu=1 value=0x7 tag=0x55"], 1003)
    assert call(driver, 4, U64 - 1, 0x1234, 0x5678) == (
        ["do_adjust vcpu=1 delta=-2 addr=0x1234 buf=0x5678"],
        1004,
    )


def test_control_only_hypercall(driver: Path) -> None:
    # Others get -EPERM before any handler runs, whatever the sub-operation.
    assert call(driver, 7, 1, 0xB0F) == ([], EPERM)
    assert call(driver, 7, 99, 0xB0F) == ([], EPERM)
    assert call(driver, 7, 1, 0xB0F, compat=True) == ([], EPERM)
    # The control domain reaches the handler, or -ENOSYS for an unknown sub-op.
    assert call(driver, 7, 1, 0xB0F, control=True) == (["do_ctl vcpu=1 cmd=1 buf=0xb0f"], 1007)
    assert call(driver, 7, 99, 0xB0F, control=True) == ([], ENOSYS)


@pytest.mark.parametrize("control", [False, True])
def test_unknown_subop(driver: Path, control: bool) -> None:
    for cmd in (1, 4, 6, U64):
        assert call(driver, 8, cmd, 0, control=control) == ([], ENOSYS), cmd


def test_control_only_subop_of_an_any_hypercall(driver: Path) -> None:
    assert call(driver, 8, 5, 0x10) == ([], EPERM)
    assert call(driver, 8, 5, 0x10, compat=True) == ([], EPERM)
    assert call(driver, 8, 5, 0x10, control=True) == (["do_mixed vcpu=1 cmd=5 arg=0x10"], 1008)
    # Its other sub-operation is open to everyone.
    assert call(driver, 8, 0, 0x10) == (["do_mixed vcpu=1 cmd=0 arg=0x10"], 1008)


def test_compat_64bit_arguments_are_reassembled(driver: Path) -> None:
    """A 32-bit guest passes a u64/i64 in two registers, low half first; the
    arguments after it move up one register."""
    # The upper half of the low register is not part of the value.
    assert call(driver, 3, 0xDEADBEEF_89ABCDEF, 0x01234567, 0x55, compat=True) == (
        ["do_ping vcpu=1 value=0x123456789abcdef tag=0x55"],
        1003,
    )
    assert call(driver, 4, 0xFFFFFFFE, 0xFFFFFFFF, 0x1234, 0x5678, compat=True) == (
        ["do_adjust vcpu=1 delta=-2 addr=0x1234 buf=0x5678"],
        1004,
    )
    # The same registers from a 64-bit caller mean something else.
    assert call(driver, 3, 0x89ABCDEF, 0x01234567, 0x55) == (["do_ping vcpu=1 value=0x89abcdef tag=0x1234567"], 1003)


def test_undefined_handler_gets_the_weak_default(driver: Path, small_out: Path) -> None:
    # nop is in the table (see test_table) but the driver defines no do_nop.
    assert call(driver, 0) == ([], ENOSYS)
    assert call(driver, 0, control=True, compat=True) == ([], ENOSYS)
    weak = _build_driver(small_out, handlers=False)
    assert _dispatch(weak, [(3, 0, 0, 1, 2), (8, 1, 0, 5, 0), (7, 1, 0, 0, 0)]) == [([], ENOSYS)] * 3


@pytest.mark.parametrize("arch", ["x86_64", "i386"])
def test_guest_wrappers_pass_what_the_handler_receives(small_out: Path, driver: Path, arch: str) -> None:
    """End to end: the guest header's HYPERVISOR_* wrappers load registers
    that abi_dispatch() turns back into the values the guest passed.  A
    32-bit guest must split a u64/i64 argument into two registers (as Xen's
    32-bit guests do for set_timer_op)."""
    exe = small_out / f"guest_driver_{arch}"
    check_run(
        ["gcc", "-m32" if arch == "i386" else "-m64", *CFLAGS, "-I", small_out, DATA / "guest_driver.c", "-o", exe]
    )
    compat = int(arch == "i386")
    calls = [tuple(int(x, 0) for x in line.split()) for line in check_run([exe]).splitlines()]
    results = _dispatch(driver, [(c[0], 0, compat, *c[1:]) for c in calls])
    assert results == [
        (["do_ping vcpu=1 value=0x123456789abcdef tag=0x55"], 1003),
        (["do_adjust vcpu=1 delta=-2 addr=0x1234 buf=0x5678"], 1004),
        (["do_mixed vcpu=1 cmd=0 arg=0x9abc"], 1008),
    ]


def test_real_spec_has_the_xen_numbers(tmp_path: Path) -> None:
    out = generate("real", tmp_path)
    for header in ("abi.h", "keel_guest_abi.h"):
        numbers = dict(
            re.findall(r"^#define __HYPERVISOR_(\w+) (\d+)$", (out / header).read_text(encoding="utf-8"), re.M)
        )
        assert {name: int(numbers[name]) for name in XEN_NUMBERS if name in numbers} == XEN_NUMBERS, header
    dispatch = (out / "abi_dispatch.c").read_text(encoding="utf-8")
    for name, nr in XEN_NUMBERS.items():
        assert f'    [{nr}] = {{ call_{name}, "{name}", ' in dispatch


def test_real_spec_table(real_driver: Path) -> None:
    spec = parse_files(REAL_SPECS, ROOT)
    rows = {int(line.split()[0]): line for line in check_run([real_driver, "table"]).splitlines()}
    assert len(rows) == max(hc.number for hc in spec.hypercalls) + 1
    for hc in spec.hypercalls:
        policy = int(hc.policy.value == "control")
        subops = ",".join(f"{s.name}:{s.number}:{int(s.policy.value == 'control')}" for s in hc.subops)
        assert rows.pop(hc.number) == f"{hc.number} {hc.name} nargs={len(hc.args)} policy={policy} subops={subops}"
    assert all(row.endswith(" -") for row in rows.values())


def test_real_spec_policies(real_driver: Path) -> None:
    """Every sub-operation of the real spec, from an ordinary and from the
    control domain: the policy check answers -EPERM before any handler,
    otherwise the (weak default) handler answers -ENOSYS.  Unknown
    sub-operations give -ENOSYS."""
    spec = parse_files(REAL_SPECS, ROOT)
    calls: list[tuple[int, ...]] = []
    expected: list[Result] = []
    for hc in spec.hypercalls:
        hc_control = hc.policy.value == "control"
        cmds = [(s.number, hc_control or s.policy.value == "control") for s in hc.subops]
        if hc.subops:
            cmds.append((max(s.number for s in hc.subops) + 1, hc_control))
        else:
            cmds.append((0, hc_control))
        for cmd, control_only in cmds:
            for control in (0, 1):
                for compat in (0, 1):
                    calls.append((hc.number, control, compat, cmd, 0, 0, 0, 0, 0))
                    expected.append(([], EPERM if control_only and not control else ENOSYS))
    names = {s.name for hc in spec.hypercalls for s in hc.subops if s.policy.value == "control"}
    assert {"XENVER_commandline", "CONSOLEIO_read", "SCHEDOP_remote_shutdown"} <= names
    assert _dispatch(real_driver, calls) == expected
