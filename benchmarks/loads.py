"""Benchmark loads: validating and loading each dataset at 1x and 10x a Milton Keynes size.

Files come from `mkdeal.datasets.shaped` (contract-shaped rows, until the synthetic Milton
Keynes exists), written as CSV, then loaded end to end with `load_file` into a fresh
DuckDB warehouse: read, check, pseudonymise, write, manifest, publish. It prints rows per
second for the whole load and for the checking (staging) part alone, and asserts nothing.

    .venv/bin/python benchmarks/loads.py [--scale 1 10] [--datasets acute_spells ...]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow.csv as pa_csv

from mkdeal.datasets import DATASETS
from mkdeal.datasets.load import load_file
from mkdeal.datasets.shaped import TEST_RANGE_SIZE, shaped_table
from mkdeal.datasets.staging import stage
from mkdeal.people import Pseudonymiser
from mkdeal.settings import load_settings

# Rows a year for Milton Keynes (DESIGN.md's scale table and local estimates).
MILTON_KEYNES_ROWS = {
    "residents": 300_000,
    "area_deprivation": 33_755,  # the whole England file, as published
    "acute_spells": 80_000,
    "discharge_readiness": 146_000,  # about 400 adult inpatients a day
    "ambulance_arrivals": 30_000,
    "rtt_pathways": 480_000,  # about 40,000 open pathways in 12 monthly censuses
    "ucr_referrals": 10_000,
    "reablement_follow_up": 400,
    "asc_events": 20_000,
    "child_measurements": 8_000,
    "adult_bmi": 150_000,
}
SOURCES = {
    "area_deprivation": "E06000042",
    "reablement_follow_up": "E06000042",
    "asc_events": "E06000042",
    "child_measurements": "E06000042",
    "residents": "QHG",
    "adult_bmi": "QHG",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--datasets", nargs="+", default=list(MILTON_KEYNES_ROWS))
    args = parser.parse_args()
    print(
        f"{'dataset':<22}{'scale':>6}{'rows':>10}{'check rows/s':>15}{'load rows/s':>14}"
        f"{'loaded':>10}{'quarantined':>13}"
    )
    for name in args.datasets:
        for scale in args.scale:
            rows = MILTON_KEYNES_ROWS[name] * scale
            if name == "residents" and rows > TEST_RANGE_SIZE:
                # One row per person, and the 999 test range has only so many numbers.
                print(
                    f"residents {scale}x: capped at {TEST_RANGE_SIZE:,} rows (the 999 test range)"
                )
                rows = TEST_RANGE_SIZE
            with tempfile.TemporaryDirectory() as folder:
                print(_run(name, rows, scale, Path(folder)), flush=True)


def _run(name: str, rows: int, scale: int, folder: Path) -> str:
    settings = load_settings(
        {
            "MKDEAL_DATA_DIR": str(folder / "data"),
            "MKDEAL_SECRET_KEY": "s" * 40,
            "MKDEAL_PSEUDONYMISATION_KEY": "p" * 40,
            "MKDEAL_ENCRYPTION_KEY": "e" * 40,
        },
        cwd=folder,
    )
    path = folder / f"{name}.csv"
    pa_csv.write_csv(shaped_table(DATASETS[name], rows, seed=scale), path)
    started = time.perf_counter()
    staged = stage(DATASETS[name], path, Pseudonymiser(settings.pseudonymisation_key))
    checked = time.perf_counter() - started
    started = time.perf_counter()
    result = load_file(
        settings, name, path, source=SOURCES.get(name, "RD8"), as_of=date(2026, 3, 31)
    )
    loaded = time.perf_counter() - started
    assert result.read == staged.read == rows
    return (
        f"{name:<22}{scale:>5}x{rows:>10,}{rows / checked:>15,.0f}{rows / loaded:>14,.0f}"
        f"{result.loaded:>10,}{result.quarantined:>13,}"
    )


if __name__ == "__main__":
    main()
