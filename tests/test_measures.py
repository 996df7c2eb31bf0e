"""Golden tests of the system-flow measures on small hand-built extracts, through real loads.

Every figure expected below was worked out by hand from the rows written out in the
test, with the boundary each row tests named beside it.
"""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pytest

from mkdeal.datasets.load import load_file
from mkdeal.datasets.staging import Period
from mkdeal.measures import MEASURES, get_measure
from mkdeal.measures.engine import compute
from mkdeal.measures.periods import LoadSpan, candidate_periods, covered
from mkdeal.warehouse import open_warehouse_for_writing

AS_OF = date(2026, 3, 31)

ARRIVALS = """\
arrival_id,nhs_number,conveying_service,site_code,arrived_at,handed_over_at
A1,9990000026,RYC,RD816,2024-10-01 10:00:00,2024-10-01 10:30:00
A2,9990000034,RYC,RD816,2024-10-01 11:00:00,2024-10-01 11:30:01
A3,,RYC,RD816,2024-10-02 12:00:00,2024-10-02 13:00:00
A4,9990000026,RYC,RD816,2024-10-03 09:00:00,
A5,9990000034,RYC,RD816,2024-10-27 01:40:00,2024-10-27 02:05:00
A6,,RYC,RD816,2024-10-28 10:00:00,2024-10-28 10:10:00
"""
# A1 exactly 30:00 (not a delay, but over 15), A2 30:01 (a delay), A3 exactly 60:00 (over
# 45, not over 60), A4 no handover time, A5 across the October clock change: 01:40 is
# ambiguous and takes its first (summer-time) occurrence, 00:40 UTC; 02:05 is winter time,
# 02:05 UTC: 85 real minutes. A6 10 minutes.
# Known times: A1, A2, A3, A5, A6 = 5. Over 30: A2, A3, A5 = 3 -> 3/5.
# Over 15: A1, A2, A3, A5 = 4. Over 45: A3, A5 = 2. Over 60: A5 = 1.
# Hours beyond 15:00: 15:00 + 15:01 + 45:00 + 70:00 + 0 = 145:01 = 145.0167 min.

REFERRALS = """\
referral_id,nhs_number,provider_code,referral_received_at,clinical_condition,clock_started_at,clock_stopped_at,two_hour_response_required
U1,9990000026,RV3,2024-10-02 09:00,1,2024-10-02 09:05:00,2024-10-02 11:05:00,Y
U2,9990000034,RV3,2024-10-02 09:00,1,2024-10-02 09:05:00,2024-10-02 11:06:00,Y
U3,9990000026,RV3,2024-10-03 09:00,2,2024-10-03 09:05:00,,Y
U4,9990000034,RV3,2024-10-04 09:00,2,,,N
U5,9990000026,RV3,2024-10-31 22:50,3,2024-10-31 23:00:00,2024-11-01 00:30:00,Y
"""
# U1 exactly 120:00 (within), U2 121:00 (not), U3 no clock stop (outside the
# denominator; counted without a clock), U4 needs no two-hour response (outside
# everything), U5 90 minutes, clock stopped in November: it counts in November.
# October: 1 of 2 within. November: 1 of 1.

RESIDENTS = """\
nhs_number,birth_month,sex,ethnic_category,ethnic_group_2021,lsoa_2021,gp_practice_code,pcn_code,date_of_death
9990000026,1940-03,1,A,,E01016723,K82001,U12345,
9990000034,1990-11,2,R,,E01016724,K82001,U12345,
"""
DEPRIVATION = """\
lsoa_2021,imd_version,local_authority_code,imd_decile,imd_rank,imd_score,lsoa_2011,lsoa_change_indicator
E01016723,synthetic,E06000042,1,100,60.0,,
E01016724,synthetic,E06000042,8,25000,8.0,,
"""
HEADER_ONLY = {
    "ambulance_arrivals": ARRIVALS.splitlines()[0] + "\n",
    "ucr_referrals": REFERRALS.splitlines()[0] + "\n",
}
OCTOBER = Period(date(2024, 10, 1), date(2024, 10, 31))
NOVEMBER = Period(date(2024, 11, 1), date(2024, 11, 30))


