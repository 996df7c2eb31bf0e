"""Every real dataset through the loader, with cases generated from its own contract.

For each dataset: a contract-shaped file loads whole; a bad value of every kind its
columns allow is quarantined with the reason the contract implies; every row check has a
row that breaks it; re-loads, corrections, overlaps, unloads, wrong columns and files
whose rows all fail behave as DESIGN.md says; DuckDB and PostgreSQL give identical rows;
and for random mixes of good and bad rows, loaded + quarantined = read with no NHS
number anywhere but the source file.
"""

from __future__ import annotations

import dataclasses
import logging
import uuid
from datetime import date

import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from mkdeal.datasets import DATASETS
from mkdeal.datasets.codes import code_list
from mkdeal.datasets.contract import Column, Dataset
from mkdeal.datasets.load import QUARANTINE_TABLE, list_loads, load_file, quarantined_rows, unload
from mkdeal.datasets.shaped import shaped_table
from mkdeal.datasets.staging import Period
from mkdeal.errors import UserError
from mkdeal.warehouse import open_warehouse_for_writing

from .conftest import POSTGRES_URL

AS_OF = date(2026, 3, 31)
NAMES = list(DATASETS)
ROWS = 60
SOURCE = {"area_deprivation": "E06000042", "residents": "QHG"}


def source_for(name: str) -> str:
    return SOURCE.get(name, "RD8")


def write(table: pa.Table, path):
    pa_csv.write_csv(table, path)
    return path


def load(settings, name, path, **options):
    return load_file(
        settings, name, path, source=options.pop("source", source_for(name)), as_of=AS_OF, **options
    )


def rows_in(settings, table):
    with open_warehouse_for_writing(settings, purpose="a test") as backend:
        if table not in backend.list_tables():
            return []
        return backend.table(table).order_by(["_load_id", "_row"]).to_pyarrow()


def with_row(table: pa.Table, index: int, **values) -> pa.Table:
    """`table` with the values of row `index` replaced (every column is text)."""
    for name, value in values.items():
        column = table[name].to_pylist()
        column[index] = value
        table = table.set_column(
            table.column_names.index(name), name, pa.array(column, pa.string())
        )
    return table


# --- bad values, one per kind of check a column carries ---------------------------------


def bad_values(column: Column) -> list[tuple[str, str]]:
    """(bad value, the reason's start) for each check this column's contract implies."""
    cases = []
    if column.required:
        cases.append(("", "is missing"))
    unparsable = {
        "integer": ("1.5", "is not a whole number"),
        "decimal": ("twelve", "is not a number"),
        "date": ("2025-02-30", "is not a date"),
        "year_month": ("2025-13", "is not a year and month"),
        "timestamp": ("the morning", "is not a date and time"),
        "boolean": ("perhaps", "is not yes or no"),
        "nhs_number": ("9434765918", "fails the NHS number modulus 11 check digit"),
    }
    if column.type in unparsable:
        cases.append(unparsable[column.type])
    if column.type == "nhs_number":
        cases.append(("94347659", "is not a 10-digit NHS number"))
    if column.type == "timestamp":
        # 30 March 2025: the clocks went from 01:00 to 02:00 GMT, so 01:30 never happened.
        cases.append(("2025-03-30 01:30", "is a local time that does not exist"))
    if column.codes:
        cases.append(("NOT-A-CODE", f"is not a code in {code_list(column.codes).title}"))
    if column.pattern:
        cases.append(("@@@", f"is not {column.pattern_name}"))
    if isinstance(column.minimum, int | float):
        cases.append((str(column.minimum - 1), "is below the plausible minimum"))
    if isinstance(column.maximum, int | float):
        cases.append((str(column.maximum + 1), "is above the plausible maximum"))
    return cases


@pytest.fixture(scope="module")
def shaped_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shaped")
    return {name: shaped_table(dataset, ROWS, seed=7) for name, dataset in DATASETS.items()} | {
        "_folder": folder
    }


@pytest.mark.parametrize("name", NAMES)
def test_dataset_shaped_file_loads_whole(name, settings, shaped_files):
    path = write(shaped_files[name], shaped_files["_folder"] / f"{name}-whole.csv")

    result = load(settings, name, path)

    loaded = rows_in(settings, name)
    assert (result.read, result.loaded, result.quarantined) == (ROWS, ROWS, 0), result.reasons
    assert "nhs_number" not in loaded.column_names
    if DATASETS[name].person_level:
        assert loaded["person_id"].null_count < ROWS


