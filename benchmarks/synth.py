"""Benchmark the synthetic Milton Keynes: generate every file, then load them all into a
fresh DuckDB warehouse, at each scale; print seconds and peak memory (each scale runs in
its own process, so peak memory is that scale's alone). Asserts nothing.

    .venv/bin/python benchmarks/synth.py [--scales 1 10]

At scales above about 3 the population stops growing (the 999 test range of NHS numbers
holds 909,091 valid numbers); events still scale.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path


def one_scale(scale: float) -> dict:
    from mkdeal.datasets.load import load_file
    from mkdeal.db import upgrade
    from mkdeal.settings import load_settings
    from mkdeal.synth import SOURCES, generate

    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings(
            {
                "MKDEAL_DATA_DIR": folder,
                "MKDEAL_SECRET_KEY": "s" * 40,
                "MKDEAL_PSEUDONYMISATION_KEY": "p" * 40,
                "MKDEAL_ENCRYPTION_KEY": "e" * 40,
            },
            cwd=Path(folder),
        )
        upgrade(settings)
        started = time.perf_counter()
        written = generate(
            Path(folder) / "synthetic",
            seed=0,
            start=date(2019, 4, 1),
            end=date(2026, 3, 31),
            scale=scale,
        )
        generated = time.perf_counter() - started
        started = time.perf_counter()
        rows = 0
        for name, source in SOURCES.items():
            result = load_file(
                settings,
                name,
                Path(folder) / "synthetic" / f"{name}.csv",
                source=source,
                as_of=date(2026, 3, 31),
            )
            rows += result.read
        loaded = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "scale": scale,
        "rows": rows,
        "generate_s": round(generated, 1),
        "load_s": round(loaded, 1),
        "total_s": round(generated + loaded, 1),
        "peak_mb": round(peak),
        "files": {w.dataset: w.rows for w in written},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--one", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(one_scale(args.one)))
        return
    print(f"{'scale':>6}{'rows':>12}{'generate s':>12}{'load s':>9}{'total s':>9}{'peak MB':>9}")
    for scale in args.scales:
        output = subprocess.run(
            [sys.executable, "-W", "ignore", __file__, "--one", str(scale)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        r = json.loads(output.strip().splitlines()[-1])
        print(
            f"{r['scale']:>6}{r['rows']:>12,}{r['generate_s']:>12}{r['load_s']:>9}"
            f"{r['total_s']:>9}{r['peak_mb']:>9}",
            flush=True,
        )


if __name__ == "__main__":
    main()
