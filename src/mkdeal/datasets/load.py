"""Loads: a checked extract into the warehouse, with its manifest and quarantine.

Semantics (DESIGN.md, "Loads"):
- a load is one file of one dataset from one source (a partner's ODS code) for one period;
- the same file for the same period again changes nothing (the load id is derived from
  dataset, source, period, file hash and key, so it is the same id);
- a corrected extract for the same source and exactly the same period replaces that slice;
  an overlapping but different period from the same source is refused;
- reference datasets (no period) are replaced whole per source;
- a warehouse holding loads made under another pseudonymisation key refuses new ones;
- each load's rows, quarantine and manifest change in one transaction, so a load killed
  half-way leaves the previous state; read = loaded + quarantined, always.

After every change the manifests and quarantine summaries are published for pages.
"""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.csv as pa_csv

from mkdeal.datasets import get_dataset
from mkdeal.datasets.contract import Dataset
from mkdeal.datasets.staging import Period, StagedFile, stage
from mkdeal.deal import load_deal
from mkdeal.errors import UserError
from mkdeal.people import Pseudonymiser
from mkdeal.publish import publish_snapshot
from mkdeal.settings import Settings
from mkdeal.warehouse import open_warehouse_for_writing

log = logging.getLogger(__name__)

PURPOSES = ("direct-care", "planning", "research")
LOADS_TABLE = "_loads"
QUARANTINE_TABLE = "_quarantine"
LOADS_COLUMNS = [
    ("load_id", "string"),
    ("dataset", "string"),
    ("source", "string"),
    ("period_start", "date"),
    ("period_end", "date"),
    ("file_name", "string"),
    ("file_sha256", "string"),
    ("read", "int64"),
    ("loaded", "int64"),
    ("quarantined", "int64"),
    ("agreement", "string"),
    ("purpose", "string"),
    ("key_fingerprint", "string"),
    ("loaded_at", "timestamp('UTC')"),
    ("as_of", "date"),
    ("status", "string"),  # active, replaced, unloaded
    ("replaced_by", "string"),
]
QUARANTINE_COLUMNS = [
    ("load_id", "string"),
    ("dataset", "string"),
    ("row", "int64"),
    ("field", "string"),
    ("reason", "string"),
    ("detail", "string"),
    ("record", "string"),
]


@dataclass(frozen=True)
class LoadResult:
    load_id: str
    dataset: str
    source: str
    period: Period | None
    read: int
    loaded: int
    quarantined: int
    reasons: list[dict]  # field, reason, rows
    outcome: str  # loaded, replaced <ids>, unchanged
    replaced: tuple[str, ...] = ()

    def as_dict(self) -> dict:
        return {
            "load_id": self.load_id,
            "dataset": self.dataset,
            "source": self.source,
            "period": str(self.period) if self.period else None,
            "outcome": self.outcome,
            "replaced": list(self.replaced),
            "read": self.read,
            "loaded": self.loaded,
            "quarantined": self.quarantined,
            "reasons": self.reasons,
        }


