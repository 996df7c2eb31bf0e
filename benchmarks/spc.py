"""Time the SPC engine and its charts.

- `spc_batch` on 10,000 series of 60 points (the issue's target: under 2 seconds);
- `spc` on the same figures as one dated, faceted series (the path `mkdeal spc` and the
  measures take), which adds splitting by facet;
- rendering one MDC chart to SVG and PNG with vl-convert (the first render starts its
  engine).

Run: .venv/bin/python benchmarks/spc.py
"""

import time

import numpy as np
import pandas as pd

from mkdeal.spc import spc, spc_batch
from mkdeal.spc.chart import spc_chart, to_png, to_svg

SERIES, POINTS = 10_000, 60


def timed(label: str, work):
    start = time.perf_counter()
    result = work()
    print(f"{label}: {time.perf_counter() - start:.3f} s")
    return result


def main() -> None:
    rng = np.random.default_rng(17)
    values = rng.normal(100, 10, size=(SERIES, POINTS)) + np.linspace(0, 5, POINTS)
    values[rng.random(values.shape) < 0.01] = np.nan  # some missing periods
    for mode in ("mdc", "plotthedots"):
        result = timed(
            f"spc_batch {mode}: {SERIES:,} series x {POINTS} points",
            lambda mode=mode: spc_batch(values, improvement="increase", target=100.0, mode=mode),
        )
    print(f"  (flagged {np.mean(result.direction != 0):.1%} of points as special cause)")

    months = pd.date_range("2021-04-01", periods=POINTS, freq="MS")
    dates = np.tile(months, SERIES)
    facets = np.repeat([f"area {i}" for i in range(SERIES)], POINTS)
    timed(
        f"spc (dated, faceted): {SERIES:,} facets x {POINTS} months",
        lambda: spc(dates, values.ravel(), improvement="increase", facets=facets, target=100.0),
    )

    one = spc(months, values[0], improvement="increase", target=100.0)
    chart = spc_chart(one, improvement="increase", target=100.0, title="Benchmark")
    timed("chart to SVG (first, engine start)", lambda: to_svg(chart))
    timed("chart to SVG (again)", lambda: to_svg(chart))
    timed("chart to PNG (scale 2)", lambda: to_png(chart))


if __name__ == "__main__":
    main()