def _load(settings, tmp_path: Path, dataset: str, text: str, source: str, period=None, name=""):
    path = tmp_path / f"{dataset}{name}.csv"
    path.write_text(text, encoding="utf-8")
    return load_file(settings, dataset, path, source=source, as_of=AS_OF, period=period)


@pytest.fixture
def loaded(settings, tmp_path):
    """October's extracts, November's with no rows (a zero), nothing for December (a gap)."""
    _load(settings, tmp_path, "ambulance_arrivals", ARRIVALS, "RD8", OCTOBER)
    _load(
        settings,
        tmp_path,
        "ambulance_arrivals",
        HEADER_ONLY["ambulance_arrivals"],
        "RD8",
        NOVEMBER,
        "-nov",
    )
    _load(settings, tmp_path, "ucr_referrals", REFERRALS, "RV3", OCTOBER)
    _load(
        settings, tmp_path, "ucr_referrals", HEADER_ONLY["ucr_referrals"], "RV3", NOVEMBER, "-nov"
    )
    _load(settings, tmp_path, "residents", RESIDENTS, "QHG")
    _load(settings, tmp_path, "area_deprivation", DEPRIVATION, "E06000042")
    return settings


def results(settings, measure_ids, **options):
    with open_warehouse_for_writing(settings, purpose="a test") as backend:
        frame = compute(backend, [get_measure(m) for m in measure_ids], **options)
    return frame


def row(frame, measure_id, start, breakdown="all", group="all"):
    found = frame[
        (frame.measure_id == measure_id)
        & (frame.period_start == start)
        & (frame.breakdown == breakdown)
        & (frame.group == group)
    ]
    assert len(found) == 1, f"{measure_id} {start} {breakdown}={group}: {len(found)} rows"
    return found.iloc[0]


def test_handover_measures_golden(loaded):
    frame = results(loaded, [m for m in MEASURES if "handover" in m], frequencies=("month",))
    october, november = date(2024, 10, 1), date(2024, 11, 1)

    share = row(frame, "flow.handovers_over_30_minutes", october)
    assert (share.numerator, share.denominator) == (3, 5)
    assert share.value == pytest.approx(0.6, abs=1e-12)
    assert share.lower < 0.6 < share.upper
    counts = {
        minutes: row(frame, f"flow.handover_delays_over_{minutes}_minutes", october).value
        for minutes in (15, 30, 45, 60)
    }
    assert counts == {15: 4, 30: 3, 45: 2, 60: 1}
    hours = row(frame, "flow.handover_hours_lost", october)
    assert hours.value == pytest.approx((15 + 15 + 1 / 60 + 45 + 70) / 60, abs=1e-9)
    assert row(frame, "flow.handovers_without_time", october).value == 1

    # November was loaded with no arrivals: zeros, and a proportion with no value.
    empty = row(frame, "flow.handovers_over_30_minutes", november)
    assert (empty.numerator, empty.denominator) == (0, 0) and math.isnan(empty.value)
    assert row(frame, "flow.handover_delays_over_30_minutes", november).value == 0
    # December and September were never loaded: gaps, with no rows at all.
    assert set(frame.period_start) == {october, november}


def test_ucr_two_hour_response_golden(loaded):
    frame = results(
        loaded,
        ["flow.ucr_two_hour_response", "flow.ucr_referrals_without_clock"],
        frequencies=("month",),
    )
    october = row(frame, "flow.ucr_two_hour_response", date(2024, 10, 1))
    assert (october.numerator, october.denominator) == (1, 2)  # 120:00 in, 121:00 out
    november = row(frame, "flow.ucr_two_hour_response", date(2024, 11, 1))
    assert (november.numerator, november.denominator) == (1, 1)  # clock stopped 1 November
    assert row(frame, "flow.ucr_referrals_without_clock", date(2024, 10, 1)).value == 1


