"""Tests for mkdeal.synth.hospital: contracts, determinism, clocks and calibration targets.

The quick tests use a small world (scale 0.05); the slow ones the default size (scale 1.0)
and check each target in TARGETS by plain counting in DuckDB and numpy.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pcsv
import pytest

from mkdeal.datasets import DATASETS
from mkdeal.datasets.codes import code_list
from mkdeal.datasets.staging import stage
from mkdeal.people import Pseudonymiser
from mkdeal.synth import hospital as h
from mkdeal.synth.population import build_world

SEED = 20190401
START, END = date(2019, 4, 1), date(2026, 3, 31)
NAMES = ("acute_spells", "discharge_readiness", "ambulance_arrivals")
LONDON = ZoneInfo("Europe/London")


def _target(name: str) -> h.Target:
    return next(target for target in h.TARGETS if target.name == name)


def _utc(text: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """UTC instants of written clock times, through pandas and the IANA database: a bare
    time in October's repeated hour is its first (BST) pass, +00:00 marks the second."""
    values = pd.Series(text.to_pylist(), dtype="object")
    second = values.str.endswith("+00:00", na=False)
    clock = pd.to_datetime(values.str.slice(0, 16), format="%Y-%m-%d %H:%M")
    local = clock.dt.tz_localize(LONDON, ambiguous=~second.to_numpy(), nonexistent="raise")
    return local.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy().astype("datetime64[m]")


@pytest.fixture(scope="module")
def small():
    world = build_world(np.random.default_rng(SEED), START, END, 0.05)
    return world, h.hospital(world, np.random.default_rng([SEED, 1]), 0.05)


@pytest.fixture(scope="module")
def full():
    world = build_world(np.random.default_rng(SEED), START, END, 1.0)
    return world, h.hospital(world, np.random.default_rng([SEED, 1]), 1.0)


def _con(tables: dict[str, pa.Table]) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, table in tables.items():
        con.register(name, table)
    con.execute(
        "CREATE TEMP VIEW spells AS SELECT *, CAST(left(admitted_at, 10) AS DATE) AS admitted_on, "
        "CAST(left(discharged_at, 10) AS DATE) AS discharged_on FROM acute_spells"
    )
    return con


# --- Contracts and determinism (small world) -------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_hospital_table_passes_its_contract(small, tmp_path, name):
    _, tables = small
    table = tables[name]
    path = tmp_path / f"{name}.csv"
    pcsv.write_csv(table, path)

    staged = stage(DATASETS[name], path, Pseudonymiser(b"k" * 32))

    assert table.column_names == list(DATASETS[name].column_names)
    assert all(field.type == pa.string() for field in table.schema)
    assert table.num_rows > 1000
    assert staged.quarantined == 0
    assert staged.period.start >= START and staged.period.end <= END


def test_hospital_tables_same_for_same_seed(small):
    world, tables = small

    again = h.hospital(world, np.random.default_rng([SEED, 1]), 0.05)

    assert all(again[name].equals(tables[name]) for name in NAMES)


def test_each_generator_equals_hospital_for_same_seed(small):
    world, tables = small

    for name in NAMES:
        alone = getattr(h, name)(world, np.random.default_rng([SEED, 1]), 0.05)
        assert alone.equals(tables[name]), name


def test_hospital_tables_differ_for_another_seed(small):
    world, tables = small

    other = h.hospital(world, np.random.default_rng([SEED, 2]), 0.05)

    assert not any(other[name].equals(tables[name]) for name in NAMES)


def test_spells_start_in_period_and_open_spells_have_no_discharge(small):
    _, tables = small
    con = _con(tables)

    first, last = con.sql("SELECT min(admitted_on), max(admitted_on) FROM spells").fetchone()
    open_with_outcome = con.sql(
        "SELECT count(*) FROM spells WHERE discharged_at IS NULL AND (discharge_method IS NOT "
        "NULL OR discharge_destination IS NOT NULL OR discharge_pathway IS NOT NULL)"
    ).fetchone()[0]
    open_spells = con.sql("SELECT count(*) FROM spells WHERE discharged_at IS NULL").fetchone()[0]

    assert first >= START and last <= END
    assert open_with_outcome == 0
    assert open_spells > 0


