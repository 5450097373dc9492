"""The host: find domains by name or id, create them from configs, read the log."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from keel.builder.image import build_image
from keel.builder.load import load_domain
from keel.config.model import DomainConfig
from keel.domain import Domain
from keel.errors import DomainNotFound, HypervisorError
from keel.progress import Progress, no_progress
from keel.transport.base import Transport
from keel.transport.types import GUEST_TAG, DomainInfo, LogChunk, PhysInfo


@dataclass
class Host:
    transport: Transport

    def physinfo(self) -> PhysInfo:
        return self.transport.physinfo()

    def domains(self) -> list[DomainInfo]:
        return self.transport.list_domains()

    def find(self, spec: str) -> DomainInfo:
        """A domain by id (all digits) or by name, as xl's domain qualifiers."""
        if spec.isdigit():
            try:
                return self.transport.get_domain_info(int(spec))
            except HypervisorError as e:
                raise DomainNotFound(spec) from e
        for info in self.domains():
            if info.name == spec:
                return info
        raise DomainNotFound(spec)

    def domain(self, spec: str) -> Domain:
        info = self.find(spec)
        return Domain(self.transport, info.domid, info.name)

    def create(self, config: DomainConfig, paused: bool = False, progress: Progress = no_progress) -> Domain:
        """Build the domain image and load it through the transport."""
        image = build_image(config)
        domid = load_domain(self.transport, image, paused=paused, progress=progress)
        return Domain(self.transport, domid, config.name)

    def read_log(self, offset: int = 0, clear: bool = False) -> LogChunk:
        return self.transport.read_log(offset, clear)

    def console(
        self, domain: Domain, follow: bool = True, poll: float = 0.2, sleep: Callable[[float], None] = time.sleep
    ) -> Iterator[str]:
        """The domain's console output (its tagged lines in the log ring).

        With follow, keeps reading until the domain shuts down or disappears."""
        tag = GUEST_TAG.format(domid=domain.domid)
        offset = 0
        pending = ""
        while True:
            alive = follow and self._alive(domain)  # checked first: no line is lost at the end
            chunk = self.read_log(offset)
            offset = chunk.next
            pending += chunk.text
            *lines, pending = pending.split("\n")
            for line in lines:
                if line.startswith(tag):
                    yield line[len(tag) :]
            if not alive:
                return
            sleep(poll)

    def _alive(self, domain: Domain) -> bool:
        try:
            return not domain.info().shutdown
        except HypervisorError:
            return False
