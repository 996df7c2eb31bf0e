# ruff: noqa: E501 -- the extracts are written out as the CSV rows they are, one per line.
"""Golden tests of the criteria-to-reside measures on a hand-built sitrep, through loads."""

from __future__ import annotations

from datetime import date

import pytest

from mkdeal.datasets.staging import Period

from .test_measures import _load, results, row

SPELLS = """\
spell_id,nhs_number,provider_code,site_code,admitted_at,discharged_at,admission_method,admission_source,discharge_method,discharge_destination,main_specialty,treatment_function,discharge_pathway,bed_type,lsoa_2021
S1,9990000026,RD8,RD816,2024-10-01 10:00,2024-11-02 14:00,99,52,4,40,430,300,1,adult_general_acute,E01016723
S2,9990000034,RD8,RD816,2024-10-02 09:00,2024-10-20 12:00,99,52,4,40,430,300,1,adult_general_acute,E01016723
S3,9990000026,RD8,RD816,2024-10-09 09:00,2024-10-12 12:00,99,52,4,40,430,300,1,adult_general_acute,E01016723
S4,9990000034,RD8,RD816,2024-10-03 09:00,2024-10-05 12:00,99,52,4,40,430,300,1,maternity,E01016723
"""
SNAPSHOTS = """\
snapshot_date,snapshot_taken_at,spell_id,nhs_number,provider_code,meets_criteria_to_reside,discharge_ready_date,discharge_pathway,delay_reason
2024-10-30,2024-10-30 09:30,S1,9990000026,RD8,N,2024-10-30,1,2024-01
2024-10-31,2024-10-31 09:30,S1,9990000026,RD8,N,2024-10-30,1,2024-01
2024-11-01,2024-11-01 09:30,S1,9990000026,RD8,N,2024-10-30,1,2024-01
2024-11-02,2024-11-02 09:30,S1,9990000026,RD8,N,2024-10-30,1,2024-01
2024-10-05,2024-10-05 09:30,S2,9990000034,RD8,N,2024-10-05,3,2024-05
2024-10-06,2024-10-06 09:30,S2,9990000034,RD8,N,2024-10-05,3,2024-05
2024-10-07,2024-10-07 09:30,S2,9990000034,RD8,Y,,,
2024-10-08,2024-10-08 09:30,S2,9990000034,RD8,N,2024-10-08,3,2024-05
2024-10-10,2024-10-10 09:30,S3,9990000026,RD8,Y,,,
2024-10-10,2024-10-10 15:00,S3,9990000026,RD8,N,2024-10-10,0,2024-01
2024-10-11,2024-10-11 09:30,S3,9990000026,RD8,Y,,,
2024-10-04,2024-10-04 09:30,S4,9990000034,RD8,N,2024-10-04,0,2024-01
"""
# S1 stops meeting the criteria on 30 October and stays so across the month boundary;
# it is discharged on 2 November (counted in that day's total, not remaining). S2 meets
# the criteria again on 7 October and stops again on 8 October: its ready date moves.
# S3 has two snapshots on 10 October: the second repeats the key and is quarantined, so
# S3 met the criteria that day. S4 is in a maternity bed: not counted at all.
#
# October (31 days): occupied rows S1 x2, S2 x4, S3 x2 = 8; not meeting S1 x2 + S2 x3 = 5,
# all remaining. November (30 days): occupied 2 (S1); not meeting 2; remaining 1.

MAY_SPELLS = """\
spell_id,nhs_number,provider_code,site_code,admitted_at,discharged_at,admission_method,admission_source,discharge_method,discharge_destination,main_specialty,treatment_function,discharge_pathway,bed_type,lsoa_2021
S5,9990000026,RD8,RD816,2024-05-20 10:00,2024-05-30 14:00,99,52,4,40,430,300,1,adult_general_acute,E01016723
"""
MAY_SNAPSHOTS = """\
snapshot_date,snapshot_taken_at,spell_id,nhs_number,provider_code,meets_criteria_to_reside,discharge_ready_date,discharge_pathway,delay_reason
2024-05-26,2024-05-26 09:30,S5,9990000026,RD8,N,2024-05-25,1,2022-01
2024-05-28,2024-05-28 09:30,S5,9990000026,RD8,N,2024-05-25,1,2024-01
"""
# A reason from each version: 2022-01 on 26 May 2024 (the 2022 list is in effect until
# the 27th) and 2024-01 on the 28th.