class WarehouseWriter:
    """DDL, DML and bulk appends through the ibis backend's own connection."""

    def __init__(self, backend: ibis.BaseBackend) -> None:
        self.backend = backend
        self.kind = backend.name
        if self.kind not in ("duckdb", "postgres"):
            raise UserError(f"Loads into a {self.kind} warehouse are not supported yet.")

    def ensure_table(self, name: str, columns: list[tuple[str, str]]) -> None:
        if name not in self.backend.list_tables():
            self.backend.create_table(name, schema=ibis.schema(columns))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self.kind == "duckdb":
            self.backend.con.begin()
            try:
                yield
            except BaseException:
                self.backend.con.rollback()
                raise
            self.backend.con.commit()
        else:
            with self.backend.con.transaction():
                yield

    def execute(self, sql: str, params: tuple = ()) -> None:
        if self.kind == "postgres":
            sql = sql.replace("?", "%s")
        self.backend.con.execute(sql, params)

    def append(self, name: str, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        if self.kind == "duckdb":
            self.backend.con.register("_mkdeal_append", table)
            try:
                self.backend.con.execute(f"INSERT INTO {_quote(name)} SELECT * FROM _mkdeal_append")
            finally:
                self.backend.con.unregister("_mkdeal_append")
            return
        # PostgreSQL: one COPY of the whole table as CSV, not a row at a time.
        buffer = io.BytesIO()
        pa_csv.write_csv(table, buffer, pa_csv.WriteOptions(include_header=False))
        columns = ", ".join(_quote(column) for column in table.column_names)
        with (
            self.backend.con.cursor() as cursor,
            cursor.copy(f"COPY {_quote(name)} ({columns}) FROM STDIN WITH (FORMAT csv)") as copy,
        ):
            copy.write(buffer.getvalue())

    def read(self, name: str) -> ibis.Table:
        return self.backend.table(name)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def known_sources() -> dict[str, str]:
    """Codes a load may name as its source: each partner's ODS code, else its ONS code."""
    sources = {}
    for partner in load_deal().partners:
        code = partner.ods_code or partner.ons_code
        if code:
            sources[code] = partner.name
    return sources


def load_file(
    settings: Settings,
    dataset: Dataset | str,
    path: Path,
    *,
    source: str,
    as_of: date,
    period: Period | None = None,
    agreement: str | None = None,
    purpose: str | None = None,
    progress: Callable[[str], None] = lambda message: None,
) -> LoadResult:
    """Check, pseudonymise and load one extract; see the module docstring."""
    dataset = get_dataset(dataset) if isinstance(dataset, str) else dataset
    settings.require_keys()
    sources = known_sources()
    if source not in sources:
        raise UserError(
            f"--source {source!r} is not a partner of the Deal. Give the sending partner's "
            f"ODS code (or ONS code where it has none): {', '.join(sorted(sources))}."
        )
    agreement, purpose = _agreement_and_purpose(settings, agreement, purpose)
    pseudonymiser = Pseudonymiser(settings.pseudonymisation_key)

    progress(f"Checking {path.name} against the {dataset.name} contract...")
    staged = stage(dataset, path, pseudonymiser, period=period)
    load_id = _load_id(dataset, source, staged, pseudonymiser.fingerprint)
    progress(
        f"Checked {staged.read} rows: {staged.loaded} good, {staged.quarantined} to quarantine."
    )

    with open_warehouse_for_writing(
        settings, purpose=f"loading {dataset.name} {load_id}"
    ) as backend:
        writer = WarehouseWriter(backend)
        _ensure_tables(writer, dataset)
        _refuse_other_key(writer, pseudonymiser.fingerprint)
        loads = writer.read(LOADS_TABLE)
        active = (
            loads.filter(
                (loads.dataset == dataset.name)
                & (loads.source == source)
                & (loads.status == "active")
            )
            .to_pyarrow()
            .to_pylist()
        )
        if any(load["load_id"] == load_id for load in active):
            progress(f"{path.name} is already loaded as {load_id}; nothing changed.")
            return _result(staged, load_id, source, "unchanged")
        replaced = _slices_to_replace(dataset, source, staged.period, active)
        if dataset.replaces_by:
            replaced = _reference_slices(writer, dataset, staged.good, replaced)
        progress(f"Writing {staged.loaded} rows to the warehouse...")
        with writer.transaction():
            for old in replaced:
                _remove_rows(writer, dataset.name, old)
                writer.execute(
                    f"UPDATE {LOADS_TABLE} SET status = 'replaced', replaced_by = ? "
                    "WHERE load_id = ?",
                    (load_id, old),
                )
            writer.append(
                dataset.name,
                staged.good.add_column(
                    0, "_load_id", pa.array([load_id] * staged.loaded, pa.string())
                ),
            )
            writer.append(QUARANTINE_TABLE, _quarantine_table(staged, load_id))
            writer.append(
                LOADS_TABLE,
                _manifest_row(staged, load_id, source, agreement, purpose, pseudonymiser, as_of),
            )
        publish_load_state(settings, writer)
    outcome = f"replaced {', '.join(replaced)}" if replaced else "loaded"
    log.info("Load %s of %s from %s: %s.", load_id, dataset.name, source, outcome)
    return _result(staged, load_id, source, outcome, tuple(replaced))


def _agreement_and_purpose(
    settings: Settings, agreement: str | None, purpose: str | None
) -> tuple[str, str]:
    if not settings.is_dev and (agreement is None or purpose is None):
        raise UserError(
            "In prod every load must name its data sharing agreement (--agreement) and "
            f"purpose (--purpose, one of {', '.join(PURPOSES)})."
        )
    purpose = purpose or "planning"
    if purpose not in PURPOSES:
        raise UserError(f"--purpose must be one of {', '.join(PURPOSES)}, not {purpose!r}.")
    return agreement or "synthetic", purpose


def _load_id(dataset: Dataset, source: str, staged: StagedFile, fingerprint: str) -> str:
    parts = (dataset.name, source, str(staged.period), staged.file_sha256, fingerprint)
    return "L" + hashlib.sha256("|".join(parts).encode()).hexdigest()[:12]


def _ensure_tables(writer: WarehouseWriter, dataset: Dataset) -> None:
    writer.ensure_table(LOADS_TABLE, LOADS_COLUMNS)
    writer.ensure_table(QUARANTINE_TABLE, QUARANTINE_COLUMNS)
    writer.ensure_table(dataset.name, dataset.warehouse_columns())


def _refuse_other_key(writer: WarehouseWriter, fingerprint: str) -> None:
    loads = writer.read(LOADS_TABLE)
    others = (
        loads.filter((loads.status == "active") & (loads.key_fingerprint != fingerprint))
        .select("key_fingerprint")
        .distinct()
        .to_pyarrow()["key_fingerprint"]
        .to_pylist()
    )
    if others:
        raise UserError(
            f"The warehouse holds loads made under the pseudonymisation key {others[0]}, but "
            f"the key in force is {fingerprint}. Loading under another key would split every "
            "person in two: use the original key."
        )


def _slices_to_replace(
    dataset: Dataset, source: str, period: Period | None, active: list[dict]
) -> list[str]:
    if dataset.period_column is None:
        return [load["load_id"] for load in active]
    if period is None:
        return []
    same, overlapping = [], []
    for load in active:
        if load["period_start"] is None:
            continue
        existing = Period(load["period_start"], load["period_end"])
        if existing == period:
            same.append(load["load_id"])
        elif existing.overlaps(period):
            overlapping.append(f"{load['load_id']} ({existing})")
    if overlapping:
        raise UserError(
            f"The period {period} overlaps {', '.join(overlapping)}, already loaded for "
            f"{dataset.name} from {source}. Load the same period to replace a slice, or "
            "`mkdeal unload` the old load first."
        )
    return same


def _reference_slices(
    writer: WarehouseWriter, dataset: Dataset, good: pa.Table, active: list[str]
) -> list[str]:
    """The active loads holding any of the new file's slice values (its index versions):
    only those are replaced, so one source can keep several versions side by side."""
    if not active:
        return []
    values = sorted(set(good.column(dataset.replaces_by).to_pylist()) - {None})
    if not values:
        return []
    table = writer.read(dataset.name)
    column = table[dataset.replaces_by]
    holding = (
        table.filter(table._load_id.isin(active) & column.isin(values))
        .select("_load_id")
        .distinct()
        .to_pyarrow()
    )
    return sorted(holding["_load_id"].to_pylist())


def _remove_rows(writer: WarehouseWriter, table: str, load_id: str) -> None:
    writer.execute(f"DELETE FROM {_quote(table)} WHERE _load_id = ?", (load_id,))
    writer.execute(f"DELETE FROM {QUARANTINE_TABLE} WHERE load_id = ?", (load_id,))


def _quarantine_table(staged: StagedFile, load_id: str) -> pa.Table:
    rows = staged.quarantine.num_rows
    table = staged.quarantine
    table = table.add_column(0, "dataset", pa.array([staged.dataset.name] * rows, pa.string()))
    return table.add_column(0, "load_id", pa.array([load_id] * rows, pa.string()))


def _manifest_row(
    staged: StagedFile,
    load_id: str,
    source: str,
    agreement: str,
    purpose: str,
    pseudonymiser: Pseudonymiser,
    as_of: date,
) -> pa.Table:
    period = staged.period
    row = {
        "load_id": load_id,
        "dataset": staged.dataset.name,
        "source": source,
        "period_start": period.start if period else None,
        "period_end": period.end if period else None,
        "file_name": staged.path.name,
        "file_sha256": staged.file_sha256,
        "read": staged.read,
        "loaded": staged.loaded,
        "quarantined": staged.quarantined,
        "agreement": agreement,
        "purpose": purpose,
        "key_fingerprint": pseudonymiser.fingerprint,
        "loaded_at": datetime.now(UTC),
        "as_of": as_of,
        "status": "active",
        "replaced_by": None,
    }
    schema = ibis.schema(LOADS_COLUMNS).to_pyarrow()
    return pa.Table.from_pylist([row], schema=schema)


def _reasons(quarantine: pa.Table) -> list[dict]:
    if quarantine.num_rows == 0:
        return []
    counts = quarantine.group_by(["field", "reason"]).aggregate([("row", "count")])
    counts = counts.sort_by([("row_count", "descending"), ("field", "ascending")])
    return [
        {"field": r["field"], "reason": r["reason"], "rows": r["row_count"]}
        for r in counts.to_pylist()
    ]


def _result(
    staged: StagedFile, load_id: str, source: str, outcome: str, replaced: tuple[str, ...] = ()
) -> LoadResult:
    return LoadResult(
        load_id=load_id,
        dataset=staged.dataset.name,
        source=source,
        period=staged.period,
        read=staged.read,
        loaded=staged.loaded,
        quarantined=staged.quarantined,
        reasons=_reasons(staged.quarantine),
        outcome=outcome,
        replaced=replaced,
    )


def unload(settings: Settings, load_id: str) -> dict:
    """Remove a load's rows and quarantine; its manifest stays, marked unloaded."""
    with open_warehouse_for_writing(settings, purpose=f"unloading {load_id}") as backend:
        writer = WarehouseWriter(backend)
        if LOADS_TABLE not in backend.list_tables():
            raise UserError("Nothing has been loaded yet, so there is nothing to unload.")
        loads = writer.read(LOADS_TABLE)
        found = loads.filter(loads.load_id == load_id).to_pyarrow().to_pylist()
        if not found:
            raise UserError(f"There is no load {load_id}. `mkdeal loads` lists them.")
        load = found[0]
        if load["status"] != "active":
            raise UserError(f"Load {load_id} is already {load['status']}; nothing to remove.")
        with writer.transaction():
            _remove_rows(writer, load["dataset"], load_id)
            writer.execute(
                f"UPDATE {LOADS_TABLE} SET status = 'unloaded' WHERE load_id = ?", (load_id,)
            )
        publish_load_state(settings, writer)
    return load


def list_loads(settings: Settings, dataset: str | None = None) -> list[dict]:
    with open_warehouse_for_writing(settings, purpose="listing loads") as backend:
        if LOADS_TABLE not in backend.list_tables():
            return []
        loads = backend.table(LOADS_TABLE)
        if dataset:
            loads = loads.filter(loads.dataset == dataset)
        return loads.order_by([loads.loaded_at, loads.load_id]).to_pyarrow().to_pylist()


def quarantined_rows(settings: Settings, load_id: str, limit: int | None = None) -> list[dict]:
    with open_warehouse_for_writing(settings, purpose="reading quarantine") as backend:
        if LOADS_TABLE not in backend.list_tables():
            raise UserError("Nothing has been loaded yet.")
        loads = backend.table(LOADS_TABLE)
        if loads.filter(loads.load_id == load_id).count().to_pyarrow().as_py() == 0:
            raise UserError(f"There is no load {load_id}. `mkdeal loads` lists them.")
        rows = backend.table(QUARANTINE_TABLE)
        rows = rows.filter(rows.load_id == load_id).order_by("row")
        if limit:
            rows = rows.limit(limit)
        return rows.select("row", "field", "reason", "detail", "record").to_pyarrow().to_pylist()


def publish_load_state(settings: Settings, writer: WarehouseWriter) -> None:
    """Publish every manifest and each load's quarantine counts for pages to read."""
    loads = writer.read(LOADS_TABLE).order_by("loaded_at", "load_id").to_pyarrow()
    quarantine = writer.read(QUARANTINE_TABLE)
    summary = (
        quarantine.group_by(["load_id", "dataset", "field", "reason"])
        .aggregate(rows=quarantine.count())
        .order_by(["load_id", "field", "reason"])
        .to_pyarrow()
    )
    publish_snapshot(
        settings.data_dir,
        {"loads": loads, "quarantine_summary": summary},
        carry_forward=True,
    )
