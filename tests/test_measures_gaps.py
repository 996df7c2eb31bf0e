"""Golden tests of the Year 6 deprivation gap: hand-built children in three areas over four
academic years, on two deprivation indices, through real loads and the engine.

Expected intervals come from statsmodels' Newcombe interval (an independent
implementation of the same method), to 1e-9.
"""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pytest
from statsmodels.stats.proportion import confint_proportions_2indep

from mkdeal import growth
from mkdeal.datasets import shaped
from mkdeal.datasets.staging import Period
from mkdeal.measures import get_measure
from mkdeal.measures.gaps import MixedIndexError, deprivation_gaps, pooled_gap
from mkdeal.measures.publication import publication_tables

from .test_measures import _load, results

MEASURE = "ncmp.year6_overweight_or_obese"
A, B, C = "E01016723", "E01016724", "E01016725"
# A is decile 1 on IMD 2019 and 2 on IoD2025; B is 10 on both; C is 5 on IMD 2019 and 1 on
# IoD2025: which areas are "most deprived" depends on the index.
DEPRIVATION = f"""\
lsoa_2021,imd_version,local_authority_code,imd_decile,imd_rank,imd_score,lsoa_2011,lsoa_change_indicator
{A},imd2019,E06000042,1,1200,55.0,{A},U
{B},imd2019,E06000042,10,32000,3.0,{B},U
{C},imd2019,E06000042,5,15000,20.0,{C},U
{A},iod2025,E06000042,2,4000,40.0,,
{B},iod2025,E06000042,10,33000,2.5,,
{C},iod2025,E06000042,1,900,58.0,,
"""
# (children overweight including obesity, children measured) per academic year and area.
COUNTS = {
    2022: {A: (4, 10), B: (2, 8), C: (3, 6)},
    2023: {A: (5, 9), B: (3, 10), C: (2, 5)},
    2024: {A: (6, 12), B: (3, 9), C: (4, 7)},
    2025: {A: (3, 8), B: (2, 7), C: (5, 9)},
}
HEADER = (
    "measurement_id,nhs_number,measured_on,school_year,school_urn,school_type,sex,"
    "date_of_birth,ethnic_category,height_cm,weight_kg,lsoa_2021\n"
)
OBESE_KG, HEALTHY_KG = 48.0, 36.0  # at 145 cm, a girl of 10.8 years


def _children(year: int, numbers) -> str:
    rows = []
    for area, (over, measured) in COUNTS[year].items():
        for i in range(measured):
            weight = OBESE_KG if i < over else HEALTHY_KG
            rows.append(
                f"M{year}{area}{i},{next(numbers)},{year}-10-02,Y6,110123,"
                f"state_maintained_mainstream,2,{year - 11}-12-31,A,145.0,{weight},{area}"
            )
    return HEADER + "\n".join(rows) + "\n"


@pytest.fixture
def gap_results(settings, tmp_path):
    # The two weights fall either side of the 85th centile (checked against the growth
    # module, itself checked against rcpchgrowth).
    ages = growth.decimal_age(["2013-12-31"] * 2, ["2024-10-02"] * 2)
    sds = growth.bmi_sds(ages, ["female"] * 2, growth.bmi([145, 145], [OBESE_KG, HEALTHY_KG]))
    assert list(growth.classify(sds)) == [growth.OBESE, growth.HEALTHY_WEIGHT]

    numbers = iter(shaped.test_range_nhs_numbers(200, np.random.default_rng(7)))
    _load(settings, tmp_path, "area_deprivation", DEPRIVATION, "E06000042")
    for year in COUNTS:
        period = Period(date(year, 9, 1), date(year + 1, 8, 31))
        text = _children(year, numbers)
        _load(settings, tmp_path, "child_measurements", text, "E06000042", period, str(year))
    return results(
        settings,
        [MEASURE],
        frequencies=("academic_year",),
        breakdowns=("imd_decile", "imd_quintile"),
    )


def _sums(years, areas):
    over = sum(COUNTS[y][a][0] for y in years for a in areas)
    measured = sum(COUNTS[y][a][1] for y in years for a in areas)
    return over, measured


def _expected(most, least):
    (n1, d1), (n2, d2) = most, least
    low, high = confint_proportions_2indep(n1, d1, n2, d2, method="newcomb", compare="diff")
    return 100 * (n1 / d1 - n2 / d2), 100 * low, 100 * high


def _check(row, most, least):
    gap, low, high = _expected(most, least)
    assert (row.most_deprived_numerator, row.most_deprived_denominator) == most
    assert (row.least_deprived_numerator, row.least_deprived_denominator) == least
    assert row.gap == pytest.approx(gap, abs=1e-9)
    assert row.lower == pytest.approx(low, abs=1e-9)
    assert row.upper == pytest.approx(high, abs=1e-9)


def test_deciles_come_from_the_childs_own_lsoa_and_each_index(gap_results):
    frame = gap_results
    year = frame[frame.period_start == date(2024, 9, 1)]
    by = {
        (r.breakdown_version, r.group): (r.numerator, r.denominator)
        for r in year.itertuples()
        if r.breakdown == "imd_decile"
    }
    assert by[("imd2019", "1")] == COUNTS[2024][A]
    assert by[("iod2025", "1")] == COUNTS[2024][C]
    assert by[("iod2025", "2")] == COUNTS[2024][A]
    assert by[("imd2019", "10")] == by[("iod2025", "10")] == COUNTS[2024][B]


