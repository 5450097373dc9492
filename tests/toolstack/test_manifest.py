"""The boot manifest writer and validator against docs/boot-manifest.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from keel.bundle.manifest import KEYS, domain_line, parse_manifest, parse_size, quote_value, render, validate_manifest
from keel.config import parse_text, validate
from keel.errors import ManifestError

DOC = Path(__file__).resolve().parents[2] / "docs" / "boot-manifest.md"
MODULES = {"a.elf", "b.elf", "initrd"}


def doc_keys() -> list[str]:
    """The keys of the table in docs/boot-manifest.md (`name`, `on_poweroff`, ...)."""
    keys: list[str] = []
    for line in DOC.read_text().splitlines():
        m = re.match(r"\|\s*((?:`\w+`(?:,\s*)?)+)\s*\|", line)
        if m:
            keys += re.findall(r"`(\w+)`", m.group(1))
    return keys


def test_validator_knows_exactly_the_documented_keys() -> None:
    assert sorted(doc_keys()) == sorted(KEYS)


def problems(text: str) -> list[tuple[int, str]]:
    return parse_manifest(text, MODULES).problems


def test_valid_manifest() -> None:
    text = (
        "# comment\n\nkeel-manifest 1\n"
        'domain name=a kernel=a.elf memory=16 cmdline="console=hvc0 x=\\"q\\"" # trailing\n'
        "domain name=b kernel=b.elf ramdisk=initrd memory=1G maxmem=2G vcpus=2 maxvcpus=4 cpus=0-3,^1 "
        "weight=512 cap=0 control=1 on_poweroff=destroy on_reboot=restart on_crash=preserve\n"
    )
    a, b = validate_manifest(text, MODULES)
    assert (a.line, a.values["cmdline"]) == (4, 'console=hvc0 x="q"')
    assert b.values["maxmem"] == "2G" and b.name == "b"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("domain kernel=a.elf memory=16", "missing required key 'name'"),
        ("domain name=a memory=16", "missing required key 'kernel'"),
        ("domain name=a kernel=a.elf", "missing required key 'memory'"),
        ("domain name=a kernel=zz.elf memory=16", "kernel: no module named 'zz.elf'"),
        ("domain name=a kernel=a.elf ramdisk=zz memory=16", "ramdisk: no module named 'zz'"),
        ("domain name=a kernel=a.elf memory=16 colour=red", "unknown key 'colour'"),
        ("domain name=a kernel=a.elf memory=16 memory=32", "duplicate key 'memory'"),
        ("domain name=a kernel=a.elf memory=16 loose", "'loose' is not key=value"),
        ("domain name=a! kernel=a.elf memory=16", "invalid name 'a!'"),
        ("domain name=a kernel=a.elf memory=3", "memory must be at least 4 MiB and a multiple of 2 MiB"),
        ("domain name=a kernel=a.elf memory=16X", "'16X' is not a size"),
        ("domain name=a kernel=a.elf memory=16 maxmem=8", "maxmem (8) is less than memory (16)"),
        ("domain name=a kernel=a.elf memory=16 vcpus=0", "vcpus must be from 1 to 128, not 0"),
        ("domain name=a kernel=a.elf memory=16 maxvcpus=129", "maxvcpus must be from 1 to 128, not 129"),
        ("domain name=a kernel=a.elf memory=16 vcpus=4 maxvcpus=2", "vcpus (4) is more than maxvcpus (2)"),
        ("domain name=a kernel=a.elf memory=16 cpus=^1", "cpus: '^1' selects no CPU"),
        ("domain name=a kernel=a.elf memory=16 weight=0", "weight must be from 1 to 65535, not 0"),
        ("domain name=a kernel=a.elf memory=16 cap=x", "cap must be a number, not 'x'"),
        ("domain name=a kernel=a.elf memory=16 control=2", "control must be from 1 to 1, not 2"),
        ("domain name=a kernel=a.elf memory=16 on_crash=explode", "on_crash must be destroy, restart or preserve"),
        ('domain name=a kernel=a.elf memory=16 cmdline="x', "unterminated quoted string"),
        ("domain name=a kernel=a.elf memory=16 cmdline=a\\b", "backslash outside a quoted string"),
        ("domain name=a kernel=a.elf memory=16 cmdline=" + "x" * 2048, "cmdline is longer than 2047 bytes"),
        ("vm name=a", "unknown declaration 'vm' (expected 'domain')"),
    ],
)
def test_errors(body: str, message: str) -> None:
    found = problems(f"keel-manifest 1\n{body}\n")
    assert any(line == 2 and message in msg for line, msg in found), found


def test_header_is_required() -> None:
    assert problems("domain name=a kernel=a.elf memory=16\n") == [(1, "the first line must be 'keel-manifest 1'")]
    assert problems("# only a comment\n") == [(1, "empty manifest: the first line must be 'keel-manifest 1'")]


def test_bad_lines_are_skipped_and_the_rest_kept() -> None:
    m = parse_manifest(
        "keel-manifest 1\n"
        "domain name=a kernel=a.elf memory=16 control=1\n"
        "domain name=a kernel=b.elf memory=16\n"
        "domain name=b kernel=b.elf memory=16 control=1\n"
        "domain name=c kernel=b.elf memory=16\n",
        MODULES,
    )
    assert [d.name for d in m.domains] == ["a", "c"]
    assert m.problems == [
        (3, "duplicate name 'a' (first on line 2)"),
        (4, "a second control domain (the first is on line 2)"),
    ]
    with pytest.raises(ManifestError, match="line 3: duplicate name"):
        validate_manifest("keel-manifest 1\n" + "domain name=a kernel=a.elf memory=16\n" * 2, MODULES)


def test_sizes() -> None:
    assert [parse_size(s) for s in ("16", "16M", "512K", "2G")] == [16 << 20, 16 << 20, 512 << 10, 2 << 30]


def test_quoting_round_trips() -> None:
    for value in ("plain", "with space", 'q"uote', "back\\slash", "#hash", ""):
        line = f"keel-manifest 1\ndomain name=a kernel=a.elf memory=16 cmdline={quote_value(value)}\n"
        [d] = validate_manifest(line, MODULES)
        assert d.values["cmdline"] == value


def test_domain_line_from_a_config() -> None:
    cfg = validate(
        parse_text(
            "name='web'\nkernel='k'\nmemory=64\nmaxmem=128\nvcpus=2\nmaxvcpus=4\ncpus='all,^0'\ncpu_weight=300\n"
            "cap=20\ncmdline='console=hvc0 root=\"/dev/x\"'\non_crash='preserve'\n",
            "/x/web.cfg",
        )
    ).config
    line = domain_line(cfg, "web.elf", "web.initrd", control=True)
    assert line == (
        'domain name=web kernel=web.elf ramdisk=web.initrd cmdline="console=hvc0 root=\\"/dev/x\\"" memory=64M '
        "maxmem=128M vcpus=2 maxvcpus=4 cpus=all,^0 weight=300 cap=20 control=1 on_poweroff=destroy "
        "on_reboot=restart on_crash=preserve"
    )
    [d] = validate_manifest(render([line]), {"web.elf", "web.initrd"})
    assert d.values["cmdline"] == 'console=hvc0 root="/dev/x"'


def test_per_vcpu_pinning_cannot_be_written() -> None:
    cfg = validate(parse_text("name='a'\nkernel='k'\nmaxvcpus=2\ncpus=['0','1']\n", "/a.cfg")).config
    with pytest.raises(ManifestError, match="per-vCPU cpus lists cannot be written"):
        domain_line(cfg, "a.elf", None)
