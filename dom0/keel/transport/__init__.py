"""Transports: the one interface to a hypervisor, and its implementations."""

from keel.transport.base import MAX_COPY_CHUNK, Transport
from keel.transport.fake import FakeHypervisor
from keel.transport.fake_store import PersistentFake
from keel.transport.live import LiveTransport
from keel.transport.selection import open_transport, transport_spec
from keel.transport.types import (
    DomainFlag,
    DomainInfo,
    ExitCounters,
    HostCaps,
    LogChunk,
    MemRegion,
    PhysInfo,
    SchedCredit,
    ShutdownActions,
    ShutdownReason,
    VcpuInfo,
)

__all__ = [
    "MAX_COPY_CHUNK",
    "DomainFlag",
    "DomainInfo",
    "ExitCounters",
    "FakeHypervisor",
    "HostCaps",
    "LiveTransport",
    "LogChunk",
    "MemRegion",
    "PersistentFake",
    "PhysInfo",
    "SchedCredit",
    "ShutdownActions",
    "ShutdownReason",
    "Transport",
    "VcpuInfo",
    "open_transport",
    "transport_spec",
]