def test_breakdowns_add_up_and_name_their_version(loaded):
    frame = results(
        loaded,
        ["flow.handovers_over_30_minutes"],
        frequencies=("month",),
        breakdowns=("site", "sex", "age_band", "ethnic_group", "imd_decile", "imd_quintile"),
    )
    october = frame[frame.period_start == date(2024, 10, 1)]
    for (breakdown, version), groups in october.groupby(["breakdown", "breakdown_version"]):
        assert groups.numerator.sum() == 3, breakdown
        assert groups.denominator.sum() == 5, breakdown
        if breakdown.startswith("imd"):
            assert version == "synthetic"
    by_decile = october[october.breakdown == "imd_decile"].set_index("group")
    # A2 and A5 (person 2, decile 8) are both over 30; A3 has no NHS number: Unknown.
    assert by_decile.loc["8", "numerator"] == 2 and by_decile.loc["Unknown", "numerator"] == 1
    by_age = october[october.breakdown == "age_band"].set_index("group")
    assert by_age.loc["75-84", "denominator"] == 1  # born March 1940: 84 in October 2024
    by_ethnic = october[october.breakdown == "ethnic_group"].set_index("group")
    assert by_ethnic.loc["Asian or Asian British", "denominator"] == 2  # R, Chinese


def test_quarter_not_fully_loaded_is_a_gap_and_rolling_is_marked(loaded):
    frame = results(
        loaded, ["flow.handover_delays_over_30_minutes"], frequencies=("quarter", "month")
    )
    assert set(frame.frequency) == {"month"}  # Q3 2024-25 lacks December: no row


def test_coverage_needs_every_source_whole():
    spans = [
        LoadSpan("a", "arrivals", "RD8", date(2024, 10, 1), date(2024, 10, 15)),
        LoadSpan("b", "arrivals", "RD8", date(2024, 10, 16), date(2024, 11, 30)),
        LoadSpan("c", "arrivals", "RV3", date(2024, 10, 1), date(2024, 10, 31)),
    ]
    months = candidate_periods(date(2024, 10, 1), date(2024, 11, 30), "month")
    cover = covered(months, spans, ["arrivals"])
    # October: RD8 in two pieces end to end, RV3 whole. November: RV3 sent nothing.
    assert list(cover) == [(date(2024, 10, 1), date(2024, 10, 31))]
    assert cover[(date(2024, 10, 1), date(2024, 10, 31))] == ["a", "b", "c"]
    holed = [spans[0], LoadSpan("d", "arrivals", "RD8", date(2024, 10, 17), date(2024, 10, 31))]
    assert covered(months[:1], holed, ["arrivals"]) == {}


def test_rolling_and_financial_year_periods():
    rolling = candidate_periods(date(2023, 4, 1), date(2024, 5, 31), "rolling_12_months")
    assert rolling[0] == (date(2023, 4, 1), date(2024, 3, 31))
    assert rolling[-1] == (date(2023, 6, 1), date(2024, 5, 31))
    years = candidate_periods(date(2023, 4, 1), date(2025, 3, 31), "financial_year")
    assert years == [(date(2023, 4, 1), date(2024, 3, 31)), (date(2024, 4, 1), date(2025, 3, 31))]
    weeks = candidate_periods(date(2024, 10, 2), date(2024, 10, 13), "week")
    assert weeks[0] == (date(2024, 9, 30), date(2024, 10, 6))  # weeks start on Monday


def test_every_measure_is_well_formed():
    for measure in MEASURES.values():
        description = measure.describe()
        assert description["definition_url"].startswith("https://")
        assert measure.units.__doc__, f"{measure.id}: its units need a docstring"
        assert measure.next_review is not None
        for companion in measure.companions:
            assert companion in MEASURES


