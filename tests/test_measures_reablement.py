# ruff: noqa: E501 -- the extracts are written out as the CSV rows they are, one per line.
"""Golden tests of ASCOF 2B(1) and 2B(2) on hand-built extracts, through real loads."""

from __future__ import annotations

from datetime import date

import pytest

from mkdeal.datasets.staging import Period

from .test_measures import RESIDENTS, _load, results, row

EPISODES = """\
episode_id,nhs_number,birth_month,spell_id,hospital_discharged_on,reablement_setting,reablement_funding,reablement_started_on,status_91_days,status_recorded_on
R1,9990000026,1940-03,,2024-10-01,home,council_supported,2024-10-02,at_home,2025-01-05
R2,9990000026,1940-03,,2024-10-15,home,council_supported,2024-10-16,died,2024-11-20
R3,9990000026,1940-03,,2024-11-01,extra_care_housing,council_supported,2024-11-02,extra_care_housing,2025-02-05
R4,9990000026,1940-03,,2024-11-10,home,self_funded,2024-11-11,at_home,2025-02-12
R5,9990000026,1940-03,,2024-12-31,home,council_supported,2025-01-01,unknown,2025-04-05
R6,9990000026,1940-03,,2025-01-01,home,council_supported,2025-01-02,at_home,2025-04-05
R7,9990000034,1960-01,,2024-11-20,home,council_supported,2024-11-21,at_home,2025-02-21
R8,9990000026,1940-03,,2024-12-01,residential_or_nursing_rehabilitation,council_supported,2024-12-02,residential_or_nursing_care,2025-03-05
R9,9990000026,1940-03,,2024-12-05,home,council_supported,2024-12-06,,
"""
# R1 at home (in). R2 died within 91 days: denominator only. R3 in extra care housing:
# at home. R4 self-funded: excluded. R5 discharged 31 December: in the quarter, status
# unknown counts as not at home. R6 discharged 1 January: outside the quarter. R7 born
# January 1960, 64 at discharge: excluded. R8 in a care home at 91 days: not at home.
# R9 not yet followed up: outside both counts, counted as awaiting.
# 2B(1), October-December 2024: cohort R1, R2, R3, R5, R8 (+ R9 awaiting) -> 2 of 5.

SPELLS = """\
spell_id,nhs_number,provider_code,site_code,admitted_at,discharged_at,admission_method,admission_source,discharge_method,discharge_destination,main_specialty,treatment_function,discharge_pathway,bed_type,lsoa_2021
S1,9990000026,RD8,RD816,2024-09-25 10:00,2024-10-01 11:00,21,19,1,19,300,300,1,adult_general_acute,E01016723
S2,9990000026,RD8,RD816,2024-10-10 10:00,2024-10-15 11:00,21,19,1,19,300,300,1,adult_general_acute,E01016723
S3,9990000026,RD8,RD816,2024-11-01 10:00,2024-11-05 11:00,21,19,4,79,300,300,,adult_general_acute,E01016723
S4,9990000034,RD8,RD816,2024-11-01 10:00,2024-11-05 11:00,21,19,1,19,300,300,1,adult_general_acute,E01016723
S5,9990000026,RD8,RD816,2024-12-20 10:00,2024-12-31 23:30,21,19,1,19,300,300,1,adult_general_acute,E01016723
"""
# 2B(2) denominator: residents 65+ discharged alive 1 October to 31 December: S1, S2 and
# S5 (discharged 23:30 on 31 December). S3 died (method 4); S4's patient is 64.
# Numerator: the 2B(1) cohort of the quarter, R1, R2, R3, R5, R8, R9 = 6 -> 6 of 3: the
# share can exceed 100% when the spells loaded miss other hospitals, as the caveat says.

QUARTER = date(2024, 10, 1)


@pytest.fixture
def reablement_loaded(settings, tmp_path):
    year = Period(date(2024, 4, 1), date(2025, 3, 31))
    _load(settings, tmp_path, "reablement_follow_up", EPISODES, "E06000042", year)
    _load(
        settings,
        tmp_path,
        "acute_spells",
        SPELLS,
        "RD8",
        Period(date(2024, 9, 1), date(2025, 3, 31)),
    )
    _load(settings, tmp_path, "residents", RESIDENTS, "QHG")
    return settings


def test_ascof_2b1_golden(reablement_loaded):
    frame = results(
        reablement_loaded,
        ["reablement.ascof_2b1_at_home_91_days", "reablement.awaiting_follow_up"],
        frequencies=("quarter", "month"),
    )
    share = row(frame, "reablement.ascof_2b1_at_home_91_days", QUARTER)
    assert (share.numerator, share.denominator) == (2, 5)
    assert row(frame, "reablement.awaiting_follow_up", QUARTER).value == 1
    # Only the October-December quarter is published; no months, no other quarters.
    assert set(frame.period_start) == {QUARTER}


def test_ascof_2b2_golden(reablement_loaded):
    frame = results(reablement_loaded, ["reablement.ascof_2b2_offered"], frequencies=("quarter",))
    offered = row(frame, "reablement.ascof_2b2_offered", QUARTER)
    assert (offered.numerator, offered.denominator) == (6, 3)
