"""Loads end to end on a small contract of our own, on DuckDB and on PostgreSQL.

The eleven real contracts get the same treatment from rows generated from their own
columns in tests/test_datasets_loads.py; here each mechanism is tested once, clearly.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mkdeal.datasets.contract import Column, Dataset, NationalSource, RowCheck
from mkdeal.datasets.load import list_loads, load_file, quarantined_rows, unload
from mkdeal.datasets.staging import Period
from mkdeal.errors import UserError
from mkdeal.publish import open_snapshot
from mkdeal.warehouse import open_warehouse_for_writing

from .conftest import POSTGRES_URL

AS_OF = date(2026, 3, 31)
SOURCE = "RD8"
HEADER = "event_id,nhs_number,started_at,ended_at,event_date,score,urgent,area"
GOOD = [
    "E1,9434765919,2026-01-05 10:00,2026-01-05 12:30,2026-01-05,5,Y,E01000001",
    "E2,9990000018,2026-01-06T08:00:00+00:00,,2026-01-06,,n,",
    "E3,943 476 5919,06/01/2026 09:15,06/01/2026 09:45,06/01/2026,100,true,E01012345",
]

EVENTS = Dataset(
    name="test_events",
    title="Test events",
    description="A contract for testing the loader.",
    columns=(
        Column("event_id", "string", "The event's identifier."),
        Column("nhs_number", "nhs_number", "The person's NHS number."),
        Column("started_at", "timestamp", "When it started."),
        Column("ended_at", "timestamp", "When it ended.", required=False),
        Column("event_date", "date", "The day it counts for."),
        Column("score", "integer", "A score.", required=False, minimum=0, maximum=100),
        Column("urgent", "boolean", "Whether it was urgent."),
        Column(
            "area",
            "string",
            "Where.",
            required=False,
            pattern=r"E01[0-9]{6}",
            pattern_name="an LSOA 2021 code (E01 and six digits)",
        ),
    ),
    natural_key=("event_id",),
    period_column="event_date",
    mirrors=(NationalSource("None", "https://example.org"),),
    row_checks=(
        RowCheck(
            field="ended_at",
            reason="is before started_at",
            uses=("started_at", "ended_at"),
            holds=lambda t: t.ended_at >= t.started_at,
        ),
    ),
)


def in_utc(value: datetime) -> datetime:
    """A warehouse timestamp as an aware UTC datetime: the warehouse keeps UTC instants
    without a zone (ADR 0004, decision 14), so a naive value is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def write_csv(path: Path, rows: list[str], header: str = HEADER) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_settings(request, settings):
    """Settings whose warehouse is DuckDB, or PostgreSQL in a schema of its own."""
    if request.param == "duckdb":
        yield settings
        return
    import uuid

    import psycopg

    schema = f"{request.getfixturevalue('postgres_schema')}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    yield dataclasses.replace(settings, warehouse_url=f"{POSTGRES_URL}?schema={schema}")
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def load(settings, path, **options):
    options.setdefault("source", SOURCE)
    return load_file(settings, EVENTS, path, as_of=AS_OF, **options)


def warehouse_rows(settings, table="test_events"):
    with open_warehouse_for_writing(settings, purpose="a test") as backend:
        return backend.table(table).order_by(["_load_id", "_row"]).to_pyarrow().to_pylist()


def test_load_good_file_pseudonymises_and_keeps_time_offsets(warehouse_settings, tmp_path):
    result = load(warehouse_settings, write_csv(tmp_path / "e.csv", GOOD))

    rows = warehouse_rows(warehouse_settings)
    assert (result.read, result.loaded, result.quarantined) == (3, 3, 0)
    assert result.period == Period(date(2026, 1, 5), date(2026, 1, 6))
    assert [row["_row"] for row in rows] == [2, 3, 4]
    assert "nhs_number" not in rows[0]
    assert rows[0]["person_id"] == rows[2]["person_id"] != rows[1]["person_id"]
    assert len(rows[0]["person_id"]) == 32
    # January is GMT: local 10:00 is 10:00 UTC, offset 0.
    assert in_utc(rows[0]["started_at"]) == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert rows[0]["started_at_utc_offset_minutes"] == 0
    assert rows[1]["ended_at"] is None and rows[1]["score"] is None
    assert [row["urgent"] for row in rows] == [True, False, True]


