"""Golden tests of the RTT measures on hand-built censuses, through real loads."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import pytest

from mkdeal.datasets.staging import Period

from .test_measures import _load, results, row

OCTOBER_CENSUS = date(2024, 10, 31)
NOVEMBER_CENSUS = date(2024, 11, 30)
# October: waits in days, each a boundary. P9's clock stopped before the census: it is not
# waiting. (A clock stop after the census cannot be in a census: the contract quarantines
# it.)
OCTOBER = {
    "P1": 546,  # not over 78 weeks
    "P2": 547,  # over 78 weeks (and over 52 and 65)
    "P3": 126,  # within 18 weeks
    "P4": 127,  # over 18 weeks
    "P5": 728,  # over 78, not over 104
    "P6": 729,  # over 104 weeks
    "P7": 364,  # not over 52
    "P8": 365,  # over 52
}
# November: waits of 1, 2, 3 and 10 days. Bands 0, 0, 0, 1: the median (rank (4 + 1) / 2
# = 2.5) falls inside band 0 at 2.5/3 week; the 92nd percentile (rank 0.92 x 4 = 3.68)
# inside band 1 at 1.68 weeks.
NOVEMBER = {"Q1": 1, "Q2": 2, "Q3": 3, "Q4": 10}


def _rows(census: date, waits: dict, extra=()) -> list[str]:
    lines = []
    for pathway, days in waits.items():
        start = census - timedelta(days=days)
        lines.append(f"{census},{pathway},9990000026,RD8,C_110,{start},")
    return [*lines, *extra]


def rtt_csv(tmp_path):
    header = (
        "census_date,pathway_id,nhs_number,provider_code,rtt_treatment_function,"
        "clock_started_on,clock_stopped_on"
    )
    stopped = [
        f"{OCTOBER_CENSUS},P9,9990000026,RD8,C_110,2024-01-01,2024-10-15",
    ]
    # A mid-month census: not the month-end one, so not counted.
    weekly = [f"2024-10-24,P{n},9990000026,RD8,C_110,2020-01-01," for n in range(20, 30)]
    lines = [
        header,
        *_rows(OCTOBER_CENSUS, OCTOBER, stopped),
        *weekly,
        *_rows(NOVEMBER_CENSUS, NOVEMBER),
    ]
    return "\n".join(lines) + "\n"


@pytest.fixture
def rtt_loaded(settings, tmp_path):
    period = Period(date(2024, 10, 1), date(2024, 11, 30))
    _load(settings, tmp_path, "rtt_pathways", rtt_csv(tmp_path), "RD8", period)
    return settings


def test_rtt_waits_golden(rtt_loaded):
    ids = [
        "rtt.waits_over_52_weeks",
        "rtt.waits_over_65_weeks",
        "rtt.waits_over_78_weeks",
        "rtt.waits_over_104_weeks",
        "rtt.within_18_weeks",
        "rtt.waiting_list",
        "rtt.median_wait",
        "rtt.p92_wait",
    ]
    frame = results(rtt_loaded, ids, frequencies=("month", "quarter"))
    october = date(2024, 10, 1)
    value = {m: row(frame, m, october).value for m in ids}
    # Waiting at the census: P1-P8; P9 had stopped; the mid-month census is not counted.
    assert value["rtt.waiting_list"] == 8
    assert value["rtt.waits_over_78_weeks"] == 3  # P2, P5, P6
    assert value["rtt.waits_over_104_weeks"] == 1  # P6
    assert value["rtt.waits_over_65_weeks"] == 4  # 456+: P1, P2, P5, P6
    assert value["rtt.waits_over_52_weeks"] == 5  # 365+: P1, P2, P5, P6, P8
    within = row(frame, "rtt.within_18_weeks", october)
    assert (within.numerator, within.denominator) == (1, 8)  # P3 (126 days); P4 (127) not

    november = date(2024, 11, 1)
    assert row(frame, "rtt.median_wait", november).value == pytest.approx(2.5 / 3, abs=1e-12)
    assert row(frame, "rtt.p92_wait", november).value == pytest.approx(1.68, abs=1e-12)
    assert row(frame, "rtt.median_wait", november).denominator == 4
    # A census cannot be added across months: no quarters.
    assert set(frame.frequency) == {"month"}


def test_rtt_breakdown_by_treatment_function_and_provider(rtt_loaded):
    frame = results(
        rtt_loaded,
        ["rtt.waits_over_78_weeks", "rtt.median_wait"],
        frequencies=("month",),
        breakdowns=("provider", "treatment_function"),
    )
    by_function = row(
        frame, "rtt.waits_over_78_weeks", date(2024, 10, 1), "treatment_function", "C_110"
    )
    assert by_function.value == 3
    by_provider = row(frame, "rtt.median_wait", date(2024, 11, 1), "provider", "RD8")
    assert by_provider.value == pytest.approx(2.5 / 3)


def test_rtt_last_census_is_each_providers_own(settings, tmp_path):
    """NHS England's month-end census is per provider: RV3's last October census (the
    28th) counts beside RD8's (the 31st), and RD8's weekly census on the 24th does not. In
    November RD8's last census lists only a stopped clock: nobody waits there, so RD8's
    November waiting list is empty, not the one at its earlier census."""
    header = (
        "census_date,pathway_id,nhs_number,provider_code,rtt_treatment_function,"
        "clock_started_on,clock_stopped_on"
    )
    rd8 = [
        *_rows(date(2024, 10, 24), {"A1": 600, "A2": 10, "A3": 3}),
        *_rows(date(2024, 10, 31), {"A1": 607, "A2": 17}),
        *_rows(date(2024, 11, 22), {"A1": 629, "A2": 39}),
        "2024-11-29,A1,9990000026,RD8,C_110,2022-12-31,2024-11-25",
    ]
    rrk = [
        *_rows(date(2024, 10, 28), {"B1": 30, "B2": 40}),
        *_rows(date(2024, 11, 25), {"B1": 58}),
    ]
    rrk = [line.replace(",RD8,", ",RV3,") for line in rrk]
    period = Period(date(2024, 10, 1), date(2024, 11, 30))
    for source, lines in (("RD8", rd8), ("RV3", rrk)):
        text = "\n".join([header, *lines]) + "\n"
        _load(settings, tmp_path, "rtt_pathways", text, source, period, source)
    ids = ["rtt.waiting_list", "rtt.waits_over_78_weeks", "rtt.median_wait"]
    frame = results(settings, ids, frequencies=("month",), breakdowns=("provider",))
    october, november = date(2024, 10, 1), date(2024, 11, 1)

    # October: RD8's A1 (607 days) and A2 (17) on the 31st, RV3's B1 (30) and B2 (40).
    assert row(frame, "rtt.waiting_list", october).value == 4
    assert row(frame, "rtt.waits_over_78_weeks", october).value == 1  # A1
    assert row(frame, "rtt.waiting_list", october, "provider", "RV3").value == 2
    assert row(frame, "rtt.waiting_list", october, "provider", "RD8").value == 2
    # Bands 2 (17 days), 4 (30), 5 (40), 86 (607): rank 2.5 falls half-way into band 5.
    assert row(frame, "rtt.median_wait", october).value == pytest.approx(5.5, abs=1e-12)
    # November: RV3's B1 only; RD8's last census (the 29th) has nobody waiting.
    assert row(frame, "rtt.waiting_list", november).value == 1
    assert row(frame, "rtt.waiting_list", november, "provider", "RD8").value == 0
    assert row(frame, "rtt.waits_over_78_weeks", november).value == 0


def test_percentile_in_the_open_top_band_has_no_value(settings, tmp_path):
    """Over 104 weeks is one open band: a 92nd percentile there cannot be interpolated."""
    census = date(2024, 10, 31)
    waits = {f"L{n}": 800 for n in range(10)} | {"S1": 3}
    header = (
        "census_date,pathway_id,nhs_number,provider_code,rtt_treatment_function,"
        "clock_started_on,clock_stopped_on"
    )
    text = "\n".join([header, *_rows(census, waits)]) + "\n"
    _load(settings, tmp_path, "rtt_pathways", text, "RD8", Period(date(2024, 10, 1), census))
    frame = results(settings, ["rtt.p92_wait", "rtt.waits_over_104_weeks"], frequencies=("month",))
    assert row(frame, "rtt.waits_over_104_weeks", date(2024, 10, 1)).value == 10
    assert math.isnan(row(frame, "rtt.p92_wait", date(2024, 10, 1)).value)


def test_band_percentiles_reproduce_nhs_englands_published_figures():
    """NHS England's April 2015 Incomplete Commissioner file (tests/data/README.md): the
    median from rank (N + 1) / 2 and the 95th percentile from rank 0.95 x N, interpolated
    inside weekly bands, give the published figures to 1e-9 weeks."""
    import numpy as np
    import pandas as pd

    from mkdeal.measures.engine import _band_percentile

    sample = pd.read_csv(
        Path(__file__).parent / "data" / "rtt_incomplete_commissioner_apr15_sample.csv"
    )
    bands = [c for c in sample.columns if c.startswith(">")] + ["52 plus"]
    counts = sample[bands].to_numpy(float)
    starts = np.arange(len(bands), dtype=float)
    assert (counts.sum(axis=1) == sample["Total number of incomplete pathways"]).all()
    median = _band_percentile(counts, starts, 0.5, "p(N+1)")
    p95 = _band_percentile(counts, starts, 0.95, "pN")
    published_median = sample["Average (median) waiting time (in weeks)"].to_numpy(float)
    published_p95 = sample["95th percentile waiting time (in weeks)"].to_numpy(float)
    np.testing.assert_allclose(median, published_median, atol=1e-9, rtol=0)
    np.testing.assert_allclose(p95, published_p95, atol=1e-9, rtol=0)
    # The other rank for the median does not reproduce them.
    assert not np.allclose(_band_percentile(counts, starts, 0.5, "pN"), published_median)
