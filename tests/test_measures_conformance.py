"""Conformance: every registered measure, every breakdown and frequency, gives the same
results on DuckDB and PostgreSQL (counts exactly, values and intervals within 1e-9).
test_measures_spark.py holds PySpark to the same comparison.

New measures join by being registered; nothing here names one.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

import numpy as np
import pandas as pd
import psycopg
import pytest

from mkdeal.datasets import get_dataset
from mkdeal.datasets.load import load_file
from mkdeal.datasets.staging import Period
from mkdeal.measures import MEASURES
from mkdeal.measures.definition import BREAKDOWNS, FREQUENCIES
from mkdeal.measures.engine import breakdown_choices, compute
from mkdeal.synth import SOURCES, generate
from mkdeal.warehouse import open_warehouse_for_writing

from .conftest import POSTGRES_URL

pytestmark = pytest.mark.postgres

START, END = date(2023, 4, 1), date(2024, 9, 30)
TOLERANCE = 1e-9
KEYS = ["measure_id", "frequency", "period_start", "breakdown", "breakdown_version", "group"]


def load_everything(settings, folder):
    needed = {d for m in MEASURES.values() for d in m.datasets} | {"residents", "area_deprivation"}
    for name in needed:
        dataset = get_dataset(name)
        load_file(
            settings,
            name,
            folder / f"{name}.csv",
            source=SOURCES[name],
            as_of=date(2026, 3, 31),
            period=Period(START, END) if dataset.period_column else None,
        )


def _results(settings) -> pd.DataFrame:
    with open_warehouse_for_writing(settings, purpose="a conformance test") as backend:
        return results_on(backend)


def results_on(backend) -> pd.DataFrame:
    """Every measure at every frequency and breakdown, in a fixed order."""
    frame = compute(
        backend, list(MEASURES.values()), frequencies=FREQUENCIES, breakdowns=BREAKDOWNS
    )
    return frame.sort_values(KEYS).reset_index(drop=True)


def test_every_measure_agrees_on_duckdb_and_postgres(settings, postgres_schema, tmp_path):
    folder = tmp_path / "mk"
    generate(folder, seed=3, start=START, end=END, scale=0.03)
    schema = f"{postgres_schema}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        postgres = dataclasses.replace(settings, warehouse_url=f"{POSTGRES_URL}?schema={schema}")
        load_everything(settings, folder)
        load_everything(postgres, folder)
        on_duckdb, on_postgres = _results(settings), _results(postgres)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')

    assert_same_results(on_duckdb, on_postgres)
    assert (on_duckdb.load_ids != "").all()
    _rolling_sums_are_sums_of_months(on_duckdb)
    _per_day_means_weigh_months_by_their_days(on_duckdb)


def assert_same_results(expected: pd.DataFrame, got: pd.DataFrame) -> None:
    """Every measure, breakdown and frequency is present, the same rows on both engines,
    counts exactly equal and values and intervals within TOLERANCE."""
    assert len(expected) > 1000
    assert set(expected.measure_id) == set(MEASURES)
    assert set(expected.breakdown) == {"all", *breakdown_choices(MEASURES.values())}
    pd.testing.assert_frame_equal(expected[KEYS], got[KEYS])
    for column in ("numerator", "denominator"):
        exact = (expected.value_type != "total").to_numpy()  # a total of hours is a float sum
        a, b = expected[column].to_numpy(float), got[column].to_numpy(float)
        np.testing.assert_array_equal(a[exact], b[exact], err_msg=column)
        np.testing.assert_allclose(a, b, rtol=TOLERANCE, equal_nan=True, err_msg=column)
    for column in ("value", "lower", "upper"):
        np.testing.assert_allclose(
            expected[column].to_numpy(float),
            got[column].to_numpy(float),
            rtol=TOLERANCE,
            atol=TOLERANCE,
            equal_nan=True,
            err_msg=column,
        )


def _rolling_sums_are_sums_of_months(frame: pd.DataFrame) -> None:
    # Sums only: a per-day measure's rolling figure is a mean over days, not a sum.
    summed = [m for m, measure in MEASURES.items() if not measure.per_day]
    totals = frame[
        (frame.breakdown == "all") & (frame.value_type != "total") & frame.measure_id.isin(summed)
    ]
    months = totals[totals.frequency == "month"].set_index(["measure_id", "period_start"])
    rolling = totals[totals.frequency == "rolling_12_months"]
    assert len(rolling) > 0
    for row in rolling.itertuples():
        starts = pd.period_range(row.period_start, row.period_end, freq="M").start_time.date
        expected = sum(months.loc[(row.measure_id, s), "numerator"] for s in starts)
        assert row.numerator == expected, (row.measure_id, row.period_start)


def _per_day_means_weigh_months_by_their_days(frame: pd.DataFrame) -> None:
    """A per-day measure's quarter is the mean over its days: its months weighted by days."""
    per_day = [m for m, measure in MEASURES.items() if measure.per_day]
    totals = frame[(frame.breakdown == "all") & frame.measure_id.isin(per_day)]
    months = totals[totals.frequency == "month"].set_index(["measure_id", "period_start"])
    quarters = totals[totals.frequency == "quarter"]
    assert len(quarters) > 0
    for row in quarters.itertuples():
        starts = pd.period_range(row.period_start, row.period_end, freq="M")
        days = sum(p.days_in_month for p in starts)
        expected = sum(
            months.loc[(row.measure_id, p.start_time.date()), "numerator"] * p.days_in_month
            for p in starts
        )
        assert row.numerator * days == pytest.approx(expected, rel=1e-12), row.measure_id