BAD_ROWS = [
    ("E10,,2026-01-05 10:00,,2026-01-05,1,Y,", "nhs_number", "is missing"),
    (
        "E11,943476591,2026-01-05 10:00,,2026-01-05,1,Y,",
        "nhs_number",
        "is not a 10-digit NHS number",
    ),
    (
        "E12,9434765918,2026-01-05 10:00,,2026-01-05,1,Y,",
        "nhs_number",
        "fails the NHS number modulus 11 check digit",
    ),
    ("E13,9434765919,yesterday,,2026-01-05,1,Y,", "started_at", "is not a date and time"),
    (
        "E14,9434765919,2026-03-29 01:30,,2026-01-05,1,Y,",
        "started_at",
        "is a local time that does not exist in Europe/London (the clocks went forward)",
    ),
    ("E15,9434765919,2026-01-05 10:00,,2026-02-30,1,Y,", "event_date", "is not a date"),
    ("E16,9434765919,2026-01-05 10:00,,2026-01-05,1.5,Y,", "score", "is not a whole number"),
    (
        "E17,9434765919,2026-01-05 10:00,,2026-01-05,101,Y,",
        "score",
        "is above the plausible maximum 100",
    ),
    (
        "E18,9434765919,2026-01-05 10:00,,2026-01-05,-1,Y,",
        "score",
        "is below the plausible minimum 0",
    ),
    ("E19,9434765919,2026-01-05 10:00,,2026-01-05,1,maybe,", "urgent", "is not yes or no"),
    (
        "E20,9434765919,2026-01-05 10:00,,2026-01-05,1,Y,W01000001",
        "area",
        "is not an LSOA 2021 code (E01 and six digits)",
    ),
    (
        "E21,9434765919,2026-01-05 10:00,2026-01-05 09:00,2026-01-05,1,Y,",
        "ended_at",
        "is before started_at",
    ),
    (",9434765919,2026-01-05 10:00,,2026-01-05,1,Y,", "event_id", "is missing"),
    ("E1,9434765919,2026-01-05 11:00,,2026-01-05,1,Y,", "event_id", "repeats the key"),
]


def test_load_bad_rows_each_quarantined_with_their_reason(warehouse_settings, tmp_path):
    path = write_csv(tmp_path / "e.csv", [GOOD[0], *[row for row, _, _ in BAD_ROWS]])

    result = load(warehouse_settings, path)

    quarantined = quarantined_rows(warehouse_settings, result.load_id)
    assert (result.read, result.loaded, result.quarantined) == (1 + len(BAD_ROWS), 1, len(BAD_ROWS))
    assert [row["row"] for row in quarantined] == list(range(3, 3 + len(BAD_ROWS)))
    for row, (_, field, reason) in zip(quarantined, BAD_ROWS, strict=True):
        assert row["field"] == field
        assert row["reason"].startswith(reason), row
    assert quarantined[-1]["detail"] == "first seen in row 2"
    assert sum(reason["rows"] for reason in result.reasons) == result.quarantined


def test_quarantine_masks_nhs_numbers_and_keeps_the_rest(warehouse_settings, tmp_path):
    path = write_csv(tmp_path / "e.csv", [BAD_ROWS[2][0], BAD_ROWS[1][0]])

    result = load(warehouse_settings, path)

    records = [
        json.loads(row["record"]) for row in quarantined_rows(warehouse_settings, result.load_id)
    ]
    assert records[0]["nhs_number"] == "*** *** 5918"
    assert records[1]["nhs_number"] == "*********"
    assert records[0]["event_id"] == "E12"


