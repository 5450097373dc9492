"""The benchmark suite's smoke run: one short run per backend, twice.  The
figures are produced, plausible, and exactly repeatable (the emulators count
instructions, so two runs agree to the instruction)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.suite import EXIT_FIGURES, GOALS, Suite


def run(backend: str, tmp: Path) -> dict[str, float]:
    suite = Suite((backend,), quick=True, workdir=tmp)
    suite.log = lambda msg: None
    figures = suite.run()
    return {name: f.values[backend] for name, f in figures.items() if backend in f.values}


@pytest.mark.boot
@pytest.mark.slow
@pytest.mark.parametrize("backend", ["qemu", "bochs"])
def test_figures_are_produced_plausible_and_repeatable(backend: str, tmp_path: Path) -> None:
    first = run(backend, tmp_path / "a")
    second = run(backend, tmp_path / "b")
    for name in (*EXIT_FIGURES, "evtchn_send_self_upcall", "evtchn_interdomain_roundtrip", "yield_domain_switch"):
        assert name in first, f"{name} missing on {backend}"
        # An exit costs more than the guest's own loop and less than a
        # million instructions; hundreds is the expected order.
        assert 20 < first[name] < 1_000_000, (name, first[name])
    for name in EXIT_FIGURES:
        assert first[name] == second[name], (name, first[name], second[name])
    assert first["domain_create_to_first_insn_16m"] > 0
    assert first["hv_memory_per_domain"] > 0
    for name, goal in GOALS.items():
        print(f"{backend} {name}: {first[name]:.0f} instructions (goal {goal})")