def test_spells_of_residents_alive_and_born_at_admission(small):
    world, tables = small
    spells = tables["acute_spells"]
    index = {number: i for i, number in enumerate(world.nhs_numbers)}
    person = np.array([index[n] for n in spells["nhs_number"].to_pylist()])
    admitted = np.array([t[:10] for t in spells["admitted_at"].to_pylist()], "datetime64[D]")
    discharged = np.array(
        [t[:10] if t else "NaT" for t in spells["discharged_at"].to_pylist()], "datetime64[D]"
    )
    died = np.array(spells["discharge_method"].to_pylist(), dtype=object) == "4"
    death = world.death_dates[person]

    assert (world.birth_dates[person] <= admitted).all()
    assert ((np.isnat(death)) | (admitted <= death)).all()
    assert (discharged[died] == death[died]).all()
    # Nobody is discharged alive after their death date.
    alive_out = ~died & ~np.isnat(discharged) & ~np.isnat(death)
    assert (discharged[alive_out] < death[alive_out]).all()


def test_spells_of_a_person_do_not_overlap(small):
    _, tables = small
    con = _con(tables)

    overlaps = con.sql(
        "SELECT count(*) FROM (SELECT admitted_at, lag(coalesce(discharged_at, '9999')) OVER "
        "(PARTITION BY nhs_number ORDER BY admitted_at) AS previous_end FROM spells) "
        "WHERE admitted_at < previous_end"
    ).fetchone()[0]

    assert overlaps == 0


def test_readiness_rows_are_adult_general_acute_inpatients_at_the_snapshot(small):
    world, tables = small
    con = _con(tables)
    birth = pa.table(
        {"nhs_number": world.nhs_numbers, "birth": world.birth_dates.astype("datetime64[s]")}
    )
    con.register("birth", birth)

    outside = con.sql(
        """
        SELECT count(*) FROM discharge_readiness r
        JOIN spells s USING (spell_id)
        JOIN birth b ON b.nhs_number = r.nhs_number
        WHERE s.bed_type <> 'adult_general_acute'
           OR s.nhs_number <> r.nhs_number
           OR s.admitted_at > r.snapshot_taken_at
           OR s.discharged_at <= r.snapshot_taken_at
           OR date_diff('day', b.birth, CAST(r.snapshot_date AS DATE)) < 18 * 365.25
        """
    ).fetchone()[0]
    # Rows whose spell began before world.start are the warm-up: earlier spell numbers.
    unmatched = con.sql(
        "SELECT count(*), max(spell_id) FROM discharge_readiness "
        "WHERE spell_id NOT IN (SELECT spell_id FROM spells)"
    ).fetchone()
    first_spell = con.sql("SELECT min(spell_id) FROM spells").fetchone()[0]

    assert outside == 0
    assert unmatched[0] > 0 and unmatched[1] < first_spell


def test_readiness_has_every_day_of_the_period(small):
    _, tables = small

    days = set(tables["discharge_readiness"]["snapshot_date"].to_pylist())

    assert len(days) == (END - START).days + 1


def test_readiness_delay_reasons_follow_the_specification_in_effect(small):
    _, tables = small
    con = _con(tables)
    reasons = code_list("sitrep_delay_reason")
    con.register(
        "reasons",
        pa.table(
            {
                "code": list(reasons.codes),
                "version": [reasons.attribute(c, "spec_version") for c in reasons.codes],
            }
        ),
    )

    by_period = con.sql(
        """
        SELECT CASE WHEN snapshot_date < '2022-05-27' THEN 'before'
                    WHEN snapshot_date < '2024-05-27' THEN '2022' ELSE '2024' END AS period,
               list(DISTINCT version) AS versions,
               count(*) FILTER (WHERE meets_criteria_to_reside = 'Y') AS while_meeting
        FROM discharge_readiness r LEFT JOIN reasons ON code = delay_reason
        WHERE delay_reason IS NOT NULL GROUP BY 1
        """
    ).fetchall()

    assert sorted((period, versions, meeting) for period, versions, meeting in by_period) == [
        ("2022", ["2022"], 0),
        ("2024", ["2024"], 0),
    ]


