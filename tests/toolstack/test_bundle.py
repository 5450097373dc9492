"""`keel bundle`: manifest, modules, grub.cfg and a bootable ISO."""

from __future__ import annotations

import re
from pathlib import Path

from keel.bundle.manifest import validate_manifest

from tests.toolstack.conftest import Cli, check_golden
from tests.toolstack.elfgen import make_bzimage, simple_kernel
from tests.toolstack.test_manifest import doc_keys

WORD_OR_QUOTED = r'(?:[^\s"#\\]+|"(?:[^"\\]|\\["\\])*")'
DOMAIN_LINE = re.compile(rf"domain name={WORD_OR_QUOTED} kernel={WORD_OR_QUOTED}(?: (\w+)={WORD_OR_QUOTED})*")


def two_configs(tmp: Path) -> list[str]:
    (tmp / "guests").mkdir()
    (tmp / "guests" / "ping.elf").write_bytes(simple_kernel(entry=0x100020))
    (tmp / "guests" / "pong.bz").write_bytes(make_bzimage(simple_kernel(entry=0x100040), "zstd"))
    (tmp / "guests" / "pong.initrd").write_bytes(b"R" * 4096)
    (tmp / "cfg").mkdir()
    (tmp / "cfg" / "ping.cfg").write_text(
        "name = 'ping'\nkernel = '../guests/ping.elf'\nmemory = 16\nvcpus = 2\ncpus = '0-1'\n"
        "cmdline = 'peer=pong \"quoted\"'\n"
    )
    (tmp / "cfg" / "pong.cfg").write_text(
        "name = 'pong'\nkernel = '../guests/pong.bz'\nramdisk = '../guests/pong.initrd'\nmemory = 32\n"
        "maxmem = 64\non_crash = 'preserve'\n"
    )
    return ["cfg/ping.cfg", "cfg/pong.cfg"]


def test_bundle_of_two_configs(cli: Cli, tmp_path: Path) -> None:
    cfgs = two_configs(tmp_path)
    hv = tmp_path / "hv.elf"
    hv.write_bytes(simple_kernel())  # stands in for build/hv.elf: the ISO only carries it
    cli.ok("bundle", *cfgs, "-o", "out", "--hv", str(hv), "--hv-cmdline", "loglvl=all")
    out = tmp_path / "out"

    manifest = (out / "keel.manifest").read_text()
    modules = {"ping.elf", "pong.elf", "pong.initrd"}
    ping, pong = validate_manifest(manifest, modules)
    assert (ping.name, ping.values["kernel"], ping.values["cpus"], ping.values["vcpus"]) == (
        "ping",
        "ping.elf",
        "0-1",
        "2",
    )
    assert ping.values["cmdline"] == 'peer=pong "quoted"'
    assert (pong.values["ramdisk"], pong.values["maxmem"], pong.values["on_crash"]) == (
        "pong.initrd",
        "64M",
        "preserve",
    )
    lines = [line for line in manifest.splitlines() if line and not line.startswith("#")]
    assert lines[0] == "keel-manifest 1"
    allowed = set(doc_keys())
    for line in lines[1:]:
        m = DOMAIN_LINE.fullmatch(line)
        assert m, line
        keys = re.findall(r" (\w+)=", line)
        assert set(keys) <= allowed and len(keys) == len(set(keys)), line

    # modules: the ELF as is, the bzImage as the ELF inside it
    assert (out / "ping.elf").read_bytes() == simple_kernel(entry=0x100020)
    assert (out / "pong.elf").read_bytes() == simple_kernel(entry=0x100040)
    assert (out / "pong.initrd").read_bytes() == b"R" * 4096

    grub = (out / "grub.cfg").read_text()
    assert "multiboot2 /boot/hv.elf console=com1 com1=115200,8n1 loglvl=all" in grub
    module_lines = re.findall(r"^\s*module2 (\S+) (\S+)$", grub, re.M)
    assert [name for _, name in module_lines] == ["keel.manifest", "ping.elf", "pong.elf", "pong.initrd"]
    assert all(path.endswith("-" + name) for path, name in module_lines)

    iso = (out / "keel.iso").read_bytes()
    assert len(iso) > 1 << 20
    assert iso[0x8001:0x8006] == b"CD001"  # ISO 9660 primary volume descriptor
    for name in ("keel.manifest", "ping.elf", "pong.elf", "pong.initrd"):
        assert name.upper().encode() in iso or name.encode() in iso
    check_golden("bundle.txt", cli.transcript())


def test_bundle_json_and_control(cli: Cli, tmp_path: Path) -> None:
    cfgs = two_configs(tmp_path)
    r = cli.ok("bundle", *cfgs, "-o", "out", "--no-iso", "--control", "pong", "--json")
    assert '"iso": null' in r.out and '"control": true' in r.out
    manifest = (tmp_path / "out" / "keel.manifest").read_text()
    assert re.search(r"^domain name=pong .* control=1 ", manifest, re.M)
    assert not (tmp_path / "out" / "keel.iso").exists()
    check_golden("bundle-json.txt", cli.transcript())


def test_bundle_errors(cli: Cli, tmp_path: Path) -> None:
    cfgs = two_configs(tmp_path)
    cli.fail("bundle", cfgs[0], cfgs[0], "-o", "out", "--no-iso")
    cli.fail("bundle", *cfgs, "-o", "out", "--no-iso", "--control", "nobody")
    cli.fail("bundle", *cfgs, "-o", "out", "--hv", "missing/hv.elf")
    (tmp_path / "cfg" / "bad.cfg").write_text("name = 'bad'\nkernel = '../guests/none.elf'\n")
    cli.fail("bundle", "cfg/bad.cfg", "-o", "out", "--no-iso")
    cli.fail("bundle", "cfg/ping.cfg", rc=2)  # -o is required
    check_golden("bundle-errors.txt", cli.transcript())
