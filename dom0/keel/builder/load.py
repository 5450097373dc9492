"""Apply a DomainImage to a hypervisor through a Transport (the domctl path)."""

from __future__ import annotations

import contextlib

from keel.builder.image import DomainImage
from keel.builder.layout import PAGE_SIZE, align_up
from keel.errors import KeelError
from keel.progress import Progress, no_progress
from keel.transport.base import MAX_COPY_CHUNK, Transport
from keel.transport.types import DomainFlag, MemRegion, SchedCredit, ShutdownActions


def copy_chunked(
    t: Transport, domid: int, gpa: int, data: bytes, *, progress: Progress, label: str, done: int, total: int
) -> int:
    """Copy data in MAX_COPY_CHUNK pieces, reporting progress; returns the new `done`."""
    view = memoryview(data)
    for off in range(0, len(data), MAX_COPY_CHUNK):
        chunk = bytes(view[off : off + MAX_COPY_CHUNK])
        t.copy_to_guest(domid, gpa + off, chunk)
        done += len(chunk)
        progress(label, done, total)
    return done


def load_domain(
    t: Transport, image: DomainImage, *, paused: bool = False, progress: Progress = no_progress, control: bool = False
) -> int:
    """Create the domain, load it, configure it and (unless paused) start it.

    On any failure the half-built domain is destroyed before the error propagates."""
    cfg = image.config
    flags = DomainFlag.PVH | (DomainFlag.CONTROL if control else DomainFlag.NONE)
    domid = t.create_domain(cfg.name, cfg.maxvcpus, cfg.memory_kib, flags)
    try:
        t.set_max_memory(domid, cfg.maxmem_kib)
        t.populate_memory(domid, [MemRegion(r.addr, align_up(r.size, PAGE_SIZE)) for r in image.layout.ram])
        writes = image.writes()
        total = sum(len(w.data) for w in writes)
        done = 0
        for w in writes:
            done = copy_chunked(
                t, domid, w.gpa, w.data, progress=progress, label=f"loading {cfg.name}", done=done, total=total
            )
        t.set_vcpu_context(domid, 0, image.vcpu_context)
        nr_cpus = t.physinfo().nr_cpus
        for v in range(cfg.maxvcpus):
            pin = cfg.cpus.for_vcpu(v)
            if not pin.is_all:
                t.set_vcpu_affinity(domid, v, pin.resolve(nr_cpus))
        t.set_sched_credit(domid, SchedCredit(cfg.cpu_weight, cfg.cap))
        t.set_shutdown_actions(domid, ShutdownActions(cfg.on_poweroff, cfg.on_reboot, cfg.on_crash))
        for v in range(cfg.vcpus):
            t.set_vcpu_online(domid, v, True)
        if not paused:
            t.unpause_domain(domid)
    except BaseException:
        with contextlib.suppress(KeelError):
            t.destroy_domain(domid)
        raise
    return domid
