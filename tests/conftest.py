"""Shared pytest setup: import paths, build-output checks, the run_boot fixture."""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.harness import (  # noqa: E402
    BUILD_DIR,
    BootResult,
    BootSpec,
    boot,
    missing_build_outputs,
    prune_iso_cache,
)

_BOOTS = pytest.StashKey[list[BootResult]]()


def pytest_sessionstart(session: pytest.Session) -> None:
    # Trim the ISO cache once per run, in the controller, before any xdist
    # worker can be using it.
    if not hasattr(session.config, "workerinput"):
        prune_iso_cache()


@pytest.fixture(scope="session")
def keel_build() -> Path:
    """Fails the test unless `scons` has produced the images boot tests need."""
    missing = missing_build_outputs()
    if missing:
        names = ", ".join(str(p) for p in missing)
        pytest.fail(f"missing build outputs: {names}. Run `scons -Q -j2` in {REPO_ROOT} first.", pytrace=False)
    return BUILD_DIR


@pytest.fixture(autouse=True)
def _boot_tests_need_build(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("boot") is not None:
        request.getfixturevalue("keel_build")


@pytest.fixture
def run_boot(keel_build: Path, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[BootSpec], BootResult]:
    """boot() with the run's files (console.log, emulator output, bochsrc) kept in
    tmp_path.  When the test fails, each boot's report (outcome, console tail) is
    added to the failure output unless the assertion message already has it."""
    boots = request.node.stash.setdefault(_BOOTS, [])

    def run(spec: BootSpec) -> BootResult:
        result = boot(spec, workdir=tmp_path)
        boots.append(result)
        return result

    return run


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed and call.when == "call":
        message = str(call.excinfo.value) if call.excinfo is not None else ""
        boots: list[BootResult] = item.stash.get(_BOOTS, [])
        for i, result in enumerate(boots):
            report_text = result.describe()
            if report_text.splitlines()[0] not in message:
                report.sections.append((f"Keel boot {i + 1}: {result.spec.label or result.spec.backend}", report_text))
    return report