def test_load_same_file_again_changes_nothing(warehouse_settings, tmp_path):
    path = write_csv(tmp_path / "e.csv", GOOD)
    first = load(warehouse_settings, path)

    again = load(warehouse_settings, path)

    assert again.load_id == first.load_id
    assert again.outcome == "unchanged"
    assert len(warehouse_rows(warehouse_settings)) == 3
    assert len(list_loads(warehouse_settings)) == 1


def test_load_corrected_slice_replaces_the_old_one(warehouse_settings, tmp_path):
    period = Period(date(2026, 1, 1), date(2026, 1, 31))
    old = load(warehouse_settings, write_csv(tmp_path / "a.csv", GOOD), period=period)

    corrected = load(warehouse_settings, write_csv(tmp_path / "b.csv", GOOD[:2]), period=period)

    loads = {row["load_id"]: row for row in list_loads(warehouse_settings)}
    assert corrected.outcome == f"replaced {old.load_id}"
    assert loads[old.load_id]["status"] == "replaced"
    assert loads[old.load_id]["replaced_by"] == corrected.load_id
    assert {row["_load_id"] for row in warehouse_rows(warehouse_settings)} == {corrected.load_id}
    assert len(warehouse_rows(warehouse_settings)) == 2


def test_load_overlapping_slice_from_same_source_is_refused(warehouse_settings, tmp_path):
    load(
        warehouse_settings,
        write_csv(tmp_path / "a.csv", GOOD),
        period=Period(date(2026, 1, 1), date(2026, 1, 31)),
    )

    with pytest.raises(UserError, match=r"overlaps L[0-9a-f]{12} \(2026-01-01..2026-01-31\)"):
        load(
            warehouse_settings,
            write_csv(tmp_path / "b.csv", GOOD[:1]),
            period=Period(date(2026, 1, 5), date(2026, 2, 28)),
        )
    # Another source may send the same period.
    other = load(
        warehouse_settings,
        write_csv(tmp_path / "b.csv", GOOD[:1]),
        period=Period(date(2026, 1, 5), date(2026, 2, 28)),
        source="RV3",
    )
    assert other.outcome == "loaded"


def test_load_rows_outside_the_declared_period_are_quarantined(warehouse_settings, tmp_path):
    result = load(
        warehouse_settings,
        write_csv(tmp_path / "e.csv", GOOD),
        period=Period(date(2026, 1, 6), date(2026, 1, 31)),
    )

    quarantined = quarantined_rows(warehouse_settings, result.load_id)
    assert (result.loaded, result.quarantined) == (2, 1)
    assert quarantined[0]["field"] == "event_date"
    assert quarantined[0]["reason"] == "is outside the load's period 2026-01-06..2026-01-31"


def test_unload_removes_rows_and_keeps_the_manifest(warehouse_settings, tmp_path):
    result = load(warehouse_settings, write_csv(tmp_path / "e.csv", [*GOOD, BAD_ROWS[0][0]]))

    unload(warehouse_settings, result.load_id)

    assert warehouse_rows(warehouse_settings) == []
    assert quarantined_rows(warehouse_settings, result.load_id) == []
    assert list_loads(warehouse_settings)[0]["status"] == "unloaded"
    with pytest.raises(UserError, match="already unloaded"):
        unload(warehouse_settings, result.load_id)
    with pytest.raises(UserError, match="There is no load Lnothing"):
        unload(warehouse_settings, "Lnothing")


def test_load_file_with_wrong_columns_is_refused_whole(warehouse_settings, tmp_path):
    path = write_csv(
        tmp_path / "e.csv",
        ["x"],
        header="event_id,nhs_no,started_at,ended_at,event_date,score,urgent,area,extra",
    )

    with pytest.raises(UserError) as refused:
        load(warehouse_settings, path)

    message = str(refused.value)
    assert f"{path} does not match the test_events contract" in message
    assert "it lacks nhs_number" in message
    assert "it has unexpected nhs_no, extra" in message
    assert list_loads(warehouse_settings) == []


