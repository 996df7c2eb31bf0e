"""A synthetic Milton Keynes: every dataset as contract files, for demos and tests.

`generate` writes one CSV per dataset (named after it) into a folder, with a
`synthetic.json` saying what was asked for and what was written. Files go into the
warehouse only through the ordinary loads. The same seed, dates and scale give the same
bytes: each dataset draws from its own random stream, seeded by the seed and its place in
the list. `--with-errors` plants realistic faults and lists them in `faults.csv`, so
tests can check that exactly those rows are quarantined.
"""

from __future__ import annotations

import importlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv

from mkdeal.synth.faults import plant_faults
from mkdeal.synth.population import build_world

# Each dataset's generator ("module:function"), and the partner that would send it.
GENERATORS: dict[str, str] = {
    "residents": "mkdeal.synth.people:residents",
    "area_deprivation": "mkdeal.synth.people:area_deprivation",
    # One set of spells gives all three hospital files, so they agree with each other.
    "acute_spells": "mkdeal.synth.hospital:hospital",
    "discharge_readiness": "mkdeal.synth.hospital:hospital",
    "ambulance_arrivals": "mkdeal.synth.hospital:hospital",
    "rtt_pathways": "mkdeal.synth.waits:rtt_pathways",
    "ucr_referrals": "mkdeal.synth.waits:ucr_referrals",
    "reablement_follow_up": "mkdeal.synth.care:reablement_follow_up",
    "asc_events": "mkdeal.synth.care:asc_events",
    "child_measurements": "mkdeal.synth.weight:child_measurements",
    "adult_bmi": "mkdeal.synth.weight:adult_bmi",
}
SOURCES: dict[str, str] = {
    "residents": "QHG",
    "area_deprivation": "E06000042",
    "acute_spells": "RD8",
    "discharge_readiness": "RD8",
    "ambulance_arrivals": "RD8",
    "rtt_pathways": "RD8",
    "ucr_referrals": "RV3",
    "reablement_follow_up": "E06000042",
    "asc_events": "E06000042",
    "child_measurements": "E06000042",
    "adult_bmi": "QHG",
}
MANIFEST = "synthetic.json"
FAULTS = "faults.csv"


@dataclass(frozen=True)
class Written:
    dataset: str
    path: Path
    rows: int
    faults: int
    seconds: float


def _generator(name: str) -> Callable:
    module, function = GENERATORS[name].split(":")
    return getattr(importlib.import_module(module), function)


def parameters(seed: int, start: date, end: date, scale: float, with_errors: float) -> dict:
    return {
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "scale": scale,
        "with_errors": with_errors,
    }


def is_current(out: Path, wanted: dict) -> bool:
    """True when `out` already holds a complete synthetic set made with these parameters."""
    try:
        manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    except (FileNotFoundError, ValueError):
        return False
    return manifest.get("parameters") == wanted and all(
        (out / f"{name}.csv").is_file() for name in GENERATORS
    )


def generate(
    out: Path,
    *,
    seed: int = 0,
    start: date = date(2019, 4, 1),
    end: date = date(2026, 3, 31),
    scale: float = 1.0,
    with_errors: float = 0.0,
    progress: Callable[[str], None] = lambda message: None,
) -> list[Written]:
    if end < start:
        raise ValueError("The synthetic period ends before it starts.")
    if scale <= 0 or not 0 <= with_errors < 0.5:
        raise ValueError("--scale must be above 0 and --with-errors from 0 to 0.5.")
    out.mkdir(parents=True, exist_ok=True)
    (out / MANIFEST).unlink(missing_ok=True)  # written last: a half-made folder is not current
    started = time.perf_counter()
    world = build_world(np.random.default_rng([seed, 0]), start, end, scale)
    progress(
        f"Built the synthetic Milton Keynes: {world.size:,} residents "
        f"in {len(world.lsoa_codes)} areas."
    )
    written, fault_rows = [], []
    made: dict[str, object] = {}
    for index, name in enumerate(GENERATORS, start=1):
        began = time.perf_counter()
        source = GENERATORS[name]
        if source not in made:
            # A generator shared by several datasets runs once, on the first one's stream.
            made[source] = _generator(name)(world, np.random.default_rng([seed, index]), scale)
        table = made[source][name] if isinstance(made[source], dict) else made[source]
        faults: list[dict] = []
        if with_errors:
            table, faults = plant_faults(
                name, table, with_errors, np.random.default_rng([seed, index, 1])
            )
            fault_rows.extend(faults)
        path = out / f"{name}.csv"
        pa_csv.write_csv(table, path)
        seconds = time.perf_counter() - began
        written.append(Written(name, path, table.num_rows, len(faults), seconds))
        progress(
            f"  {name:<22} {table.num_rows:>10,} rows  {len(faults):>5} faults  {seconds:6.1f} s"
        )
    fault_table = pa.Table.from_pylist(
        fault_rows,
        schema=pa.schema(
            [
                ("dataset", pa.string()),
                ("row", pa.int64()),
                ("field", pa.string()),
                ("fault", pa.string()),
            ]
        ),
    )
    pa_csv.write_csv(fault_table, out / FAULTS)
    manifest = {
        "parameters": parameters(seed, start, end, scale, with_errors),
        "files": {w.dataset: {"rows": w.rows, "faults": w.faults} for w in written},
    }
    (out / MANIFEST).write_text(
        json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    progress(f"Wrote {len(written)} files to {out} in {time.perf_counter() - started:.1f} s.")
    return written
