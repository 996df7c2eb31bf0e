"""Official values as comparators: read from the published files, kept with their source,
returned beside ours and published with the measures."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from mkdeal.errors import UserError
from mkdeal.measures import get_measure
from mkdeal.measures.comparators import (
    Publication,
    beside,
    read_comparator,
    save_comparator,
    saved_comparators,
)
from mkdeal.measures.engine import RESULT_COLUMNS
from mkdeal.measures.publication import publication_tables
from mkdeal.warehouse import open_warehouse_for_writing

DATA = Path(__file__).parent / "data"
# Real rows: NHS England's RTT Incomplete Commissioner file for April 2015 (revised); see
# tests/data/README.md for where the copy came from.
RTT_FILE = DATA / "rtt_incomplete_commissioner_apr15_sample.csv"
RTT_PUBLICATION = Publication(
    publisher="NHS England",
    published_on=date(2015, 6, 11),
    url="https://www.england.nhs.uk/statistics/statistical-work-areas/rtt-waiting-times/rtt-data-2015-16/",
)
# The Fingertips export header as OHID's own service tests spell it (PholioVisualisation,
# DataControllerTest.HeaderText) with a Region comparison column; the rows below are
# constructed in that layout, not copied from a published export.
FINGERTIPS_HEADER = (
    "Indicator ID,Indicator Name,Parent Code,Parent Name,Area Code,Area Name,Area Type,Sex,"
    "Age,Category Type,Category,Time period,Value,Lower CI 95.0 limit,Upper CI 95.0 limit,"
    "Lower CI 99.8 limit,Upper CI 99.8 limit,Count,Denominator,Value note,Recent Trend,"
    "Compared to England value or percentiles,Compared to Region value or percentiles,"
    "Time period Sortable,New data,Compared to goal"
)
Y6 = "Year 6: Prevalence of overweight (including obesity)"
FINGERTIPS_ROWS = [
    f'20602,"{Y6}",E12000008,South East region,E06000042,Milton Keynes,UA,Persons,10-11 yrs,'
    ',,2022/23,36.60,35.06,38.17,34.30,38.95,"1,372",3749,,,,,20220000,,',
    f'20602,"{Y6}",E12000008,South East region,E06000042,Milton Keynes,UA,Persons,10-11 yrs,'
    "LA deprivation deciles,Most deprived decile,2022/23,40.1,30.0,50.0,,,100,250,,,,,"
    "20220000,,",
    f'20602,"{Y6}",E12000008,South East region,E06000055,Bedford,UA,Persons,10-11 yrs,,,'
    "2022/23,35.0,33.0,37.0,,,700,2000,,,,,20220000,,",
]


def test_rtt_commissioner_total_row_is_read_with_its_source():
    rows = read_comparator(
        RTT_FILE,
        get_measure("rtt.within_18_weeks"),
        RTT_PUBLICATION,
        area="00C",
        month=date(2015, 4, 15),
    )
    assert len(rows) == 1
    row = rows.iloc[0]
    # The file's own IP999 (total) row for NHS Darlington CCG.
    assert row.area_name == "NHS DARLINGTON CCG"
    assert (row.period_start, row.period_end) == (date(2015, 4, 1), date(2015, 4, 30))
    assert row.value == pytest.approx(0.94965316625643292, abs=1e-15)
    assert (row.numerator, row.denominator) == (4244, 4469)
    assert row.source_file == RTT_FILE.name
    assert row.published_on == date(2015, 6, 11)
    assert row.url.startswith("https://www.england.nhs.uk/")

    median = read_comparator(
        RTT_FILE,
        get_measure("rtt.median_wait"),
        RTT_PUBLICATION,
        area="00C",
        month=date(2015, 4, 1),
    ).iloc[0]
    assert median.value == pytest.approx(5.4753086419753085, abs=1e-15)


def test_rtt_file_refuses_without_a_month_or_for_another_measure():
    measure = get_measure("rtt.within_18_weeks")
    with pytest.raises(UserError, match="--month"):
        read_comparator(RTT_FILE, measure, RTT_PUBLICATION, area="00C")
    with pytest.raises(UserError, match=r"not flow\.handovers_over_30_minutes"):
        read_comparator(
            RTT_FILE,
            get_measure("flow.handovers_over_30_minutes"),
            RTT_PUBLICATION,
            area="00C",
            month=date(2015, 4, 1),
        )


def test_fingertips_export_gives_academic_years_as_fractions(tmp_path):
    path = tmp_path / "indicators-DistrictUA.data.csv"
    path.write_text("\n".join([FINGERTIPS_HEADER, *FINGERTIPS_ROWS]) + "\n", encoding="utf-8")
    publication = Publication(
        "OHID Fingertips", date(2024, 11, 5), "https://fingertips.phe.org.uk/"
    )
    rows = read_comparator(
        path, get_measure("ncmp.year6_overweight_or_obese"), publication, area="E06000042"
    )
    # Only the whole-population row (no Category Type) of Milton Keynes.
    assert len(rows) == 1
    row = rows.iloc[0]
    assert (row.frequency, row.period_start, row.period_end) == (
        "academic_year",
        date(2022, 9, 1),
        date(2023, 8, 31),
    )
    assert (row.value, row.lower, row.upper) == pytest.approx((0.366, 0.3506, 0.3817))
    assert (row.numerator, row.denominator) == (1372, 3749)


def test_fingertips_bad_value_names_line_and_column(tmp_path):
    path = tmp_path / "export.csv"
    bad = FINGERTIPS_ROWS[0].replace("36.60", "n/a")
    path.write_text(FINGERTIPS_HEADER + "\n" + bad + "\n", encoding="utf-8")
    publication = Publication(
        "OHID Fingertips", date(2024, 11, 5), "https://fingertips.phe.org.uk/"
    )
    with pytest.raises(UserError, match=r"export.csv, line 2, column 'Value': 'n/a'"):
        read_comparator(
            path, get_measure("ncmp.year6_overweight_or_obese"), publication, area="E06000042"
        )


def test_saved_comparators_replace_themselves_and_are_published(settings):
    measure = get_measure("rtt.within_18_weeks")
    rows = read_comparator(RTT_FILE, measure, RTT_PUBLICATION, area="00C", month=date(2015, 4, 1))
    with open_warehouse_for_writing(settings, purpose="a test") as backend:
        assert save_comparator(backend, rows) == "loaded"
        assert save_comparator(backend, rows) == "replaced"
        stored = saved_comparators(backend)
    assert len(stored) == 1
    assert stored.iloc[0].published_on == date(2015, 6, 11)

    ours = pd.DataFrame(
        {
            "measure_id": ["rtt.within_18_weeks"] * 2,
            "frequency": ["month"] * 2,
            "period_start": [date(2015, 4, 1), date(2015, 5, 1)],
            "period_end": [date(2015, 4, 30), date(2015, 5, 31)],
            "breakdown": ["all"] * 2,
            "value": [0.95, 0.94],
            "numerator": [4245, 4300],
        }
    )
    side = beside(ours, stored)
    april = side[side.period_start == date(2015, 4, 1)].iloc[0]
    assert april.official_value == pytest.approx(0.94965316625643292)
    assert april.source_file == RTT_FILE.name
    assert side[side.period_start == date(2015, 5, 1)].official_value.isna().all()

    no_results = pd.DataFrame(columns=list(RESULT_COLUMNS))
    tables = publication_tables(no_results, {}, stored)
    assert tables["measure_comparators"].num_rows == 1


def test_load_comparator_and_compare_commands(cli_env, capsys):
    from mkdeal.cli import main

    assert main(["measures", "compare", "rtt.within_18_weeks"]) != 0
    assert "load-comparator" in capsys.readouterr().err
    args = [
        "measures",
        "load-comparator",
        "rtt.within_18_weeks",
        str(RTT_FILE),
        "--published",
        "2015-06-11",
        "--url",
        RTT_PUBLICATION.url,
        "--area",
        "00C",
        "--month",
        "2015-04-01",
    ]
    assert main(args) == 0
    assert "loaded; 1 official value(s)" in capsys.readouterr().out
    assert main(args) == 0
    assert "replaced" in capsys.readouterr().out
