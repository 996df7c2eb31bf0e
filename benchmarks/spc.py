"""Time mkdeal.spc.spc_batch on 10,000 series of 60 points (target: under 2 seconds).

Run: .venv/bin/python benchmarks/spc.py
"""

import time

import numpy as np

from mkdeal.spc import spc_batch

SERIES, POINTS = 10_000, 60


def main() -> None:
    rng = np.random.default_rng(17)
    values = rng.normal(100, 10, size=(SERIES, POINTS)) + np.linspace(0, 5, POINTS)
    values[rng.random(values.shape) < 0.01] = np.nan  # some missing periods
    timings = {}
    for mode in ("mdc", "plotthedots"):
        start = time.perf_counter()
        result = spc_batch(values, improvement="increase", target=100.0, mode=mode)
        timings[mode] = time.perf_counter() - start
        special = np.mean(result.direction != 0)
    for mode, seconds in timings.items():
        print(f"spc_batch {mode}: {SERIES:,} series x {POINTS} points in {seconds:.3f} s")
    print(f"(last run flagged {special:.1%} of points as special cause)")


if __name__ == "__main__":
    main()