@pytest.fixture
def sitrep_loaded(settings, tmp_path):
    autumn = Period(date(2024, 10, 1), date(2024, 11, 30))
    may = Period(date(2024, 5, 1), date(2024, 5, 31))
    _load(settings, tmp_path, "acute_spells", SPELLS, "RD8", autumn)
    result = _load(settings, tmp_path, "discharge_readiness", SNAPSHOTS, "RD8", autumn)
    assert (result.loaded, result.quarantined) == (11, 1), result.reasons
    _load(settings, tmp_path, "acute_spells", MAY_SPELLS, "RD8", may, "-may")
    _load(settings, tmp_path, "discharge_readiness", MAY_SNAPSHOTS, "RD8", may, "-may")
    return settings


IDS = [
    "ctr.remaining_share_of_beds",
    "ctr.not_discharged_share",
    "ctr.not_meeting_criteria",
    "ctr.remaining_end_of_day",
]


def test_criteria_to_reside_golden(sitrep_loaded):
    frame = results(sitrep_loaded, IDS, frequencies=("month",))
    october, november = date(2024, 10, 1), date(2024, 11, 1)

    share = row(frame, "ctr.remaining_share_of_beds", october)
    assert share.numerator == pytest.approx(5 / 31) and share.denominator == pytest.approx(8 / 31)
    assert share.value == pytest.approx(5 / 8)
    assert share.value == pytest.approx(share.numerator / share.denominator, abs=1e-15)
    assert row(frame, "ctr.not_discharged_share", october).value == pytest.approx(1.0)
    assert row(frame, "ctr.not_meeting_criteria", october).value == pytest.approx(5 / 31)

    assert row(frame, "ctr.remaining_share_of_beds", november).value == pytest.approx(1 / 2)
    assert row(frame, "ctr.not_discharged_share", november).value == pytest.approx(1 / 2)
    assert row(frame, "ctr.not_meeting_criteria", november).value == pytest.approx(2 / 30)
    assert row(frame, "ctr.remaining_end_of_day", november).value == pytest.approx(1 / 30)


def test_criteria_to_reside_bands_and_reasons(sitrep_loaded):
    frame = results(
        sitrep_loaded,
        ["ctr.not_meeting_criteria"],
        frequencies=("month",),
        breakdowns=("los_band", "ready_band", "delay_reason", "delay_reason_group", "pathway"),
    )
    october, may = date(2024, 10, 1), date(2024, 5, 1)
    measure = "ctr.not_meeting_criteria"
    # Length of stay: S1 (29-31 days in) 21+; S2 (3, 4, 6 days in) 0-6.
    assert row(frame, measure, october, "los_band", "21+").value == pytest.approx(2 / 31)
    assert row(frame, measure, october, "los_band", "0-6").value == pytest.approx(3 / 31)
    # Days since ready: S2 on the 8th counts from its new ready date (0 days), not the 5th.
    ready = frame[(frame.period_start == october) & (frame.breakdown == "ready_band")]
    assert set(ready.group) >= {"ready 0-6"}
    assert ready.set_index("group").loc["ready 0-6", "value"] == pytest.approx(5 / 31)
    reasons = frame[(frame.period_start == may) & (frame.breakdown == "delay_reason")]
    by_reason = reasons.set_index("group")["value"]
    assert by_reason["2022-01"] == pytest.approx(1 / 31)
    assert by_reason["2024-01"] == pytest.approx(1 / 31)
    assert row(frame, measure, october, "pathway", "3").value == pytest.approx(3 / 31)
    # Both versions' reasons map to one group, so the series does not break in May 2024.
    group = row(frame, measure, may, "delay_reason_group", "Hospital process")
    assert group.value == pytest.approx(2 / 31)