@pytest.mark.parametrize("name", NAMES)
def test_dataset_bad_values_are_quarantined_with_their_reasons(
    name, settings, shaped_files, tmp_path
):
    # One bad value per row: row i + 2 of the file carries case i.
    cases = [
        (c.name, value, reason) for c in DATASETS[name].columns for value, reason in bad_values(c)
    ]
    table = shaped_files[name]
    for index, (field, value, _) in enumerate(cases):
        table = with_row(table, index, **{field: value})

    result = load(settings, name, write(table, tmp_path / "bad.csv"))

    quarantined = {row["row"]: row for row in quarantined_rows(settings, result.load_id)}
    assert result.loaded + result.quarantined == result.read == ROWS
    assert result.quarantined == len(cases), sorted(quarantined)
    for index, (field, value, reason) in enumerate(cases):
        row = quarantined[index + 2]
        assert (row["field"], row["reason"][: len(reason)]) == (field, reason), (value, row)
        assert "9434765918" not in row["record"]


# --- row checks: one row that breaks each ------------------------------------------------

ROW_CHECK_BREAKS = {
    ("residents", "date_of_death"): {"birth_month": "1950-06", "date_of_death": "1950-05-31"},
    ("acute_spells", "discharged_at"): {"discharged_at": "2000-01-01 00:00"},
    ("discharge_readiness", "discharge_ready_date"): {"discharge_ready_date": "2030-01-01"},
    ("ambulance_arrivals", "handed_over_at"): {"handed_over_at": "2000-01-01 00:00"},
    ("rtt_pathways", "clock_stopped_on"): {"clock_stopped_on": "2000-01-01"},
    ("ucr_referrals", "clock_stopped_at"): {"clock_stopped_at": "2000-01-01 00:00"},
    ("ucr_referrals", "clock_started_at"): {"clock_started_at": "2000-01-01 00:00"},
    ("reablement_follow_up", "reablement_started_on"): {"reablement_started_on": "2000-01-01"},
    ("asc_events", "event_ended_on"): {"event_ended_on": "2000-01-01"},
    ("child_measurements", "measured_on"): {"date_of_birth": "2030-01-01"},
    ("child_measurements", "date_of_birth"): {"date_of_birth": "2000-01-01"},
    ("adult_bmi", "bmi"): {"bmi": "", "height_cm": "", "weight_kg": ""},
}


def _break_cases():
    cases = []
    for name, dataset in DATASETS.items():
        seen = set()
        for check in dataset.row_checks:
            key = (name, check.field)
            if key in ROW_CHECK_BREAKS and key not in seen:
                seen.add(key)
                cases.append(
                    pytest.param(
                        name,
                        check.field,
                        check.reason,
                        ROW_CHECK_BREAKS[key],
                        id=f"{name}-{check.field}",
                    )
                )
    return cases


def test_every_row_check_field_has_a_breaking_case():
    fields = {(name, check.field) for name, d in DATASETS.items() for check in d.row_checks}
    covered = set(ROW_CHECK_BREAKS) | {
        # Checks whose breaking rows need several columns; each is tested by name below.
        ("discharge_readiness", "delay_reason"),
        ("rtt_pathways", "clock_started_on"),
        ("rtt_pathways", "rtt_treatment_function"),
        ("reablement_follow_up", "status_recorded_on"),
        ("asc_events", "service_type"),
    }
    assert fields <= covered, fields - covered


@pytest.mark.parametrize(("name", "field", "reason", "values"), _break_cases())
def test_dataset_row_check_quarantines_a_row_that_breaks_it(
    name, field, reason, values, settings, shaped_files, tmp_path
):
    table = with_row(shaped_files[name], 0, **values)

    result = load(settings, name, write(table, tmp_path / "bad.csv"))

    quarantined = quarantined_rows(settings, result.load_id)
    assert [(row["row"], row["field"]) for row in quarantined] == [(2, field)], quarantined
    reasons = {check.reason for check in DATASETS[name].row_checks if check.field == field}
    assert quarantined[0]["reason"] in reasons


def test_discharge_readiness_delay_reason_checks(settings, shaped_files, tmp_path):
    table = shaped_files["discharge_readiness"]
    june = {"snapshot_date": "2023-06-01", "discharge_ready_date": "2023-05-20"}
    table = with_row(table, 0, meets_criteria_to_reside="Y", delay_reason="2022-01", **june)
    table = with_row(table, 1, meets_criteria_to_reside="N", delay_reason="2024-01", **june)

    result = load(settings, "discharge_readiness", write(table, tmp_path / "bad.csv"))

    quarantined = quarantined_rows(settings, result.load_id)
    assert [(row["row"], row["field"]) for row in quarantined] == [
        (2, "delay_reason"),
        (3, "delay_reason"),
    ]
    assert "still meets the criteria to reside" in quarantined[0]["reason"]
    assert "not in effect on the snapshot date" in quarantined[1]["reason"]


