"""Choose a transport from a spec: "live" (default) or "fake:STATE.json"."""

from __future__ import annotations

import os
from pathlib import Path

from keel.errors import TransportUnavailable
from keel.transport.base import Transport
from keel.transport.fake_store import PersistentFake
from keel.transport.live import LiveTransport

ENV_VAR = "KEEL_TRANSPORT"


def transport_spec(explicit: str | None = None) -> str:
    return explicit or os.environ.get(ENV_VAR) or "live"


def open_transport(spec: str) -> Transport:
    kind, _, arg = spec.partition(":")
    if kind == "live" and not arg:
        return LiveTransport()
    if kind == "fake":
        if not arg:
            raise TransportUnavailable("the fake transport needs a state file: fake:/path/state.json")
        return PersistentFake.open(Path(arg))
    raise TransportUnavailable(f"unknown transport '{spec}' (use 'live' or 'fake:/path/state.json')")
