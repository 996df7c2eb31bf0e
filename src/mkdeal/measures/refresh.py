"""Refreshing the measures after loads, and publishing them: the `run-due` step.

Each measure has a fingerprint: its id and version and the active loads of the datasets
it reads (with residents and area deprivation, which its breakdowns read). The warehouse
table `_measure_results` keeps each measure's results with the fingerprint they were
computed under; a refresh recomputes only the measures whose fingerprint changed (what
new loads touched), replaces their rows in one transaction, and publishes every result
with its disclosure-controlled copies and SPC. Running it again with nothing changed
recomputes nothing and publishes the same snapshot (snapshots are content-addressed).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import ibis
import pandas as pd
import pyarrow as pa

from mkdeal.datasets.load import WarehouseWriter
from mkdeal.deal import load_deal
from mkdeal.deal.model import priorities_rows
from mkdeal.measures import MEASURES
from mkdeal.measures.comparators import saved_comparators
from mkdeal.measures.definition import BREAKDOWNS, Measure
from mkdeal.measures.engine import RESULT_COLUMNS, compute, load_manifests
from mkdeal.measures.publication import publication_tables
from mkdeal.publish import current_snapshot_id, open_snapshot, publish_snapshot
from mkdeal.scheduling import Step, StepContext
from mkdeal.settings import Settings
from mkdeal.warehouse import open_warehouse_for_writing

log = logging.getLogger(__name__)

RESULTS_TABLE = "_measure_results"
REFERENCE_DATASETS = ("residents", "area_deprivation")
RESULTS_SCHEMA = [
    ("measure_id", "string"),
    ("version", "string"),
    ("value_type", "string"),
    ("frequency", "string"),
    ("period_start", "date"),
    ("period_end", "date"),
    ("overlapping", "boolean"),
    ("breakdown", "string"),
    ("breakdown_version", "string"),
    ("group", "string"),
    ("numerator", "float64"),
    ("denominator", "float64"),
    ("value", "float64"),
    ("lower", "float64"),
    ("upper", "float64"),
    ("multiplier", "float64"),
    ("load_ids", "string"),
    ("fingerprint", "string"),
]


@dataclass(frozen=True)
class RefreshResult:
    recomputed: list[str]
    unchanged: list[str]
    rows: int
    snapshot_id: str

    def summary(self) -> str:
        return (
            f"Recomputed {len(self.recomputed)} measures, {len(self.unchanged)} unchanged; "
            f"{self.rows:,} results published in snapshot {self.snapshot_id}."
        )


def fingerprints(manifests: Iterable[Mapping], measures: Iterable[Measure]) -> dict[str, str]:
    """Each measure's fingerprint from the active load manifests."""
    active = [m for m in manifests if m["status"] == "active"]
    prints = {}
    for measure in measures:
        read = set(measure.datasets) | set(REFERENCE_DATASETS)
        loads = sorted(m["load_id"] for m in active if m["dataset"] in read)
        text = "\n".join([measure.id, measure.version, *loads])
        prints[measure.id] = hashlib.sha256(text.encode()).hexdigest()[:16]
    return prints


def due_key(manifests: Iterable[Mapping], measures: Iterable[Measure]) -> str:
    """One key for the state of every measure's inputs: run-due's idempotency key."""
    prints = fingerprints(manifests, measures)
    text = "\n".join(f"{k}={v}" for k, v in sorted(prints.items()))
    return "measures-" + hashlib.sha256(text.encode()).hexdigest()[:16]


def refresh(
    settings: Settings,
    measures: Sequence[Measure] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> RefreshResult:
    """Recompute what changed, keep the rest, and publish every result."""
    measures = list(MEASURES.values()) if measures is None else list(measures)
    with open_warehouse_for_writing(settings, purpose="refresh the progress measures") as backend:
        writer = WarehouseWriter(backend)
        writer.ensure_table(RESULTS_TABLE, RESULTS_SCHEMA)
        manifests = load_manifests(backend)
        prints = fingerprints(manifests, measures)
        stored = _stored_fingerprints(backend)
        loaded = {m["dataset"] for m in manifests if m["status"] == "active"}
        # A measure missing some of its data, with nothing stored, has nothing to redo.
        stale = [
            m
            for m in measures
            if stored.get(m.id) != prints[m.id]
            and (m.id in stored or all(d in loaded for d in m.datasets))
        ]
        frame = compute(
            backend,
            stale,
            breakdowns=BREAKDOWNS,
            progress=progress,
        )
        frame["fingerprint"] = frame["measure_id"].map(prints)
        gone = [m for m in stored if m not in prints]
        with writer.transaction():
            for measure_id in [m.id for m in stale] + gone:
                writer.execute(f"DELETE FROM {RESULTS_TABLE} WHERE measure_id = ?", (measure_id,))
            writer.append(RESULTS_TABLE, _results_arrow(frame))
        everything = backend.table(RESULTS_TABLE).to_pandas()
        comparators = saved_comparators(backend)
    everything["period_start"] = pd.to_datetime(everything["period_start"]).dt.date
    everything["period_end"] = pd.to_datetime(everything["period_end"]).dt.date
    everything = everything.sort_values(
        ["measure_id", "frequency", "breakdown", "breakdown_version", "group", "period_start"]
    )
    tables = publication_tables(everything, {m.id: m for m in measures}, comparators)
    tables["deal_priorities"] = pa.Table.from_pylist(priorities_rows(load_deal()))
    snapshot = publish_snapshot(settings.data_dir, tables, carry_forward=True)
    log.info("Published %s measure results in snapshot %s.", len(everything), snapshot.id)
    return RefreshResult(
        recomputed=[m.id for m in stale],
        unchanged=[m.id for m in measures if m not in stale],
        rows=len(everything),
        snapshot_id=snapshot.id,
    )


def _stored_fingerprints(backend: ibis.BaseBackend) -> dict[str, str]:
    results = backend.table(RESULTS_TABLE)
    rows = results.select("measure_id", "fingerprint").distinct().to_pyarrow().to_pylist()
    return {r["measure_id"]: r["fingerprint"] for r in rows}


def _results_arrow(frame: pd.DataFrame) -> pa.Table:
    schema = pa.schema([(name, _ARROW[kind]) for name, kind in RESULTS_SCHEMA])
    if frame.empty:
        return schema.empty_table()
    frame = frame[[*RESULT_COLUMNS, "fingerprint"]]
    # from_pandas turns NaN into null, which both warehouses store as NULL.
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


_ARROW = {
    "string": pa.string(),
    "date": pa.date32(),
    "boolean": pa.bool_(),
    "float64": pa.float64(),
}


def _due(context: StepContext) -> list[str]:
    """Due when the published load manifests differ from what the measures last saw."""
    if context.settings is None or current_snapshot_id(context.settings.data_dir) is None:
        return []
    snapshot = open_snapshot(context.settings.data_dir)
    if "loads" not in snapshot.table_names:
        return []
    manifests = snapshot.table("loads").to_pylist()
    if not manifests:
        return []
    return [due_key(manifests, MEASURES.values())]


def _run(context: StepContext, key: str) -> str:
    del key  # the key only says which state of the loads this run reflects
    return refresh(context.settings).summary()


STEP = Step(
    name="refresh-measures",
    description="Recompute the progress measures that new loads touched and publish them.",
    due=_due,
    run=_run,
)