def test_rtt_clock_start_after_census_and_total_lines_quarantined(settings, shaped_files, tmp_path):
    table = shaped_files["rtt_pathways"]
    table = with_row(table, 0, clock_started_on="2030-01-01", clock_stopped_on="")
    table = with_row(table, 1, rtt_treatment_function="C_999")

    result = load(settings, "rtt_pathways", write(table, tmp_path / "bad.csv"))

    quarantined = quarantined_rows(settings, result.load_id)
    assert [(row["row"], row["field"]) for row in quarantined] == [
        (2, "clock_started_on"),
        (3, "rtt_treatment_function"),
    ]


def test_reablement_status_before_day_91_quarantined(settings, shaped_files, tmp_path):
    example = {c.name: c.example for c in DATASETS["reablement_follow_up"].columns}
    discharged = date.fromisoformat(example["hospital_discharged_on"])
    early = date.fromordinal(discharged.toordinal() + 30).isoformat()
    table = with_row(
        shaped_files["reablement_follow_up"],
        0,
        hospital_discharged_on=example["hospital_discharged_on"],
        reablement_started_on=example["hospital_discharged_on"],
        status_91_days="at_home",
        status_recorded_on=early,
    )

    result = load(settings, "reablement_follow_up", write(table, tmp_path / "bad.csv"))

    quarantined = quarantined_rows(settings, result.load_id)
    assert [(row["row"], row["field"]) for row in quarantined] == [(2, "status_recorded_on")]


def test_asc_service_type_only_on_service_events(settings, shaped_files, tmp_path):
    codes = code_list("asc_event_type").codes
    not_service = next(code for code in codes if "service" not in code.lower())
    table = with_row(shaped_files["asc_events"], 0, event_type=not_service)

    result = load(settings, "asc_events", write(table, tmp_path / "bad.csv"))

    quarantined = quarantined_rows(settings, result.load_id)
    assert [(row["row"], row["field"]) for row in quarantined] == [(2, "service_type")]


def test_dataset_repeated_key_quarantines_the_later_row(settings, shaped_files, tmp_path):
    table = shaped_files["acute_spells"]
    repeat = table.slice(0, 1)
    result = load(
        settings, "acute_spells", write(pa.concat_tables([table, repeat]), tmp_path / "dup.csv")
    )

    quarantined = quarantined_rows(settings, result.load_id)
    assert [(row["row"], row["reason"], row["detail"]) for row in quarantined] == [
        (ROWS + 2, "repeats the key of an earlier row in the file", "first seen in row 2")
    ]


def test_residents_same_number_written_two_ways_is_one_key(settings, shaped_files, tmp_path):
    table = shaped_files["residents"]
    number = table["nhs_number"][0].as_py()
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    table = pa.concat_tables([table, with_row(table.slice(0, 1), 0, nhs_number=spaced)])

    result = load(settings, "residents", write(table, tmp_path / "dup.csv"))

    assert result.quarantined == 1


# --- the life of a load, for every dataset ----------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_dataset_reload_correction_overlap_and_unload(name, settings, shaped_files, tmp_path):
    dataset = DATASETS[name]
    table = shaped_files[name]
    path = write(table, tmp_path / "first.csv")
    first = load(settings, name, path)

    again = load(settings, name, path)
    corrected = load(
        settings,
        name,
        write(table.slice(0, ROWS - 5), tmp_path / "corrected.csv"),
        period=first.period,
    )

    assert again.outcome == "unchanged"
    assert corrected.outcome == f"replaced {first.load_id}"
    assert rows_in(settings, name).num_rows == ROWS - 5
    if dataset.period_column is not None:
        shifted = Period(first.period.start, date.fromordinal(first.period.end.toordinal() + 1))
        with pytest.raises(UserError, match="overlaps"):
            load(settings, name, write(table.slice(0, 3), tmp_path / "overlap.csv"), period=shifted)
    unload(settings, corrected.load_id)
    assert rows_in(settings, name).num_rows == 0
    statuses = {row["load_id"]: row["status"] for row in list_loads(settings, name)}
    assert statuses == {first.load_id: "replaced", corrected.load_id: "unloaded"}


@pytest.mark.parametrize("name", NAMES)
def test_dataset_file_with_wrong_columns_is_refused(name, settings, shaped_files, tmp_path):
    table = shaped_files[name]
    renamed = table.rename_columns([*table.column_names[:-1], "surprise"])

    with pytest.raises(
        UserError, match=rf"lacks {table.column_names[-1]}; it has unexpected surprise"
    ):
        load(settings, name, write(renamed, tmp_path / "wrong.csv"))
    assert list_loads(settings) == []


