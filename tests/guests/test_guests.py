"""The guest test kernels of manifest.toml, run as domains of Keel on both
backends (AMD-V under QEMU, VT-x under Bochs) and both flavours.

Tests share a boot when they can: every test in the "batch" of a backend and
flavour runs as its own set of domains, all at once, and each is judged by its
own last line.  Tests in timing-sensitive groups run in a boot of their own."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.guests.domains import DomainSet, ManifestTest, RunBoot, load_manifest

ALONE_GROUPS = {"sched", "fairness", "fuzz", "perf", "alone"}
TESTS = load_manifest()


def batches() -> list[tuple[str, str, str, list[ManifestTest]]]:
    out = []
    for backend in ("qemu", "bochs"):
        for flavour in ("64", "32"):
            shared = [t for t in TESTS if flavour in t.flavours and not ALONE_GROUPS & set(t.groups)]
            if shared:
                out.append((backend, flavour, "batch", shared))
            for t in TESTS:
                if flavour in t.flavours and ALONE_GROUPS & set(t.groups):
                    out.append((backend, flavour, t.name, [t]))
    return out


BATCHES = batches()


@pytest.mark.boot
@pytest.mark.parametrize(
    ("backend", "flavour", "tests"),
    [pytest.param(b, f, ts, id=f"{b}-{f}-{label}") for b, f, label, ts in BATCHES],
)
def test_guest_kernels(
    run_boot: RunBoot, tmp_path: Path, backend: str, flavour: str, tests: list[ManifestTest]
) -> None:
    s = DomainSet(backend=backend, flavour=flavour, cpus=2)  # type: ignore[arg-type]
    for t in tests:
        t.add_to(s)
    s.timeout = max(t.timeout for t in tests) * (3 if backend == "bochs" else 1)
    result = s.boot(run_boot, tmp_path)
    result.boot.require_clean_poweroff()
    assert not result.manifest_errors, result.manifest_errors
    failures = []
    for t in tests:
        for i, name in enumerate(t.domain_names()):
            want = t.expect if i == 0 else "SUCCESS"
            got = result.domain(name).result
            if got != want:
                failures.append(f"{t.name}: expected {want}, got {got}\n{result.describe(name)}")
    assert not failures, "\n\n".join(failures)
