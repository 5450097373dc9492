"""The initial vCPU state at the PVH entry (docs/pvh-layout.md).

32-bit protected mode with paging off, flat segments, EBX -> hvm_start_info.
Encoded as the ABI's `struct vcpu_hvm_context` (VCPUOP_initialise)."""

from __future__ import annotations

import keel_abi

from keel import abi
from keel.builder.layout import START_INFO_PADDR

CR0_PE = 1 << 0
CR0_ET = 1 << 4
EFLAGS_RESERVED = 1 << 1
FLAT_LIMIT = 0xFFFFFFFF
CODE_AR = 0xC09B  # present, DPL0, code exec/read, accessed, 32-bit, 4 KiB granularity
DATA_AR = 0xC093  # present, DPL0, data read/write, accessed, 32-bit, 4 KiB granularity
TSS_AR = 0x8B  # present, 32-bit busy TSS
TSS_LIMIT = 0x67


def initial_context(entry: int, start_info: int = START_INFO_PADDR) -> bytes:
    ctx = abi.new("vcpu_hvm_context")
    ctx.mode = keel_abi.VCPU_HVM_MODE_32B
    r = ctx.cpu_regs.x86_32
    r.eip = entry
    r.ebx = start_info
    r.eflags = EFLAGS_RESERVED
    r.cr0 = CR0_PE | CR0_ET
    r.cr4 = 0
    r.efer = 0
    r.cs_base, r.cs_limit, r.cs_ar = 0, FLAT_LIMIT, CODE_AR
    for seg in ("ds", "es", "ss"):
        setattr(r, f"{seg}_base", 0)
        setattr(r, f"{seg}_limit", FLAT_LIMIT)
        setattr(r, f"{seg}_ar", DATA_AR)
    r.tr_base, r.tr_limit, r.tr_ar = 0, TSS_LIMIT, TSS_AR
    return abi.to_bytes(ctx, "vcpu_hvm_context")


def decode_context(data: bytes) -> dict[str, int]:
    """The 32-bit register fields of an encoded context (plus `mode`)."""
    ctx = abi.view("vcpu_hvm_context", data)
    regs = ctx.cpu_regs.x86_32
    out = {"mode": int(ctx.mode)}
    out.update({name: int(getattr(regs, name)) for name in abi.field_names("vcpu_hvm_x86_32") if "pad" not in name})
    return out
