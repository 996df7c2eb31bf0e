"""Synthetic reablement follow-up and adult social care events: contract-clean,
deterministic, about the world's residents, and calibrated to `mkdeal.synth.care.TARGETS`."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from mkdeal.datasets import DATASETS
from mkdeal.datasets.staging import stage
from mkdeal.people import Pseudonymiser
from mkdeal.synth.care import TARGETS, asc_events, reablement_follow_up
from mkdeal.synth.population import build_world

SEED = 20240
START, END = date(2019, 4, 1), date(2026, 3, 31)
GENERATORS = {"reablement_follow_up": reablement_follow_up, "asc_events": asc_events}
AT_HOME = ("at_home", "extra_care_housing", "adult_placement")


def _assert_near(value: float, name: str) -> None:
    target = next(target for target in TARGETS if target.name == name)
    assert abs(value - target.value) <= target.tolerance, (name, value, target.value)


@pytest.fixture(scope="module")
def small_world():
    return build_world(np.random.default_rng(SEED), START, END, 0.05)


@pytest.fixture(scope="module")
def world():
    return build_world(np.random.default_rng(SEED), START, END, 1.0)


def _people(world, numbers) -> np.ndarray:
    index = {number: i for i, number in enumerate(world.nhs_numbers)}
    return np.array([index[number] for number in numbers])


@pytest.mark.parametrize("name", list(GENERATORS))
def test_care_generators_pass_the_contract_at_small_scale(name, small_world, tmp_path):
    table = GENERATORS[name](small_world, np.random.default_rng(1), 0.05)
    path = tmp_path / f"{name}.csv"
    pa_csv.write_csv(table, path)

    staged = stage(DATASETS[name], path, Pseudonymiser(b"k" * 32))

    assert table.num_rows > 0
    assert table.column_names == [column.name for column in DATASETS[name].columns]
    assert all(field.type == pa.string() for field in table.schema)
    assert staged.quarantined == 0, staged.quarantine.slice(0, 5).to_pylist()


@pytest.mark.parametrize("name", list(GENERATORS))
def test_care_generators_same_seed_give_the_same_table(name, small_world):
    first = GENERATORS[name](small_world, np.random.default_rng(1), 0.05)
    second = GENERATORS[name](small_world, np.random.default_rng(1), 0.05)

    assert first.equals(second)


def test_reablement_people_are_65_and_alive_and_deaths_agree_with_the_world(small_world):
    table = reablement_follow_up(small_world, np.random.default_rng(1), 0.05).to_pydict()
    people = _people(small_world, table["nhs_number"])
    discharged = np.array(table["hospital_discharged_on"], dtype="datetime64[D]")
    status = np.array(table["status_91_days"], dtype=object)
    death = small_world.death_dates[people]

    assert ((discharged - small_world.birth_dates[people]).astype(int) / 365.25 >= 65).all()
    assert (np.isnat(death) | (death > discharged)).all()
    died = status == "died"
    assert (death[died] <= discharged[died] + np.timedelta64(91, "D")).all()
    alive = (status != "died") & (status != None)  # noqa: E711
    assert (np.isnat(death[alive]) | (death[alive] > discharged[alive] + 91)).all()
    # Discharges whose 91st day is after the end of the period are not followed up yet.
    pending = discharged + 91 > np.datetime64(END)
    assert (status[pending] == None).all()  # noqa: E711
    assert (status[~pending] != None).all()  # noqa: E711


def test_asc_events_are_adults_alive_with_service_fields_only_where_they_belong(small_world):
    table = asc_events(small_world, np.random.default_rng(1), 0.05).to_pydict()
    people = _people(small_world, table["nhs_number"])
    started = np.array(table["event_started_on"], dtype="datetime64[D]")
    kind = np.array(table["event_type"])
    service = np.array(table["service_type"], dtype=object)
    setting = np.array(table["support_setting_before"], dtype=object)

    assert ((started - small_world.birth_dates[people]).astype(int) / 365.25 >= 18).all()
    death = small_world.death_dates[people]
    assert (np.isnat(death) | (death > started)).all()
    assert set(kind) == {"request", "assessment", "service", "review"}
    assert (service[kind == "service"] != None).all()  # noqa: E711
    assert (service[kind != "service"] == None).all()  # noqa: E711
    placement = np.isin(service.astype(str), ["long_term_residential", "long_term_nursing"])
    assert (setting[~placement] == None).all()  # noqa: E711
    assert (setting[placement] != None).mean() > 0.9  # noqa: E711


@pytest.mark.slow
def test_reablement_hits_the_ascof_target_at_default_size(world):
    table = reablement_follow_up(world, np.random.default_rng(1), 1.0)
    con = duckdb.connect()
    con.register("reablement", table)

    (at_home,) = con.sql(
        f"""
        select avg((status_91_days in {AT_HOME})::int) from reablement
        where status_91_days is not null and reablement_funding = 'council_supported'
        """
    ).fetchone()
    yearly = con.sql(
        """
        select year(hospital_discharged_on::date - interval 3 month) as year, count(*)
        from reablement group by year having year between 2019 and 2025
        """
    ).fetchall()

    _assert_near(
        100 * at_home,
        "Older people at home 91 days after discharge into reablement (ASCOF 2B(1))",
    )
    assert len(yearly) == 7
    for _, rows in yearly:
        _assert_near(rows, "Discharges into reablement a year, people 65 and over")


@pytest.mark.slow
def test_asc_events_volume_at_default_size(world):
    table = asc_events(world, np.random.default_rng(1), 1.0)
    con = duckdb.connect()
    con.register("events", table)

    yearly = con.sql(
        """
        select year(event_started_on::date - interval 3 month) as year, count(*)
        from events group by year having year between 2019 and 2025
        """
    ).fetchall()

    assert len(yearly) == 7
    for _, rows in yearly:
        _assert_near(rows, "Adult social care events a year")
