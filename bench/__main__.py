"""python -m bench [--quick] [--backend qemu|bochs] [--update-baseline]

Runs the benchmark suite, prints a table beside the baseline and Xen's
figures, writes build/bench/latest.json, and exits 1 if an exit path got
more than 5 % slower than bench/baseline.json."""

from __future__ import annotations

import argparse
import json
import sys

from bench.suite import BACKENDS, BASELINE, GOALS, RESULTS, Suite, load, regressions, table, to_json


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="short runs (the CI smoke test)")
    ap.add_argument("--backend", choices=BACKENDS, action="append", help="only this backend (repeatable)")
    ap.add_argument("--update-baseline", action="store_true", help="write the results to bench/baseline.json")
    args = ap.parse_args(argv)
    backends = tuple(args.backend) if args.backend else BACKENDS
    figures = Suite(backends, quick=args.quick).run()
    baseline = load(BASELINE)
    print(table(figures, baseline, backends))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(to_json(figures), indent=2) + "\n")
    status = 0
    for name, goal in GOALS.items():
        for b, v in figures[name].values.items() if name in figures else []:
            if v > goal:
                print(f"goal missed: {name} on {b} is {v:.0f} instructions (goal {goal})")
    slower = regressions(figures, baseline)
    for s in slower:
        print(f"REGRESSION: {s}")
    if slower and not args.update_baseline:
        status = 1
    if args.update_baseline:
        BASELINE.write_text(json.dumps(to_json(figures), indent=2) + "\n")
        print(f"baseline updated: {BASELINE}")
    return status


if __name__ == "__main__":
    sys.exit(main())
