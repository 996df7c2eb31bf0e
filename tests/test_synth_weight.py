"""Synthetic child measurements (NCMP) and adult BMI: contract-clean, deterministic, and
calibrated to the published figures in `mkdeal.synth.weight.TARGETS`.

Children's BMI centiles are computed with rcpchgrowth called directly (UK-WHO, which is
UK90 from 4 years), not with the generator's own LMS tables.
"""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest
from rcpchgrowth.constants import BMI, FEMALE, MALE, UK_WHO
from rcpchgrowth.global_functions import sds_for_measurement

from mkdeal.datasets import DATASETS
from mkdeal.datasets.staging import stage
from mkdeal.people import Pseudonymiser
from mkdeal.synth.population import build_world
from mkdeal.synth.weight import OBESE_SDS, OVERWEIGHT_SDS, TARGETS, adult_bmi, child_measurements

SEED = 20240
START, END = date(2019, 4, 1), date(2026, 3, 31)
GENERATORS = {"child_measurements": child_measurements, "adult_bmi": adult_bmi}


def _target(name: str):
    return next(target for target in TARGETS if target.name == name)


def _assert_near(value: float, name: str) -> None:
    target = _target(name)
    assert abs(value - target.value) <= target.tolerance, (name, value, target.value)


@pytest.fixture(scope="module")
def small_world():
    return build_world(np.random.default_rng(SEED), START, END, 0.05)


@pytest.fixture(scope="module")
def world():
    return build_world(np.random.default_rng(SEED), START, END, 1.0)


def _staged(name: str, table: pa.Table, folder):
    path = folder / f"{name}.csv"
    pa_csv.write_csv(table, path)
    return stage(DATASETS[name], path, Pseudonymiser(b"k" * 32))


@pytest.mark.parametrize("name", list(GENERATORS))
def test_weight_generators_pass_the_contract_at_small_scale(name, small_world, tmp_path):
    table = GENERATORS[name](small_world, np.random.default_rng(1), 0.05)

    staged = _staged(name, table, tmp_path)

    assert table.num_rows > 0
    assert table.column_names == [column.name for column in DATASETS[name].columns]
    assert all(field.type == pa.string() for field in table.schema)
    assert staged.quarantined == 0, staged.quarantine.slice(0, 5).to_pylist()


@pytest.mark.parametrize("name", list(GENERATORS))
def test_weight_generators_same_seed_give_the_same_table(name, small_world):
    first = GENERATORS[name](small_world, np.random.default_rng(1), 0.05)
    second = GENERATORS[name](small_world, np.random.default_rng(1), 0.05)

    assert first.equals(second)


def test_child_measurements_are_residents_alive_and_of_school_age(small_world):
    table = child_measurements(small_world, np.random.default_rng(1), 0.05).to_pydict()
    index = {number: i for i, number in enumerate(small_world.nhs_numbers)}
    measured = np.array(table["measured_on"], dtype="datetime64[D]")
    born = np.array(table["date_of_birth"], dtype="datetime64[D]")
    age = (measured - born).astype(int) / 365.25
    year = np.array(table["school_year"])

    linked = [i for i, number in enumerate(table["nhs_number"]) if number is not None]
    people = np.array([index[table["nhs_number"][i]] for i in linked])
    # Each child is measured once in Reception and once in Year 6 at most.
    assert len(people) == len(set(zip(people, year[linked], strict=True)))
    assert (small_world.birth_dates[people] == born[linked]).all()
    death = small_world.death_dates[people]
    assert (np.isnat(death) | (death > measured[linked])).all()
    assert ((age >= 4) & (age < 6))[year == "R"].all()
    assert ((age >= 10) & (age < 12))[year == "Y6"].all()
    # No measurements while schools were closed from 20 March 2020 to the summer.
    closed = (measured > np.datetime64("2020-03-20")) & (measured < np.datetime64("2020-09-01"))
    assert not closed.any()
    # Blank NHS numbers: a few residents', and pupils from outside Milton Keynes who fill
    # year groups the world's cohort leaves short (many at this small, noisy scale).
    assert (np.array(table["nhs_number"], dtype=object) == None).mean() < 0.25  # noqa: E711


def test_adult_bmi_people_are_adults_alive_on_the_day(small_world):
    table = adult_bmi(small_world, np.random.default_rng(1), 0.05).to_pydict()
    index = {number: i for i, number in enumerate(small_world.nhs_numbers)}
    people = np.array([index[number] for number in table["nhs_number"]])
    recorded = np.array(table["recorded_on"], dtype="datetime64[D]")

    assert ((recorded - small_world.birth_dates[people]).astype(int) / 365.25 >= 18).all()
    death = small_world.death_dates[people]
    assert (np.isnat(death) | (death > recorded)).all()
    gp = np.array(table["bmi_source"]) == "gp_record"
    practices = small_world.practice_codes[small_world.practice_index[people]]
    assert (np.array(table["gp_practice_code"], dtype=object)[gp] == practices[gp]).all()


def _academic_year(days: np.ndarray) -> np.ndarray:
    """The year each academic year (September to August) starts in."""
    months = days.astype("datetime64[M]").astype(int)
    return (months - 8) // 12 + 1970