def test_load_file_whose_rows_all_fail_loads_nothing_and_keeps_them(warehouse_settings, tmp_path):
    result = load(
        warehouse_settings, write_csv(tmp_path / "e.csv", [row for row, _, _ in BAD_ROWS[:5]])
    )

    assert (result.read, result.loaded, result.quarantined) == (5, 0, 5)
    assert result.period is None
    assert list_loads(warehouse_settings)[0]["quarantined"] == 5


def test_load_across_the_october_clock_change(warehouse_settings, tmp_path):
    # 25 October 2026: clocks go back at 02:00 BST to 01:00 GMT, so 01:30 happens twice.
    rows = [
        "E1,9434765919,2026-10-25 00:50,2026-10-25 01:30,2026-10-25,,Y,",
        "E2,9434765919,2026-10-25 01:30,2026-10-25 02:10,2026-10-25,,Y,",
        "E3,9434765919,2026-10-25 01:30+00:00,2026-10-25 03:00,2026-10-25,,Y,",
    ]

    load(warehouse_settings, write_csv(tmp_path / "e.csv", rows))

    loaded = warehouse_rows(warehouse_settings)
    # An ambiguous naive time takes its first occurrence (BST, 00:30 UTC).
    assert in_utc(loaded[0]["ended_at"]) == datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    assert loaded[0]["ended_at_utc_offset_minutes"] == 60
    # 01:30 (first, BST) to 02:10 (GMT) lasts 1 h 40 min, computed in UTC.
    assert loaded[1]["ended_at"] - loaded[1]["started_at"] == datetime(
        2026, 1, 1, 1, 40
    ) - datetime(2026, 1, 1)
    # With an offset the time is taken as written: the second 01:30.
    assert in_utc(loaded[2]["started_at"]) == datetime(2026, 10, 25, 1, 30, tzinfo=UTC)
    assert loaded[2]["started_at_utc_offset_minutes"] == 0
    assert loaded[1]["ended_at_utc_offset_minutes"] == 0


def test_load_parquet_gives_the_same_rows_as_csv(settings, tmp_path, data_dir):
    csv_path = write_csv(tmp_path / "e.csv", GOOD[:2])
    table = pa.table(
        {
            "event_id": ["E1", "E2"],
            "nhs_number": ["9434765919", "9990000018"],
            "started_at": ["2026-01-05 10:00", "2026-01-06T08:00:00+00:00"],
            "ended_at": ["2026-01-05 12:30", None],
            "event_date": pa.array([date(2026, 1, 5), date(2026, 1, 6)]),
            "score": pa.array([5, None], pa.int64()),
            "urgent": [True, False],
            "area": ["E01000001", None],
        }
    )
    pq.write_table(table, tmp_path / "e.parquet")

    from_csv = load(settings, csv_path)
    rows_csv = warehouse_rows(settings)
    unload(settings, from_csv.load_id)
    load(settings, tmp_path / "e.parquet")
    rows_parquet = warehouse_rows(settings)

    strip = lambda rows: [{k: v for k, v in r.items() if k != "_load_id"} for r in rows]  # noqa: E731
    assert strip(rows_parquet) == strip(rows_csv)


def test_load_under_another_key_is_refused(settings, environ, tmp_path):
    load(settings, write_csv(tmp_path / "e.csv", GOOD))
    other = dataclasses.replace(settings, pseudonymisation_key=b"another-key-" + b"x" * 30)

    with pytest.raises(UserError, match="would split every person in two"):
        load(other, write_csv(tmp_path / "f.csv", GOOD[:1]), source="RV3")


def test_load_source_must_be_a_partner(settings, tmp_path):
    with pytest.raises(UserError, match="'XYZ' is not a partner of the Deal"):
        load(settings, write_csv(tmp_path / "e.csv", GOOD), source="XYZ")