def test_single_year_gap_uses_the_index_current_at_the_end_of_the_year(gap_results):
    series = deprivation_gaps(gap_results, MEASURE, frequency="academic_year")
    rows = {r.periods: r for r in series.frame.itertuples()}
    assert list(rows) == ["2022/23", "2023/24", "2024/25", "2025/26"]
    # 2024/25 ends on 31 August 2025, before IoD2025 was published (30 October 2025).
    assert rows["2024/25"].imd_version == "imd2019"
    _check(rows["2024/25"], COUNTS[2024][A], COUNTS[2024][B])
    assert rows["2025/26"].imd_version == "iod2025"
    _check(rows["2025/26"], COUNTS[2025][C], COUNTS[2025][B])
    assert rows["2025/26"].index_rule == "index current at the end of each period"


def test_pooled_gap_sums_counts_within_one_index(gap_results):
    row = pooled_gap(
        gap_results,
        MEASURE,
        frequency="academic_year",
        last_period_start=date(2024, 9, 1),
        pool=3,
    )
    assert row.periods == "3 periods pooled ending 2024/25"
    assert row.imd_version == "imd2019"
    _check(row, _sums((2022, 2023, 2024), [A]), _sums((2022, 2023, 2024), [B]))


def test_pooled_gap_across_a_change_of_index_is_refused(gap_results):
    with pytest.raises(MixedIndexError) as refused:
        pooled_gap(
            gap_results,
            MEASURE,
            frequency="academic_year",
            last_period_start=date(2025, 9, 1),
            pool=3,
        )
    sentence = str(refused.value)
    assert "IMD 2019" in sentence and "IoD2025" in sentence
    assert "2023/24, 2024/25" in sentence and "not comparable" in sentence
    series = deprivation_gaps(gap_results, MEASURE, frequency="academic_year", pool=3)
    assert list(series.frame.periods) == ["3 periods pooled ending 2024/25"]
    assert series.notes == (sentence,)


def test_named_index_is_used_for_every_year(gap_results):
    row = pooled_gap(
        gap_results,
        MEASURE,
        frequency="academic_year",
        last_period_start=date(2025, 9, 1),
        pool=3,
        imd_version="iod2025",
    )
    assert row.index_rule == "named index for every period"
    _check(row, _sums((2023, 2024, 2025), [C]), _sums((2023, 2024, 2025), [B]))


def test_quintile_gap(gap_results):
    series = deprivation_gaps(
        gap_results, MEASURE, frequency="academic_year", breakdown="imd_quintile"
    )
    rows = {r.periods: r for r in series.frame.itertuples()}
    _check(rows["2024/25"], COUNTS[2024][A], COUNTS[2024][B])
    # On IoD2025 quintile 1 is deciles 1 and 2: areas C and A together.
    _check(rows["2025/26"], _sums((2025,), [A, C]), COUNTS[2025][B])


def test_published_gaps_name_the_index_and_control_the_public_copy(gap_results):
    tables = publication_tables(gap_results, {MEASURE: get_measure(MEASURE)})
    gaps = tables["measure_gaps"].to_pandas()
    assert set(gaps.pool) == {1, 3}  # four years: no 5-year window
    assert set(gaps.imd_version) == {"imd2019", "iod2025"}
    notes = tables["measure_gap_notes"].to_pandas()
    assert len(notes[(notes.breakdown == "imd_decile") & (notes.pool == 3)]) == 1
    public = tables["measure_gaps_nhs"].to_pandas()
    single = public[(public.pool == 1) & (public.breakdown == "imd_decile")]
    # Under the nhs rule every count of 1 to 7 is hidden, so no single-year gap here has a
    # value, and the hidden counts are not in the public table either.
    assert single.gap.isna().all()
    assert single.least_deprived_numerator.isna().all()
    # Pooling is how small years become publishable: the pooled counts are controlled as
    # one figure (15/31 and 8/27 become 15/30 and 10/25) and the gap comes from those.
    pooled = public[(public.pool == 3) & (public.breakdown == "imd_decile")].iloc[0]
    _check(pooled, (15, 30), (10, 25))


def test_gap_command_names_the_index_and_refuses_a_mixed_pool(gap_results, cli_env, capsys):
    from mkdeal.cli import main

    assert main(["measures", "gap", MEASURE, "--policy", "none", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["periods"], r["imd_version"]) for r in rows] == [
        ("2022/23", "imd2019"),
        ("2023/24", "imd2019"),
        ("2024/25", "imd2019"),
        ("2025/26", "iod2025"),
    ]
    assert main(["measures", "gap", MEASURE, "--pool", "3", "--ending", "2025-09-01"]) != 0
    assert "not comparable" in capsys.readouterr().err
    assert main(["measures", "gap", MEASURE, "--pool", "3"]) == 0
    captured = capsys.readouterr()
    assert "3 periods pooled ending 2024/25" in captured.out
    assert "policy nhs" in captured.out
    assert "would pool years on different deprivation indices" in captured.err