def _bmi_sds(table: dict, rows: np.ndarray) -> np.ndarray:
    measured = np.array(table["measured_on"], dtype="datetime64[D]")[rows]
    born = np.array(table["date_of_birth"], dtype="datetime64[D]")[rows]
    ages = (measured - born).astype(int) / 365.25
    height = np.array(table["height_cm"], dtype=float)[rows]
    weight = np.array(table["weight_kg"], dtype=float)[rows]
    bmi = weight / (height / 100) ** 2
    sexes = np.where(np.array(table["sex"])[rows] == "1", MALE, FEMALE)
    return np.array(
        [
            sds_for_measurement(UK_WHO, float(age), BMI, float(value), str(sex))
            for age, value, sex in zip(ages, bmi, sexes, strict=True)
        ]
    )


@pytest.mark.slow
def test_child_measurements_hit_the_ncmp_targets_at_default_size(world):
    table = child_measurements(world, np.random.default_rng(1), 1.0).to_pydict()
    measured = np.array(table["measured_on"], dtype="datetime64[D]")
    academic = _academic_year(measured)
    group = np.array(table["school_year"])
    # National (and local authority) figures count mainstream state-maintained schools only.
    state = np.array(table["school_type"]) == "state_maintained_mainstream"
    deciles = dict(zip(world.lsoa_codes, world.lsoa_deciles, strict=True))
    decile = np.array([deciles.get(code, 0) for code in table["lsoa_2021"]])

    year6 = np.flatnonzero(state & (group == "Y6") & (academic == 2023))
    sds = _bmi_sds(table, year6)
    _assert_near(
        100 * np.mean(sds >= OVERWEIGHT_SDS), "Year 6 overweight including obesity, 2023/24"
    )
    _assert_near(100 * np.mean(sds >= OBESE_SDS), "Year 6 obesity, 2023/24")

    reception = np.flatnonzero(state & (group == "R") & (academic == 2023))
    _assert_near(
        100 * np.mean(_bmi_sds(table, reception) >= OVERWEIGHT_SDS),
        "Reception overweight including obesity, 2023/24",
    )

    for which, name in [
        (1, "Year 6 overweight including obesity, most deprived decile (all years pooled)"),
        (10, "Year 6 overweight including obesity, least deprived decile (all years pooled)"),
    ]:
        rows = np.flatnonzero(state & (group == "Y6") & (decile == which))
        _assert_near(100 * np.mean(_bmi_sds(table, rows) >= OVERWEIGHT_SDS), name)

    # Volumes: the academic years wholly inside the period and unaffected by COVID-19.
    for year in (2021, 2022, 2023, 2024):
        _assert_near(
            (academic == year).sum(),
            "Children measured a year, Reception and Year 6 (years not affected by COVID-19)",
        )
    assert (np.array(table["nhs_number"], dtype=object) == None).mean() < 0.12  # noqa: E711
    # COVID-19: 2019/20 stopped in March, 2020/21 measured few.
    assert (academic == 2019).sum() < 0.8 * (academic == 2022).sum()
    assert (academic == 2020).sum() < 0.25 * (academic == 2022).sum()


@pytest.mark.slow
def test_adult_bmi_hits_the_health_survey_targets_at_default_size(world):
    table = adult_bmi(world, np.random.default_rng(1), 1.0)
    areas = pa.table({"nhs_number": world.nhs_numbers, "decile": world.deciles()})
    con = duckdb.connect()
    con.register("bmi", table)
    con.register("areas", areas)
    latest = """
        with recorded as (
            select nhs_number, recorded_on,
                   coalesce(bmi::double, weight_kg::double / pow(height_cm::double / 100, 2)) as b
            from bmi
            where bmi_source = 'gp_record' and recorded_on between '2023-04-01' and '2024-03-31'
        )
        select nhs_number, arg_max(b, recorded_on) as b from recorded group by nhs_number
    """
    obese, overweight, deprived, affluent = con.sql(
        f"""
        select avg((b >= 30)::int), avg((b >= 25)::int),
               avg((b >= 30)::int) filter (where decile <= 2),
               avg((b >= 30)::int) filter (where decile >= 9)
        from ({latest}) join areas using (nhs_number)
        """
    ).fetchone()
    yearly = con.sql(
        """
        select year(recorded_on::date - interval 3 month) as year, count(*)
        from bmi group by year having year between 2019 and 2025
        """
    ).fetchall()

    _assert_near(100 * obese, "Adults obese (BMI 30 or more), latest GP-recorded BMI in 2023/24")
    _assert_near(
        100 * overweight,
        "Adults overweight including obese (BMI 25 or more), latest GP-recorded BMI in 2023/24",
    )
    _assert_near(
        100 * deprived,
        "Adults obese in the most deprived fifth of areas (deciles 1 and 2), 2023/24",
    )
    _assert_near(
        100 * affluent,
        "Adults obese in the least deprived fifth of areas (deciles 9 and 10), 2023/24",
    )
    assert len(yearly) == 7
    for _, rows in yearly:
        _assert_near(rows, "Adult BMI recordings a year")