@pytest.mark.parametrize("name", NAMES)
def test_dataset_file_whose_rows_all_fail_keeps_every_row(name, settings, shaped_files, tmp_path):
    dataset: Dataset = DATASETS[name]
    key = dataset.natural_key[0]
    table = shaped_files[name]
    table = table.set_column(table.column_names.index(key), key, pa.array([""] * ROWS, pa.string()))

    result = load(settings, name, write(table, tmp_path / "all-bad.csv"))

    assert (result.read, result.loaded, result.quarantined) == (ROWS, 0, ROWS)
    assert result.reasons == [{"field": key, "reason": "is missing", "rows": ROWS}]


def test_ambulance_handover_across_the_october_clock_change(settings, shaped_files, tmp_path):
    # 26 October 2025: 02:00 BST became 01:00 GMT. Arrival 01:20 (first, BST), handover
    # 01:10 written with +00:00 (GMT, after the change): 50 minutes, not minus 10.
    table = with_row(
        shaped_files["ambulance_arrivals"].slice(0, 1),
        0,
        arrived_at="2025-10-26 01:20",
        handed_over_at="2025-10-26 01:10+00:00",
    )

    load(settings, "ambulance_arrivals", write(table, tmp_path / "clock.csv"))

    row = rows_in(settings, "ambulance_arrivals").to_pylist()[0]
    assert (row["handed_over_at"] - row["arrived_at"]).total_seconds() == 50 * 60
    assert (row["arrived_at_utc_offset_minutes"], row["handed_over_at_utc_offset_minutes"]) == (
        60,
        0,
    )


# --- DuckDB and PostgreSQL agree ---------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("name", NAMES)
def test_dataset_loads_identically_on_duckdb_and_postgres(
    name, settings, shaped_files, tmp_path, postgres_schema
):
    import psycopg

    schema = f"{postgres_schema}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        on_postgres = dataclasses.replace(
            settings, warehouse_url=f"{POSTGRES_URL}?schema={schema}", data_dir=tmp_path / "pg"
        )
        table = with_row(shaped_files[name], 1, **{DATASETS[name].natural_key[0]: ""})
        path = write(table, tmp_path / "file.csv")

        duck = load(settings, name, path)
        pg = load(on_postgres, name, path)

        assert duck.as_dict() == pg.as_dict()
        assert rows_in(settings, name).equals(rows_in(on_postgres, name))
        assert rows_in_quarantine(settings).equals(rows_in_quarantine(on_postgres))
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def rows_in_quarantine(settings):
    with open_warehouse_for_writing(settings, purpose="a test") as backend:
        return backend.table(QUARANTINE_TABLE).order_by(["load_id", "row"]).to_pyarrow()


# --- a property: nothing lost, no NHS number leaks ---------------------------------------


@hypothesis_settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    choices=st.lists(
        st.tuples(
            st.integers(0, ROWS - 1),
            st.sampled_from(["good", "bad_number", "bad_time", "blank_key", "bad_code"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_random_mix_adds_up_and_no_number_leaks(choices, tmp_path_factory, caplog):
    from mkdeal.settings import load_settings

    from .conftest import TEST_KEYS

    folder = tmp_path_factory.mktemp("mix")
    settings = load_settings({"MKDEAL_DATA_DIR": str(folder / "data"), **TEST_KEYS}, cwd=folder)
    base = shaped_table(DATASETS["acute_spells"], ROWS, seed=11)
    numbers = base["nhs_number"].to_pylist()
    rows = []
    for index, kind in choices:
        row = {name: base[name][index].as_py() for name in base.column_names}
        row["spell_id"] = f"S{len(rows)}"
        if kind == "bad_number":
            row["nhs_number"] = row["nhs_number"][:9] + str((int(row["nhs_number"][9]) + 1) % 10)
        elif kind == "bad_time":
            row["admitted_at"] = "2025-03-30 01:15"
        elif kind == "blank_key":
            row["spell_id"] = ""
        elif kind == "bad_code":
            row["admission_method"] = "XX"
        rows.append(row)
    path = write(pa.Table.from_pylist(rows, schema=base.schema), folder / "mix.csv")

    with caplog.at_level(logging.DEBUG, logger="mkdeal"):
        result = load(settings, "acute_spells", path)

    assert result.loaded + result.quarantined == result.read == len(rows)
    spells = rows_in(settings, "acute_spells")
    quarantine = rows_in_quarantine(settings)
    assert spells.num_rows == result.loaded and quarantine.num_rows == result.quarantined
    everything = "\n".join([str(spells.to_pylist()), str(quarantine.to_pylist()), caplog.text])
    for row in rows:
        assert row["nhs_number"] not in everything
    assert all(number not in everything for number in numbers)