def test_load_in_prod_needs_agreement_and_purpose(settings, tmp_path):
    prod = dataclasses.replace(settings, env="prod")
    with pytest.raises(UserError, match="must name its data sharing agreement"):
        load(prod, write_csv(tmp_path / "e.csv", GOOD))


def test_load_publishes_manifest_and_quarantine_summary(settings, tmp_path):
    result = load(
        settings, write_csv(tmp_path / "e.csv", [GOOD[0], BAD_ROWS[0][0], BAD_ROWS[1][0]])
    )

    snapshot = open_snapshot(settings.data_dir)
    manifest = snapshot.table("loads").to_pylist()[0]
    summary = snapshot.table("quarantine_summary").to_pylist()
    assert manifest["load_id"] == result.load_id
    assert (manifest["read"], manifest["loaded"], manifest["quarantined"]) == (3, 1, 2)
    assert manifest["key_fingerprint"] == settings.pseudonymisation_key_fingerprint
    assert manifest["agreement"] == "synthetic" and manifest["purpose"] == "planning"
    assert sorted((row["reason"], row["rows"]) for row in summary) == [
        ("is missing", 1),
        ("is not a 10-digit NHS number", 1),
    ]


KILLED_LOAD = """
import sys, time
from datetime import date
from pathlib import Path
from mkdeal.datasets import load as loads
from mkdeal.settings import load_settings
sys.path.insert(0, sys.argv[3])
from tests.test_loads import EVENTS

original = loads.WarehouseWriter.append
def slow_append(self, name, table):
    original(self, name, table)
    if name == "test_events":  # rows written, manifest not yet: stop here to be killed
        Path(sys.argv[2]).write_text("half way")
        time.sleep(120)
loads.WarehouseWriter.append = slow_append
loads.load_file(load_settings(), EVENTS, Path(sys.argv[1]), source="RD8",
                as_of=date(2026, 3, 31), period=loads.Period(date(2026, 1, 1), date(2026, 1, 31)))
"""


@pytest.mark.slow
def test_load_killed_half_way_leaves_the_previous_state(settings, environ, tmp_path):
    period = Period(date(2026, 1, 1), date(2026, 1, 31))
    before = load(settings, write_csv(tmp_path / "a.csv", GOOD), period=period)
    rows_before = warehouse_rows(settings)
    pause = tmp_path / "half-way"
    repo = str(Path(__file__).resolve().parents[1])

    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            KILLED_LOAD,
            str(write_csv(tmp_path / "b.csv", GOOD[:1])),
            str(pause),
            repo,
        ],
        env={**environ, "PATH": os.environ.get("PATH", "")},
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not pause.exists():
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()

    assert warehouse_rows(settings) == rows_before
    loads = list_loads(settings)
    assert [(row["load_id"], row["status"]) for row in loads] == [(before.load_id, "active")]


def test_load_counts_always_add_up(settings, tmp_path):
    # A quick, deterministic mix; the property test in test_datasets_loads.py goes wider.
    rows = [GOOD[0], *[row for row, _, _ in BAD_ROWS], GOOD[1]]
    result = load(settings, write_csv(tmp_path / "e.csv", rows))
    with open_warehouse_for_writing(settings, purpose="a test") as backend:
        in_warehouse = backend.table("test_events").count().to_pyarrow().as_py()
        in_quarantine = backend.table("_quarantine").count().to_pyarrow().as_py()
    assert in_warehouse + in_quarantine == result.read == len(rows)


def test_load_person_id_is_the_pseudonymisers(settings, tmp_path):
    from mkdeal.people import Pseudonymiser

    load(settings, write_csv(tmp_path / "e.csv", GOOD))

    expected = Pseudonymiser(settings.pseudonymisation_key)
    ids = [row["person_id"] for row in warehouse_rows(settings)]
    assert ids == [expected.person_id(n) for n in ("9434765919", "9990000018", "9434765919")]