def test_refresh_publishes_and_recomputes_only_what_loads_touched(loaded, tmp_path):
    from mkdeal.measures.refresh import refresh
    from mkdeal.publish import open_snapshot

    first = refresh(loaded)
    # Every measure whose data is loaded; the RTT measures have none here.
    assert set(first.recomputed) == {m for m in MEASURES if m.startswith("flow.")}
    snapshot = open_snapshot(loaded.data_dir)
    for name in (
        "measure_definitions",
        "measure_results",
        "measure_results_nhs",
        "measure_results_opensafely",
        "measure_spc",
        "measure_spc_summary",
        "loads",  # carried forward from the loads
    ):
        assert name in snapshot.table_names
    results = snapshot.table("measure_results").to_pandas()
    share = results[
        (results.measure_id == "flow.handovers_over_30_minutes")
        & (results.frequency == "month")
        & (results.breakdown == "all")
        & (results.period_start == date(2024, 10, 1))
    ].iloc[0]
    assert (share.numerator, share.denominator) == (3, 5)
    assert share.load_ids  # each result names the loads it came from
    nhs = snapshot.table("measure_results_nhs").to_pandas()
    assert not nhs["numerator"].between(1, 7).any()

    again = refresh(loaded)
    assert again.recomputed == [] and again.snapshot_id == first.snapshot_id

    december = Period(date(2024, 12, 1), date(2024, 12, 31))
    _load(loaded, tmp_path, "ucr_referrals", HEADER_ONLY["ucr_referrals"], "RV3", december, "-dec")
    third = refresh(loaded)
    assert set(third.recomputed) == {
        "flow.ucr_two_hour_response",
        "flow.ucr_referrals_without_clock",
    }


def test_cli_measures_list_compute_and_spc(loaded, cli_env, capsys, tmp_path):
    import json

    from mkdeal.cli import main

    assert main(["measures", "list"]) == 0
    listing = capsys.readouterr().out
    assert "flow.ucr_two_hour_response" in listing and "ambition 70%" in listing

    assert main(["measures", "compute", "--measure", "flow.handovers_over_30_minutes"]) == 0
    table = capsys.readouterr().out
    # Under the default nhs policy 3 of 5 is suppressed: "*", never the small numbers.
    october = next(line for line in table.splitlines() if "2024-10-01" in line)
    assert "*" in october and " 3 " not in october and "60.0%" not in october

    args = ["measures", "compute", "--measure", "flow.handovers_over_30_minutes"]
    assert main([*args, "--policy", "none", "--format", "json", "--by", "site"]) == 0
    rows = json.loads(capsys.readouterr().out)
    overall = [r for r in rows if r["breakdown"] == "all" and r["period_start"] == "2024-10-01"]
    assert overall[0]["numerator"] == 3 and overall[0]["value"] == pytest.approx(0.6)
    assert {r["breakdown"] for r in rows} == {"all", "site"}

    out = tmp_path / "results.parquet"
    assert main([*args, "--format", "parquet", "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert main([*args, "--format", "parquet"]) == 2
    assert "give --out" in capsys.readouterr().err

    chart = tmp_path / "ucr.svg"
    assert main(["measures", "spc", "flow.ucr_two_hour_response", "--out", str(chart)]) == 0
    assert chart.read_text().startswith("<svg")
    assert main(["measures", "spc", "flow.ucr_two_hour_response", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["summary"][0]["trial_limits"] is True  # two months: trial limits
    assert [p["value"] for p in document["points"]] == [50.0, 100.0]  # per cent

    assert main(["measures", "compute", "--measure", "flow.nothing"]) == 2
    assert "There is no measure 'flow.nothing'" in capsys.readouterr().err


def test_cli_breakdown_choices_match_the_registry():
    from mkdeal.cli import BREAKDOWN_CHOICES
    from mkdeal.measures.definition import BREAKDOWNS

    assert list(BREAKDOWN_CHOICES) == list(BREAKDOWNS)


def test_tables_found_are_kept_only_while_the_manifests_are_unchanged():
    import ibis

    from mkdeal.measures.engine import _tables_since

    backend = ibis.duckdb.connect()
    schema = ibis.schema({"person_id": "string"})
    assert "residents" not in _tables_since(backend, [])
    backend.create_table("residents", schema=schema)
    assert "residents" in _tables_since(backend, [])  # a missing table is looked for again
    backend.drop_table("residents")
    backend.create_table("residents", schema=ibis.schema({"person_id": "string", "sex": "string"}))
    # Only a load changes a table, and a load writes a manifest: same manifests, same table.
    assert _tables_since(backend, [])["residents"].columns == ("person_id",)
    changed = _tables_since(backend, [{"load_id": "L1"}])["residents"]
    assert changed.columns == ("person_id", "sex")
    backend.disconnect()
