"""Validation of every key: defaults, ranges, conflicts, pinning, devices, unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest
from keel.config import Action, ConfigInvalid, load, parse_text, validate
from keel.config.validate import KEYS, LoadedConfig, nearest_key
from keel.cpumap import CpuSet

BASE = "name = 'vm'\nkernel = 'k.elf'\n"


def check(text: str, path: str = "/cfg/vm.cfg") -> LoadedConfig:
    return validate(parse_text(BASE + text, path))


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigInvalid) as e:
        check(text)
    return [str(p) for p in e.value.problems]


def warnings(text: str) -> list[str]:
    return [str(w) for w in check(text).warnings]


def test_defaults() -> None:
    c = check("").config
    assert (c.name, c.type, c.memory, c.maxmem, c.vcpus, c.maxvcpus) == ("vm", "pvh", 32, 32, 1, 1)
    assert (c.cpu_weight, c.cap, c.cmdline, c.ramdisk) == (256, 0, "", None)
    assert (c.on_poweroff, c.on_reboot, c.on_crash) == (Action.DESTROY, Action.RESTART, Action.DESTROY)
    assert c.cpus.is_all and (c.pci, c.vif, c.disk) == ((), (), ())
    assert c.source == Path("/cfg/vm.cfg")


def test_every_key_set() -> None:
    c = check(
        "type = 'pvh'\nmemory = 64\nmaxmem = 128\nvcpus = 2\nmaxvcpus = 4\ncpus = '0-3,^1'\n"
        "cpu_weight = 512\ncap = 150\nramdisk = '/abs/initrd'\ncmdline = 'console=hvc0'\n"
        "on_poweroff = 'preserve'\non_reboot = 'destroy'\non_crash = 'restart'\n"
        "pci = ['01:00.0']\nvif = ['bridge=xenbr0']\ndisk = ['/img,raw,xvda,rw']\n"
    ).config
    assert (c.memory, c.maxmem, c.vcpus, c.maxvcpus, c.cpu_weight, c.cap) == (64, 128, 2, 4, 512, 150)
    assert c.cpus.default == CpuSet(frozenset({0, 2, 3}))
    assert c.cpus.for_vcpu(3).resolve(4) == {0, 2, 3}
    assert c.ramdisk == Path("/abs/initrd") and c.cmdline == "console=hvc0"
    assert (c.on_poweroff, c.on_reboot, c.on_crash) == (Action.PRESERVE, Action.DESTROY, Action.RESTART)
    assert [p.bdf for p in c.pci] == ["0000:01:00.0"]
    assert c.vif[0].get("bridge") == "xenbr0"
    assert (c.disk[0].target, c.disk[0].vdev) == ("/img", "xvda")


def test_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    cfg = tmp_path / "sub" / "vm.cfg"
    cfg.parent.mkdir()
    cfg.write_text("name = 'vm'\nkernel = '../build/k.elf'\nramdisk = 'initrd'\n")
    c = load(cfg).config
    assert c.kernel == tmp_path / "build" / "k.elf"
    assert c.ramdisk == tmp_path / "sub" / "initrd"


def test_numbers_may_be_quoted_as_in_xl() -> None:
    c = check("memory = '64'\nvcpus = \"0x2\"\nmaxvcpus = '010'\n").config
    assert (c.memory, c.vcpus, c.maxvcpus) == (64, 2, 8)


def test_overrides_are_extra_lines(tmp_path: Path) -> None:
    cfg = tmp_path / "vm.cfg"
    cfg.write_text(BASE + "memory = 64\nextra = 'a'\n")
    c = load(cfg, ["memory=128", "extra += ' b'"]).config
    assert (c.memory, c.cmdline) == (128, "a b")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name = 'bad name'\n", "3:8: invalid name 'bad name': use 1-63 characters from A-Z a-z 0-9 _ . -"),
        ("name = '" + "x" * 64 + "'\n", "3:8: invalid name"),
        ("name = '123'\n", "3:8: invalid name '123': a name of only digits reads as a domain id"),
        ("name = [1]\n", "3:8: name must be a string, not a list"),
        ("type = 'pv'\n", "3:8: type 'pv' is not supported yet: Keel runs PVH domains (type = \"pvh\")"),
        ("type = 'hvm'\n", "3:8: type 'hvm' is not supported yet"),
        ("type = 'pvhx'\n", "3:8: unknown type 'pvhx' (xl types are pv, pvh and hvm; Keel supports pvh)"),
        ("memory = 2\n", "3:10: memory must be at least 4, not 2"),
        ("memory = 17\n", "3:10: memory must be a multiple of 2 MiB, not 17"),
        ("memory = 'lots'\n", "3:10: memory must be a number, not a string"),
        ("memory = [64]\n", "3:10: memory must be a number, not a list"),
        ("maxmem = 2\n", "3:10: maxmem must be at least 4, not 2"),
        ("vcpus = 0\n", "3:9: vcpus must be from 1 to 128, not 0"),
        ("maxvcpus = 129\n", "3:12: maxvcpus must be from 1 to 128, not 129"),
        ("cpu_weight = 0\n", "3:14: cpu_weight must be from 1 to 65535, not 0"),
        ("cpu_weight = 65536\n", "3:14: cpu_weight must be from 1 to 65535, not 65536"),
        ("cap = 101\n", "3:7: cap must be from 0 to 100, not 101"),
        ("kernel = ''\n", "3:10: kernel is empty"),
        ("ramdisk = []\n", "3:11: ramdisk must be a string, not a list"),
        ("on_crash = 'coredump-destroy'\n", "3:12: on_crash = 'coredump-destroy' is not supported yet"),
        ("on_reboot = 'rename-restart'\n", "3:13: on_reboot = 'rename-restart' is not supported yet"),
        ("on_poweroff = 'explode'\n", "3:15: on_poweroff must be destroy, restart or preserve, not 'explode'"),
        ("cmdline = 'x" + "y" * 2047 + "'\n", "3:11: the command line is 2048 bytes; at most 2047"),
        ("cmdline = 'a\\0b'\n", "3:11: the command line contains a NUL character"),
        ("pci = '01:00.0'\n", "3:7: pci must be a list of strings, for example pci = [ '...' ]"),
        ("vif = [1]\n", "3:8: each vif entry must be a string, not a number"),
    ],
)
def test_invalid_values(text: str, message: str) -> None:
    problems = errors(text)
    assert any(p.startswith("/cfg/vm.cfg:") and message in p for p in problems), problems


def test_required_keys() -> None:
    with pytest.raises(ConfigInvalid) as e:
        validate(parse_text("memory = 64\n", "x.cfg"))
    assert [p.message for p in e.value.problems] == ["name is required", "kernel is required"]


def test_maxmem_below_memory() -> None:
    assert errors("memory = 64\nmaxmem = 32\n") == ["/cfg/vm.cfg:4:10: maxmem (32) is less than memory (64)"]


def test_vcpus_above_maxvcpus() -> None:
    assert errors("vcpus = 4\nmaxvcpus = 2\n") == ["/cfg/vm.cfg:4:12: maxvcpus (2) is less than vcpus (4)"]


def test_maxvcpus_defaults_to_vcpus_and_bounds_cap() -> None:
    c = check("vcpus = 3\ncap = 300\n").config
    assert (c.maxvcpus, c.cap) == (3, 300)
    assert errors("vcpus = 3\ncap = 301\n") == ["/cfg/vm.cfg:4:7: cap must be from 0 to 300, not 301"]


def test_every_problem_is_reported() -> None:
    problems = errors("memory = 3\nvcpus = 0\ntype = 'hvm'\n")
    assert [p.split(": ")[0] for p in problems] == ["/cfg/vm.cfg:3:10", "/cfg/vm.cfg:4:9", "/cfg/vm.cfg:5:8"]


# -- pinning ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "cpus"),
    [
        ("all", {0, 1, 2, 3, 4, 5, 6, 7}),
        ("0-3,^1", {0, 2, 3}),
        ("all,^1", {0, 2, 3, 4, 5, 6, 7}),
        ("all,^0-2,1", {1, 3, 4, 5, 6, 7}),
        ("5", {5}),
        ("0-7,^2-5", {0, 1, 6, 7}),
        ("1,1,2", {1, 2}),
        ("^all,3", {3}),
    ],
)
def test_pinning_syntax(spec: str, cpus: set[int]) -> None:
    c = check(f"cpus = '{spec}'\n").config
    assert c.cpus.for_vcpu(0).resolve(8) == cpus


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("^1", "'^1' selects no CPU"),
        ("3-1", "'3-1': the range ends before it starts"),
        ("a", "'a' is not a CPU number, a range N-M, 'all' or one of those after '^'"),
        ("1,,2", "empty item in CPU list '1,,2'"),
        ("", "empty item in CPU list ''"),
        ("nodes:0", "'nodes:0': NUMA node affinity is not supported yet"),
        ("4096", "'4096': CPU numbers go up to 4095"),
    ],
)
def test_pinning_errors(spec: str, message: str) -> None:
    assert any(f"3:8: cpus: {message}" in p for p in errors(f"cpus = '{spec}'\n"))


def test_pinning_per_vcpu_list() -> None:
    c = check("maxvcpus = 3\ncpus = ['2', '0-1', 3]\n").config
    assert [sorted(c.cpus.for_vcpu(v).resolve(4)) for v in range(3)] == [[2], [0, 1], [3]]
    assert c.cpus.spec() == ["2", "0-1", "3"]


def test_pinning_list_longer_than_maxvcpus() -> None:
    assert errors("cpus = ['1', '2']\n") == ["/cfg/vm.cfg:3:8: cpus lists 2 vCPUs but maxvcpus is 1"]


def test_pinning_list_entry_position() -> None:
    assert errors("maxvcpus = 2\ncpus = ['1',\n  'x']\n") == [
        "/cfg/vm.cfg:5:3: cpus: 'x' is not a CPU number, a range N-M, 'all' or one of those after '^'"
    ]


# -- command line ----------------------------------------------------------


def test_legacy_root_and_extra() -> None:
    assert check("root = '/dev/xvda1 ro'\nextra = 'quiet'\n").config.cmdline == "root=/dev/xvda1 ro quiet"
    assert check("extra = 'quiet'\n").config.cmdline == "quiet"


def test_cmdline_wins_over_root_and_extra() -> None:
    loaded = check("cmdline = 'a'\nroot = '/dev/x'\nextra = 'b'\n")
    assert loaded.config.cmdline == "a"
    assert [str(w) for w in loaded.warnings] == [
        "/cfg/vm.cfg:4:1: 'root' ignored because cmdline is set",
        "/cfg/vm.cfg:5:1: 'extra' ignored because cmdline is set",
    ]


# -- unknown and unsupported keys --------------------------------------------


def test_unknown_key_names_the_nearest_known_key() -> None:
    assert warnings("memroy = 64\nvcpu = 2\nkernal = 'x'\n") == [
        "/cfg/vm.cfg:3:1: unknown key 'memroy' ignored (nearest known key: 'memory')",
        "/cfg/vm.cfg:4:1: unknown key 'vcpu' ignored (nearest known key: 'vcpus')",
        "/cfg/vm.cfg:5:1: unknown key 'kernal' ignored (nearest known key: 'kernel')",
    ]


def test_nearest_key_for_far_names() -> None:
    assert nearest_key("ON_CRASH") == "on_crash"
    assert nearest_key("zzzzzzzzzz") in KEYS


def test_xl_keys_keel_does_not_support_are_ignored_with_a_warning() -> None:
    assert warnings("vnc = 1\nserial = 'pty'\n") == [
        "/cfg/vm.cfg:3:1: 'vnc' is an xl setting Keel does not support yet; ignored",
        "/cfg/vm.cfg:4:1: 'serial' is an xl setting Keel does not support yet; ignored",
    ]


def test_devices_are_validated_but_not_applied() -> None:
    assert warnings("disk = ['/a,raw,xvda,rw', '/b,,xvdb']\n") == [
        "/cfg/vm.cfg:3:1: disk: 2 device(s) validated but not attached: virtual disks are not implemented yet"
    ]


def test_device_errors_point_at_the_entry() -> None:
    assert errors("vif = ['bridge=br0',\n       'mac=01:00:00:00:00:00']\n") == [
        "/cfg/vm.cfg:4:8: vif: MAC address '01:00:00:00:00:00' is a multicast address"
    ]


def test_resolved_configuration() -> None:
    c = check("memory = 64\ncpus = 'all,^0'\nvif = ['mac=00:16:3e:01:02:03']\npci = ['0000:03:00.1@1f']\n").config
    r = c.resolved()
    assert r["cpus"] == "all,^0"
    assert r["vif"] == ["mac=00:16:3e:01:02:03"]
    assert r["pci"] == ["0000:03:00.1@1f"]
    assert r["kernel"] == "/cfg/k.elf"
    again = check("cpus = 'all,^0'\n").config.cpus
    assert again == c.cpus
