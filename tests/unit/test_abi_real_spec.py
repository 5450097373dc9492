"""The real spec (hv/abi/*.abi) against Xen's published x86 layouts and
numbers, and its generated reference page."""

from __future__ import annotations

import pytest

from tests.unit.abi_common import REAL_SPECS, ROOT, Spec, layout, parse_files, render


@pytest.fixture(scope="module")
def spec() -> Spec:
    return parse_files(REAL_SPECS, ROOT)


# name -> (64-bit size, 32-bit size), from Xen's public headers.
XEN_SIZES = {
    "shared_info": (3136, 2344),
    "vcpu_info": (64, 64),
    "vcpu_time_info": (32, 32),
    "hvm_start_info": (56, 56),
    "hvm_modlist_entry": (32, 32),
    "hvm_memmap_table_entry": (24, 24),
    "sched_poll": (24, 16),
    "vcpu_set_singleshot_timer": (16, 12),
    "vcpu_runstate_info": (48, 44),
    "vcpu_hvm_context": (128, 128),
    "gnttab_setup_table": (24, 16),
    "gnttab_map_grant_ref": (32, 32),
    "gnttab_unmap_grant_ref": (24, 24),
    "xen_add_to_physmap": (24, 16),
    "evtchn_status": (24, 24),
    "evtchn_bind_interdomain": (12, 12),
    "xencons_interface": (3092, 3092),
}

XEN_CONSTANTS = {
    "ENOSYS": 38,
    "EFAULT": 14,
    "EPERM": 1,
    "DOMID_SELF": 0x7FF0,
    "XEN_HVM_START_MAGIC_VALUE": 0x336EC578,
}

XEN_SUBOPS = {
    "VCPUOP_set_singleshot_timer": ("vcpu_op", 8),
    "VCPUOP_stop_singleshot_timer": ("vcpu_op", 9),
    "EVTCHNOP_alloc_unbound": ("event_channel_op", 6),
    "EVTCHNOP_send": ("event_channel_op", 4),
    "SCHEDOP_poll": ("sched_op", 3),
    "XENMEM_add_to_physmap": ("memory_op", 7),
    "HVMOP_set_param": ("hvm_op", 0),
    "GNTTABOP_setup_table": ("grant_table_op", 2),
}


@pytest.mark.parametrize("name", list(XEN_SIZES))
def test_xen_sizes(spec: Spec, name: str) -> None:
    agg = spec.aggregate(name)
    assert (layout(spec, agg, "native").size, layout(spec, agg, "compat").size) == XEN_SIZES[name]


def _offsets(spec: Spec, name: str, mode: str) -> dict[str, int]:
    lay = layout(spec, spec.aggregate(name), "native" if mode == "native" else "compat")
    return {f.name: f.offset for f in lay.fields if f.present}


def test_xen_offsets(spec: Spec) -> None:
    # vcpu_info.time follows the arch area in both layouts.
    assert _offsets(spec, "vcpu_info", "native")["time"] == 32
    assert _offsets(spec, "vcpu_info", "compat")["time"] == 32
    native = _offsets(spec, "shared_info", "native")
    compat = _offsets(spec, "shared_info", "compat")
    assert [native[f] for f in ("evtchn_pending", "evtchn_mask", "wc_version", "wc_sec_hi", "max_pfn")] == [
        2048,
        2560,
        3072,
        3084,
        3088,
    ]
    assert [compat[f] for f in ("evtchn_pending", "evtchn_mask", "wc_version", "wc_nsec")] == [2048, 2176, 2304, 2312]
    # 32-bit guests: arch_shared_info follows wc_nsec and ends with wc_sec_hi.
    assert [compat[f] for f in ("max_pfn", "p2m_generation", "wc_sec_hi")] == [2316, 2336, 2340]
    assert _offsets(spec, "evtchn_status", "native")["u"] == 16
    assert _offsets(spec, "gnttab_setup_table", "compat")["frame_list"] == 12
    assert _offsets(spec, "sched_poll", "compat")["timeout"] == 8


def test_xen_constants(spec: Spec) -> None:
    values = {c.name: c.value for c in spec.constants()}
    assert {name: values[name] for name in XEN_CONSTANTS} == XEN_CONSTANTS


def test_xen_subops(spec: Spec) -> None:
    found = {s.name: (hc.name, s.number) for hc in spec.hypercalls for s in hc.subops}
    assert {name: found[name] for name in XEN_SUBOPS} == XEN_SUBOPS


def test_reference_page_lists_everything(spec: Spec) -> None:
    page = render(spec)["ABI.md"]
    lines = page.splitlines()
    for hc in spec.hypercalls:
        assert any(line.startswith(f"| {hc.number} | `{hc.name}` |") for line in lines), hc.name
        if hc.subops:
            assert f"### {hc.name} sub-operations" in lines, hc.name
        for s in hc.subops:
            assert any(line.startswith(f"| {s.number} | `{s.name}` |") for line in lines), s.name
    for c in spec.constants():
        assert any(line.startswith(f"| `{c.name}` | ") for line in lines), c.name
    for group in spec.groups:
        assert f"### {group.name}" in lines, group.name
    for agg in spec.aggregates:
        native = layout(spec, agg, "native").size
        assert any(line.startswith(f"### {agg.kind} {agg.name} ({native} bytes") for line in lines), agg.name
        for field in agg.fields:
            assert any(f"| `{field.name}" in line for line in lines), f"{agg.name}.{field.name}"