def test_ambulance_arrivals_some_without_nhs_number_or_handover(small):
    _, tables = small
    arrivals = tables["ambulance_arrivals"]

    no_number = arrivals["nhs_number"].null_count / arrivals.num_rows
    no_handover = arrivals["handed_over_at"].null_count / arrivals.num_rows

    assert 0.01 < no_number < 0.06
    assert 0.005 < no_handover < 0.04
    assert set(arrivals["conveying_service"].to_pylist()) == {"RYE", "RYC", "other"}


# --- Clocks --------------------------------------------------------------------------------


def test_utc_to_local_matches_zoneinfo_every_quarter_hour_around_clock_changes():
    instants = []
    for year in range(2019, 2027):
        for month in (3, 10):
            last = max(
                date(year, month, d) for d in range(25, 32) if date(year, month, d).weekday() == 6
            )
            middle = datetime(last.year, last.month, last.day, 1, tzinfo=UTC)
            instants += [middle + timedelta(minutes=15 * k) for k in range(-16, 17)]
    utc = np.array([i.replace(tzinfo=None) for i in instants], "datetime64[m]")

    local, second = h.utc_to_local(utc)

    expected = [i.astimezone(LONDON) for i in instants]
    assert local.tolist() == [e.replace(tzinfo=None, fold=0) for e in expected]
    assert second.tolist() == [bool(e.fold) for e in expected]
    assert (h.local_to_utc(local)[~second] == utc[~second]).all()


def test_clock_text_marks_only_the_second_pass_of_the_repeated_hour():
    utc = np.array(
        ["2025-10-26T00:30", "2025-10-26T01:30", "2025-10-26T02:30", "NaT"], "datetime64[m]"
    )

    local, second = h.utc_to_local(utc)

    assert h._clock_text(local, second).to_pylist() == [
        "2025-10-26 01:30",
        "2025-10-26 01:30+00:00",
        "2025-10-26 02:30",
        None,
    ]


# --- Calibration (default size) ------------------------------------------------------------


@pytest.mark.slow
def test_acute_spells_a_year_near_target(full):
    _, tables = full
    con = _con(tables)
    target = _target("acute spells admitted in 2023-24")

    spells = con.sql(
        "SELECT count(*) FROM spells WHERE admitted_on BETWEEN '2023-04-01' AND '2024-03-31'"
    ).fetchone()[0]

    assert abs(spells - target.value) <= target.tolerance


@pytest.mark.slow
def test_emergency_admissions_higher_in_winter_and_older_people_admitted_more(full):
    world, tables = full
    con = _con(tables)
    target = _target("emergency admissions a day, December-February over June-August")

    winter_days = sum((date(y + 1, 3, 1) - date(y, 12, 1)).days for y in (2022, 2023, 2024))
    winter, summer = con.sql(
        f"""
        SELECT count(*) FILTER (WHERE month(admitted_on) IN (12, 1, 2)
                                AND admitted_on BETWEEN '2022-12-01' AND '2025-02-28')
                   / {winter_days},
               count(*) FILTER (WHERE month(admitted_on) IN (6, 7, 8)
                                AND year(admitted_on) BETWEEN 2022 AND 2025) / (4 * 92)
        FROM spells WHERE admission_method LIKE '2%'
        """
    ).fetchone()
    con.register(
        "ages",
        pa.table(
            {"nhs_number": world.nhs_numbers, "birth": world.birth_dates.astype("datetime64[s]")}
        ),
    )
    young, old = con.sql(
        """
        SELECT count(*) FILTER (WHERE age BETWEEN 20 AND 39), count(*) FILTER (WHERE age >= 75)
        FROM (SELECT date_diff('year', birth, admitted_on) AS age FROM spells JOIN ages
              USING (nhs_number) WHERE admission_method LIKE '2%' AND year(admitted_on) = 2022)
        """
    ).fetchone()
    alive_2022 = (world.birth_dates <= np.datetime64("2022-07-01")) & (
        np.isnat(world.death_dates) | (world.death_dates > np.datetime64("2022-07-01"))
    )
    age = (np.datetime64("2022-07-01") - world.birth_dates).astype(int) / 365.25

    assert abs(100 * (winter / summer - 1) - target.value) <= target.tolerance
    # Older people are admitted as emergencies several times as often as young adults.
    rate_young = young / (alive_2022 & (age >= 20) & (age < 40)).sum()
    rate_old = old / (alive_2022 & (age >= 75)).sum()
    assert rate_old > 3 * rate_young


