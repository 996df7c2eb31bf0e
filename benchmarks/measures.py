"""Time the measures engine on the synthetic Milton Keynes (issue 18's target: the
handover and UCR measures, every month, every breakdown, under 2 seconds on DuckDB on 2
cores), family by family.

Generates the synthetic data at each scale (1x is Milton Keynes' size; 10x is ten times
the residents and events), loads the datasets the measures read into a DuckDB warehouse
in a temporary folder, then times `compute` overall and by every breakdown.

Run: .venv/bin/python benchmarks/measures.py [--scales 1 10]
"""

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from mkdeal.datasets import get_dataset
from mkdeal.datasets.load import load_file
from mkdeal.datasets.staging import Period
from mkdeal.measures import MEASURES
from mkdeal.measures.definition import BREAKDOWNS
from mkdeal.measures.engine import DEFAULT_FREQUENCIES, compute
from mkdeal.settings import load_settings
from mkdeal.synth import SOURCES, generate
from mkdeal.warehouse import open_warehouse_for_writing

START, END = date(2023, 4, 1), date(2026, 3, 31)
NEEDED = {d for m in MEASURES.values() for d in m.datasets} | {"residents", "area_deprivation"}


def timed(label, work):
    start = time.perf_counter()
    result = work()
    print(f"  {label}: {time.perf_counter() - start:.2f} s", flush=True)
    return result


def run(scale: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        settings = load_settings({"MKDEAL_DATA_DIR": str(folder / "data")}, cwd=folder)
        print(f"Scale {scale:g}x, {START} to {END}:", flush=True)
        timed("synthetic data", lambda: generate(folder / "mk", start=START, end=END, scale=scale))
        for name in sorted(NEEDED):
            period = Period(START, END) if get_dataset(name).period_column else None
            result = load_file(
                settings,
                name,
                folder / "mk" / f"{name}.csv",
                source=SOURCES[name],
                as_of=END,
                period=period,
            )
            print(f"  loaded {name}: {result.loaded:,} rows", flush=True)
        families = {
            "flow (handovers, UCR)": "flow.",
            "rtt (78-week waits and forms)": "rtt.",
            "ctr (criteria to reside)": "ctr.",
            "all": "",
        }
        with open_warehouse_for_writing(settings, purpose="a benchmark") as backend:
            for family, prefix in families.items():
                measures = [m for k, m in MEASURES.items() if k.startswith(prefix)]
                print(f"  {family}: {len(measures)} measures", flush=True)
                for frequencies, breakdowns, label in (
                    (("month",), (), "every month, overall"),
                    (("month",), BREAKDOWNS, "every month, every breakdown"),
                    (DEFAULT_FREQUENCIES, BREAKDOWNS, "+ quarters, years, rolling 12 months"),
                ):
                    frame = timed(
                        f"  {label}",
                        lambda f=frequencies, b=breakdowns, m=measures: compute(
                            backend, m, frequencies=f, breakdowns=b
                        ),
                    )
                    print(f"      ({len(frame):,} results)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1, 10])
    for scale in parser.parse_args().scales:
        run(scale)


if __name__ == "__main__":
    main()
