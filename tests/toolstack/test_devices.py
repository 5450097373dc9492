"""pci, vif and disk specifications in xl syntax; CPU set formatting."""

from __future__ import annotations

import pytest
from keel.config.devices import parse_disk, parse_pci, parse_vif
from keel.cpumap import CpuSet, format_cpus


def test_pci_forms() -> None:
    p = parse_pci("0000:03:00.1@1f,permissive=1,rdm_policy=relaxed")
    assert (p.seg, p.bus, p.dev, p.func, p.vslot) == (0, 3, 0, 1, 0x1F)
    assert p.options == (("permissive", "1"), ("rdm_policy", "relaxed"))
    assert parse_pci("a:1f.7").bdf == "0000:0a:1f.7"
    assert parse_pci("02:00.*").func is None
    assert parse_pci("02:00.0,vslot=0x3").vslot == 3


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("03:00", "is not a PCI address"),
        ("03:20.0", "PCI device number 0x20 is out of range"),
        ("03:00.8", "is not a PCI address"),
        ("03:00.0@zz", "invalid virtual slot '@zz'"),
        ("03:00.0@20", "virtual slot 0x20 is out of range"),
        ("03:00.0,bogus=1", "unknown pci option 'bogus'"),
        ("03:00.0,permissive=2", "pci option permissive takes 0 or 1"),
        ("03:00.0,seize", "'seize' is not KEY=VALUE"),
        ("03:00.0,rdm_policy=loose", "rdm_policy is 'strict' or 'relaxed'"),
    ],
)
def test_pci_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_pci(spec)


def test_vif_keys() -> None:
    v = parse_vif("mac=00:16:3e:00:00:01, bridge=xenbr0,type=vif,rate=10Mb/s@20ms,mtu=9000")
    assert v.get("mac") == "00:16:3e:00:00:01" and v.get("bridge") == "xenbr0" and v.get("mtu") == "9000"
    assert parse_vif("").options == ()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("mac=00:16:3e:00:00", "invalid MAC address"),
        ("mac=03:16:3e:00:00:00", "is a multicast address"),
        ("type=tap", "vif type is 'vif' or 'ioemu'"),
        ("rate=fast", "invalid rate 'fast'"),
        ("mtu=10", "mtu must be a number from 68 to 65535"),
        ("colour=red", "unknown vif option 'colour'"),
        ("bridge", "'bridge' is not KEY=VALUE"),
    ],
)
def test_vif_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_vif(spec)


def test_disk_positional_forms() -> None:
    d = parse_disk("/dev/vg/guest,raw,xvda,rw")
    assert (d.target, d.format, d.vdev, d.access) == ("/dev/vg/guest", "raw", "xvda", "rw")
    d = parse_disk("phy:/dev/vg/guest,xvda,w")  # the legacy three-part form
    assert (d.target, d.format, d.vdev, d.access) == ("/dev/vg/guest", "raw", "xvda", "rw")
    d = parse_disk("qcow2:/img.q2,,hdc,r")
    assert (d.target, d.format, d.vdev, d.access) == ("/img.q2", "qcow2", "hdc", "ro")
    d = parse_disk(",,hdc:cdrom,r")
    assert d.cdrom and d.target == ""


def test_disk_keyword_form_target_takes_the_rest() -> None:
    d = parse_disk("format=qcow2, vdev=xvdb, access=ro, devtype=cdrom, target=/images/a,b.qcow2")
    assert (d.target, d.format, d.vdev, d.access, d.cdrom) == ("/images/a,b.qcow2", "qcow2", "xvdb", "ro", True)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("/img,raw", "no virtual device"),
        ("/img,raw,eth0,rw", "'eth0' is not a virtual device name"),
        ("/img,vmdk,xvda,rw", "unknown disk format 'vmdk'"),
        ("/img,raw,xvda,rx", "disk access is 'ro'/'r' or 'rw'/'w'"),
        (",raw,xvda,rw", "no target"),
        ("a,b,c,d,e", "too many positional parameters"),
        ("vdev=xvda,color=blue", "unknown disk option 'color'"),
    ],
)
def test_disk_errors(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_disk(spec)


def test_cpu_set_formatting_follows_xl_print_bitmap() -> None:
    assert format_cpus({0, 1, 2, 3}, 4) == "all"
    assert format_cpus({0, 1, 2, 3}, 8) == "0-3"
    assert format_cpus({0, 2, 3, 5, 7, 8, 9}) == "0,2-3,5,7-9"
    assert format_cpus(set()) == "none"
    assert str(CpuSet.parse("all,^1-2")) == "all,^1-2"
    assert str(CpuSet.parse("3,1,2")) == "1-3"
    assert CpuSet.parse(str(CpuSet.parse("all,^0,^5"))) == CpuSet.parse("all,^0,^5")