@pytest.mark.slow
def test_criteria_to_reside_shares_near_sitrep_targets(full):
    _, tables = full
    con = _con(tables)

    remaining, same_day, long_stay = con.sql(
        """
        WITH rows AS (
            SELECT CAST(r.snapshot_date AS DATE) AS day, r.meets_criteria_to_reside = 'N' AS no,
                   s.discharged_on, s.admitted_on
            FROM discharge_readiness r JOIN spells s USING (spell_id)
            WHERE r.snapshot_date BETWEEN '2023-04-01' AND '2024-03-31')
        SELECT avg((no AND (discharged_on IS NULL OR discharged_on > day))::INT),
               avg((discharged_on = day)::INT) FILTER (WHERE no),
               avg((day - admitted_on >= 21)::INT)
                   FILTER (WHERE no AND (discharged_on IS NULL OR discharged_on > day))
        FROM rows
        """
    ).fetchone()

    for value, name in (
        (
            remaining,
            "adult inpatients not meeting the criteria to reside and not discharged that day",
        ),
        (same_day, "patients not meeting the criteria to reside who are discharged that day"),
        (
            long_stay,
            "not meeting the criteria to reside, not discharged, in hospital 21 days or more",
        ),
    ):
        target = _target(name)
        assert abs(100 * value - target.value) <= target.tolerance, name


@pytest.mark.slow
def test_ambulance_handovers_near_targets(full):
    _, tables = full
    arrivals = tables["ambulance_arrivals"]
    arrived = _utc(arrivals["arrived_at"])
    handed = _utc(arrivals["handed_over_at"])
    day = np.array([t[:10] for t in arrivals["arrived_at"].to_pylist()], "datetime64[D]")
    month_day = (
        (day.astype("datetime64[M]").astype(int) % 12 + 1) * 100
        + (day - day.astype("datetime64[M]").astype("datetime64[D]")).astype(int)
        + 1
    )
    year = day.astype("datetime64[Y]").astype(int) + 1970
    known = ~np.isnat(handed)
    minutes = (handed - arrived).astype(int)
    early_december = known & (month_day >= 1127) & (month_day <= 1210)
    early_december &= np.isin(year, [2019, 2021, 2023, 2024, 2025])
    summer = known & np.isin(month_day // 100, [6, 7, 8]) & (year >= 2021)

    assert (minutes[known] >= 0).all()
    for chosen, limit, name in (
        (early_december, 30, "ambulance handovers over 30 minutes, early December"),
        (early_december, 60, "ambulance handovers over 60 minutes, early December"),
        (summer, 30, "ambulance handovers over 30 minutes, June-August"),
    ):
        target = _target(name)
        share = 100 * (minutes[chosen] > limit).mean()
        assert abs(share - target.value) <= target.tolerance, name


@pytest.mark.slow
def test_ambulance_arrivals_follow_real_time_across_clock_changes(full):
    _, tables = full
    arrivals = tables["ambulance_arrivals"]
    text = pd.Series(arrivals["arrived_at"].to_pylist())
    arrived = _utc(arrivals["arrived_at"])

    repeated = text.str.endswith("+00:00")
    skipped = text.str.match(
        r"^(2019-03-31|2020-03-29|2021-03-28|2022-03-27|2023-03-26"
        r"|2024-03-31|2025-03-30) 01:"
    )
    per_year = len(arrivals) / 7

    # The October night's second 01:00-01:59 has arrivals; the March night's skipped hour
    # has none; arrival numbers follow real time, so they are in order of their instant.
    assert repeated.sum() >= 3
    assert skipped.sum() == 0
    assert (np.diff(arrived.astype(np.int64)) >= 0).all()
    assert abs(per_year - h.AMBULANCE_ARRIVALS) < 0.05 * h.AMBULANCE_ARRIVALS
