"""The fake hypervisor kept in a JSON file, so CLI commands can run in sequence.

Used through KEEL_TRANSPORT=fake:STATE.json. Guest memory contents are not
saved (only which ranges are populated and how many bytes were copied)."""

from __future__ import annotations

import fcntl
import json
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

from keel.errors import TransportUnavailable
from keel.transport.fake import FakeDomain, FakeHost, FakeHypervisor, FakeVcpu

STATE_VERSION = 1


def dump(fake: FakeHypervisor) -> dict[str, Any]:
    return {
        "version": STATE_VERSION,
        "host": asdict(fake.host),
        "clock_ns": fake.clock_ns,
        "next_domid": fake.next_domid,
        "log": {"head": fake.log_head, "text": fake.log_text},
        "domains": [asdict(d) for _, d in sorted(fake.domains.items())],
    }


def restore(fake: FakeHypervisor, state: dict[str, Any]) -> None:
    """Replace fake's state with a dump()."""
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"unsupported fake state version {state.get('version')!r}")
    fake.host = FakeHost(**state["host"])
    fake.clock_ns = int(state["clock_ns"])
    fake.next_domid = int(state["next_domid"])
    fake.log_head = int(state["log"]["head"])
    fake.log_text = str(state["log"]["text"])
    fake.memory = {}
    fake.domains = {}
    for d in state["domains"]:
        vcpus = [FakeVcpu(**v) for v in d.pop("vcpus")]
        dom = FakeDomain(**d)
        dom.vcpus = vcpus
        fake.domains[dom.domid] = dom


class PersistentFake(FakeHypervisor):
    """A FakeHypervisor loaded from a JSON file on open and saved on close.

    An exclusive lock on STATE.lock serialises concurrent commands."""

    def __init__(self, path: Path, lock: IO[str]) -> None:
        super().__init__()
        self.path = path
        self._lock = lock

    @classmethod
    def open(cls, path: Path) -> PersistentFake:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = path.with_name(path.name + ".lock").open("w")
        fcntl.flock(lock, fcntl.LOCK_EX)
        fake = cls(path, lock)
        if path.exists():
            try:
                restore(fake, json.loads(path.read_text()))
            except (ValueError, KeyError, TypeError) as e:
                lock.close()
                raise TransportUnavailable(f"{path}: not a fake hypervisor state: {e}") from e
        return fake

    def close(self) -> None:
        if self._lock.closed:
            return
        try:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(dump(self), indent=1) + "\n")
            tmp.replace(self.path)
        finally:
            self._lock.close()
