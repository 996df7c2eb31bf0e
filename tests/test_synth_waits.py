"""Synthetic RTT pathways and UCR referrals: contract-clean, deterministic, and calibrated.

The quick tests use a small world; the slow ones the default size, checking each target in
`mkdeal.synth.waits.TARGETS` by plain counting in DuckDB (not the measures engine)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from mkdeal.datasets import DATASETS
from mkdeal.datasets.staging import stage
from mkdeal.people import Pseudonymiser
from mkdeal.synth import waits
from mkdeal.synth.population import build_world
from mkdeal.synth.waits import (
    LONG_WAIT_DAYS,
    TARGET_78_WEEK_MARCH_2023,
    TARGET_78_WEEK_PEAK,
    TARGET_RTT_LIST_MARCH_2023,
    TARGET_UCR_REFERRALS_A_YEAR,
    TARGET_UCR_TWO_HOUR_SHARE,
    TARGETS,
    rtt_pathways,
    ucr_referrals,
)

SEED = 20190401
START, END = date(2019, 4, 1), date(2026, 3, 31)
GENERATORS = {"rtt_pathways": rtt_pathways, "ucr_referrals": ucr_referrals}
LONDON = ZoneInfo("Europe/London")


def _sql(query: str, **tables: pa.Table) -> list[tuple]:
    """Run `query` in DuckDB over the named Arrow tables."""
    connection = duckdb.connect()
    for name, table in tables.items():
        connection.register(name, table)
    return connection.execute(query).fetchall()


def _world(scale: float):
    return build_world(np.random.default_rng(SEED), START, END, scale)


@pytest.fixture(scope="module")
def small():
    world = _world(0.05)
    tables = {
        name: make(world, np.random.default_rng(SEED), 0.05) for name, make in GENERATORS.items()
    }
    return world, tables


# --- quick ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(GENERATORS))
def test_waits_table_has_the_contract_columns_as_text(small, name):
    _, tables = small
    table = tables[name]

    assert table.column_names == [column.name for column in DATASETS[name].columns]
    assert all(field.type == pa.string() for field in table.schema)
    assert table.num_rows > 0


@pytest.mark.parametrize("name", list(GENERATORS))
def test_waits_table_stages_with_nothing_quarantined(small, name, tmp_path):
    _, tables = small
    path = tmp_path / f"{name}.csv"
    pa_csv.write_csv(tables[name], path)

    staged = stage(DATASETS[name], path, Pseudonymiser(b"k" * 32))

    assert staged.quarantined == 0, staged.quarantine.slice(0, 5).to_pylist()
    assert staged.loaded == tables[name].num_rows


@pytest.mark.parametrize("name", list(GENERATORS))
def test_waits_same_seed_gives_the_same_table(small, name):
    world, tables = small

    again = GENERATORS[name](world, np.random.default_rng(SEED), 0.05)

    assert again.equals(tables[name])


@pytest.mark.parametrize("name", list(GENERATORS))
def test_waits_other_seed_gives_another_table(small, name):
    world, tables = small

    other = GENERATORS[name](world, np.random.default_rng(SEED + 1), 0.05)

    assert not other.equals(tables[name])


def test_rtt_pathways_censuses_are_month_ends_in_the_period(small):
    _, tables = small
    rtt = tables["rtt_pathways"]

    censuses = _sql("SELECT DISTINCT census_date::DATE AS d FROM rtt ORDER BY d", rtt=rtt)
    days = [row[0] for row in censuses]

    assert days[0] == date(2019, 4, 30)
    assert days[-1] == date(2026, 3, 31)
    assert len(days) == 84
    assert all((day + timedelta(days=1)).day == 1 for day in days)


def test_rtt_pathways_stopped_rows_stopped_in_their_census_month(small):
    _, tables = small
    rtt = tables["rtt_pathways"]

    outside = _sql(
        """
        SELECT count(*) FROM rtt
        WHERE clock_stopped_on IS NOT NULL
          AND date_trunc('month', clock_stopped_on::DATE) <> date_trunc('month', census_date::DATE)
        """,
        rtt=rtt,
    )[0][0]

    assert outside == 0


def test_rtt_pathways_a_pathway_keeps_its_start_person_and_function(small):
    _, tables = small
    rtt = tables["rtt_pathways"]

    varying = _sql(
        """
        SELECT count(*) FROM (
            SELECT pathway_id FROM rtt GROUP BY pathway_id
            HAVING count(DISTINCT clock_started_on) > 1 OR count(DISTINCT nhs_number) > 1
                OR count(DISTINCT rtt_treatment_function) > 1
                OR count(DISTINCT clock_stopped_on) > 1
        )
        """,
        rtt=rtt,
    )[0][0]

    assert varying == 0


def test_rtt_pathways_never_use_a_total_line_and_only_rd8(small):
    _, tables = small
    rtt = tables["rtt_pathways"]

    functions = set(rtt["rtt_treatment_function"].to_pylist())

    assert not functions & {"C_999", "X01"}
    assert set(rtt["provider_code"].to_pylist()) == {"RD8"}


def _ages_and_alive(world, table: pa.Table, day_column: str) -> tuple[np.ndarray, np.ndarray]:
    index = {number: i for i, number in enumerate(world.nhs_numbers)}
    people = np.array([index[number] for number in table["nhs_number"].to_pylist()])
    days = np.array([text[:10] for text in table[day_column].to_pylist()], dtype="datetime64[D]")
    born = world.birth_dates[people]
    death = world.death_dates[people]
    ages = ((days - born).astype(int) / 365.25).astype(int)
    alive = np.isnat(death) | (death > days)
    return ages, alive


def test_rtt_pathways_patients_are_born_and_alive_at_each_census(small):
    world, tables = small

    ages, alive = _ages_and_alive(world, tables["rtt_pathways"], "census_date")

    assert alive.all()
    assert ages.min() >= 0
    assert ages.max() <= 110


def test_ucr_referrals_are_for_living_adults_mostly_older(small):
    world, tables = small

    ages, alive = _ages_and_alive(world, tables["ucr_referrals"], "referral_received_at")

    assert alive.all()
    assert ages.min() >= 18
    assert (ages >= 65).mean() > 0.7


def test_ucr_referrals_clocks_blank_only_when_no_two_hour_response(small):
    _, tables = small
    ucr = tables["ucr_referrals"]

    counts = _sql(
        """
        SELECT
            count(*) FILTER (WHERE two_hour_response_required = 'N'
                             AND (clock_started_at IS NOT NULL OR clock_stopped_at IS NOT NULL)),
            count(*) FILTER (WHERE two_hour_response_required = 'Y' AND clock_started_at IS NULL),
            count(*) FILTER (WHERE two_hour_response_required = 'Y')
        FROM ucr
        """,
        ucr=ucr,
    )[0]

    assert counts[0] == 0
    assert counts[1] == 0
    assert counts[2] > 0.8 * ucr.num_rows


def test_london_clock_conversion_agrees_with_zoneinfo():
    # Every quarter hour across both clock changes of 2019-2026, and the year's ends.
    instants = []
    for year in range(2019, 2027):
        for month, day in ((3, 25), (10, 25), (12, 31)):
            base = datetime(year, month, day, tzinfo=UTC)
            instants += [base + timedelta(minutes=15 * k) for k in range(8 * 96)]
    utc = np.array([int(moment.timestamp() // 60) for moment in instants])
    expected = np.array(
        [
            int(moment.astimezone(LONDON).replace(tzinfo=UTC).timestamp() // 60)
            for moment in instants
        ]
    )

    local = waits._utc_to_local(utc)
    back = waits._local_to_utc(local)

    assert (local == expected).all()
    # Back again, except the second run of the autumn's repeated hour (read as the first).
    repeated = waits._in_repeated_hour(utc)
    assert repeated.sum() == 8 * 4
    assert (back[~repeated] == utc[~repeated]).all()
    assert (back[repeated] == utc[repeated] - 60).all()


def test_london_clock_spring_gap_is_read_an_hour_later():
    # 2023-03-26 01:30 does not exist in London; it is read as 02:30 BST, 01:30 UTC.
    gap = np.array([int(datetime(2023, 3, 26, 1, 30, tzinfo=UTC).timestamp() // 60)])

    assert waits._local_to_utc(gap)[0] == gap[0]


def test_waits_targets_name_their_area_and_source():
    assert {target.area for target in TARGETS} <= {"Milton Keynes", "England"}
    assert all(target.source and target.tolerance > 0 for target in TARGETS)
    assert TARGET_UCR_TWO_HOUR_SHARE.area == "England"
    assert TARGET_78_WEEK_PEAK.area == "Milton Keynes"


# --- slow: the default size against the calibration targets -----------------------------


@pytest.fixture(scope="module")
def full():
    world = _world(1.0)
    return {
        name: make(world, np.random.default_rng(SEED), 1.0) for name, make in GENERATORS.items()
    }


def _waiting_78_weeks(rtt: pa.Table) -> dict[date, int]:
    rows = _sql(
        f"""
        SELECT census_date::DATE AS census,
               count(*) FILTER (
                   WHERE census_date::DATE - clock_started_on::DATE >= {LONG_WAIT_DAYS}
               ) AS long_waits
        FROM rtt WHERE clock_stopped_on IS NULL
        GROUP BY 1 ORDER BY 1
        """,
        rtt=rtt,
    )
    return dict(rows)


def _within(value: float, target) -> bool:
    return abs(value - target.value) <= target.tolerance


@pytest.mark.slow
def test_rtt_pathways_78_week_waits_peak_near_183_in_autumn_2021(full):
    series = _waiting_78_weeks(full["rtt_pathways"])

    peak_month = max(series, key=series.get)

    assert date(2021, 8, 1) <= peak_month <= date(2021, 10, 31), (peak_month, series[peak_month])
    assert _within(series[peak_month], TARGET_78_WEEK_PEAK), series[peak_month]


@pytest.mark.slow
def test_rtt_pathways_78_week_waits_near_20_in_march_2023_and_low_after(full):
    series = _waiting_78_weeks(full["rtt_pathways"])

    march_2023 = series[date(2023, 3, 31)]
    later = max(count for census, count in series.items() if census > date(2023, 3, 31))

    assert _within(march_2023, TARGET_78_WEEK_MARCH_2023), march_2023
    assert 10 <= march_2023 <= 35
    assert later <= TARGET_78_WEEK_MARCH_2023.value + TARGET_78_WEEK_MARCH_2023.tolerance


@pytest.mark.slow
def test_rtt_pathways_waiting_list_size_in_march_2023(full):
    rtt = full["rtt_pathways"]

    waiting = _sql(
        "SELECT count(*) FROM rtt WHERE census_date = '2023-03-31' AND clock_stopped_on IS NULL",
        rtt=rtt,
    )[0][0]

    assert _within(waiting, TARGET_RTT_LIST_MARCH_2023), waiting


@pytest.mark.slow
def test_rtt_pathways_row_count_stays_manageable(full):
    assert full["rtt_pathways"].num_rows < 3_000_000


@pytest.mark.slow
def test_ucr_referrals_two_hour_share_near_england_in_2023_24(full):
    ucr = full["ucr_referrals"]

    # Durations in UTC: the clock times are Europe/London local time.
    monthly = _sql(
        """
        WITH timed AS (
            SELECT referral_received_at,
                   (clock_stopped_at::TIMESTAMP AT TIME ZONE 'Europe/London')
                   - (clock_started_at::TIMESTAMP AT TIME ZONE 'Europe/London') AS response
            FROM ucr
            WHERE two_hour_response_required = 'Y' AND clock_stopped_at IS NOT NULL
              AND referral_received_at >= '2023-04-01' AND referral_received_at < '2024-04-01'
        )
        SELECT substr(referral_received_at, 1, 7) AS month,
               count(*) FILTER (WHERE response <= INTERVAL 120 MINUTE) AS met, count(*) AS all_
        FROM timed GROUP BY 1 ORDER BY 1
        """,
        ucr=ucr,
    )
    met = sum(row[1] for row in monthly)
    total = sum(row[2] for row in monthly)

    assert len(monthly) == 12
    assert _within(100 * met / total, TARGET_UCR_TWO_HOUR_SHARE), 100 * met / total
    assert all(row[1] / row[2] > 0.70 for row in monthly), monthly


@pytest.mark.slow
def test_ucr_referrals_volume_in_2023_24(full):
    ucr = full["ucr_referrals"]

    count = _sql(
        "SELECT count(*) FROM ucr "
        "WHERE referral_received_at >= '2023-04-01' AND referral_received_at < '2024-04-01'",
        ucr=ucr,
    )[0][0]

    assert _within(count, TARGET_UCR_REFERRALS_A_YEAR), count
