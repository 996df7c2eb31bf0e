"""Golden tests of the adult weight measures on hand-built GP records, through real loads."""

from __future__ import annotations

from datetime import date

import pytest

from mkdeal.datasets.staging import Period

from .test_measures import _load, results, row

PEOPLE = """\
nhs_number,birth_month,sex,ethnic_category,ethnic_group_2021,lsoa_2021,gp_practice_code,pcn_code,date_of_death
9990000018,1970-01,1,A,,E01016723,K82001,U12345,
9990000026,1970-01,2,H,,E01016723,K82001,U12345,
9990000034,1970-01,1,R,,E01016723,K82001,U12345,
9990000042,1970-01,2,N,,E01016723,K82001,U12345,
9990000050,1970-01,1,S,,E01016723,K82001,U12345,
9990000069,1970-01,2,S,other_arab,E01016723,K82001,U12345,
9990000077,1970-01,1,D,,E01016723,K82001,U12345,
9990000085,2008-06,2,A,,E01016723,K82001,U12345,
"""
OBSERVATIONS = """\
observation_id,nhs_number,recorded_on,bmi,height_cm,weight_kg,bmi_source,gp_practice_code
O1,9990000018,2024-05-01,27.0,,,other,K82001
O2,9990000018,2025-02-01,24.0,,,other,K82001
O3,9990000026,2024-06-01,24.0,,,other,K82001
O4,9990000034,2024-06-01,24.0,,,other,K82001
O5,9990000042,2024-06-01,24.0,,,other,K82001
O6,9990000050,2024-06-01,24.0,,,other,K82001
O7,9990000069,2024-06-01,24.0,,,other,K82001
O8,9990000077,2024-06-01,24.0,,,other,K82001
O9,9990000085,2024-06-01,31.0,,,other,K82001
"""
# Person 1 (White British): 27 in May 2024, then 24 in February 2025: their latest in the
# year is 24, so not overweight. Everyone else has a BMI of 24 in 2024/25: not overweight
# at the standard threshold; overweight at NICE's 23 for H (Indian), R (Chinese), N
# (African) and the 2021 code other_arab; not for S (any other ethnic group: Middle
# Eastern cannot be told apart) or D (Mixed). Person 8 is 16: not an adult.
# 2024/25: 7 adults; standard 0 of 7; NICE 4 of 7.


@pytest.fixture
def weight_loaded(settings, tmp_path):
    _load(settings, tmp_path, "residents", PEOPLE, "QHG")
    year = Period(date(2024, 4, 1), date(2025, 3, 31))
    _load(settings, tmp_path, "adult_bmi", OBSERVATIONS, "QHG", year)
    return settings


def test_adult_weight_golden(weight_loaded):
    ids = ["weight.adults_overweight_or_obese", "weight.adults_overweight_or_obese_nice"]
    frame = results(weight_loaded, ids, frequencies=("financial_year", "month"))
    year = date(2024, 4, 1)
    standard, nice = row(frame, ids[0], year), row(frame, ids[1], year)
    assert (standard.numerator, standard.denominator) == (0, 7)
    assert (nice.numerator, nice.denominator) == (4, 7)
    # "Latest in the year" cannot be added up from months: years only.
    assert set(frame.frequency) == {"financial_year"}


# --- NCMP -------------------------------------------------------------------------------

CHILDREN = """\
measurement_id,nhs_number,measured_on,school_year,school_urn,school_type,sex,date_of_birth,ethnic_category,height_cm,weight_kg,lsoa_2021
C1,9990000018,2024-10-01,R,110123,state_maintained_mainstream,1,2019-09-01,A,110.0,25.0,E01016723
C2,9990000026,2024-10-01,R,110123,state_maintained_mainstream,2,2019-09-01,A,110.0,19.0,E01016724
C3,9990000034,2024-10-01,R,110124,independent,1,2019-09-01,A,110.0,25.0,E01016723
C4,9990000042,2024-10-01,R,110123,state_maintained_mainstream,1,2019-09-01,A,110.0,25.0,E01099999
C5,9990000050,2024-10-01,R,110123,state_maintained_mainstream,9,2019-09-01,A,110.0,25.0,E01016723
C6,9990000069,2024-10-02,Y6,110123,state_maintained_mainstream,2,2013-12-31,A,145.0,48.0,E01016723
"""
# Reception 2024/25: C1 (BMI 20.7 at 5.1 years: above the 99.6th centile) and C2 (BMI
# 15.7: healthy) count; C3 is at an independent school and C4 lives outside the area (its
# LSOA is in Bedford, E06000055, in the deprivation file): both out; C5 (sex 9) has no
# z-score: outside the denominator.
# Year 6: C6 alone (BMI 22.8 at 10.8 years: between the 95th and 99.6th centiles).
NCMP_EXPECTED = {
    "ncmp.reception_overweight_or_obese": (1, 2),
    "ncmp.reception_obese": (1, 2),
    "ncmp.reception_severely_obese": (1, 2),
    "ncmp.year6_overweight_or_obese": (1, 1),
    "ncmp.year6_obese": (1, 1),
    "ncmp.year6_severely_obese": (0, 1),
}


def test_ncmp_golden(settings, tmp_path):
    from mkdeal import growth

    from .test_measures import DEPRIVATION

    bedford = "E01099999,synthetic,E06000055,5,16000,20.0,,\n"
    # The centiles the comments state, from the growth module (itself checked against
    # rcpchgrowth): C1 above the 99.6th, C2 healthy, C6 between the 95th and the 99.6th.
    ages = growth.decimal_age(["2019-09-01", "2019-09-01", "2013-12-31"], ["2024-10-01"] * 3)
    sds = growth.bmi_sds(
        ages, ["male", "female", "female"], growth.bmi([110, 110, 145], [25, 19, 48])
    )
    assert list(growth.classify(sds)) == [
        growth.SEVERELY_OBESE,
        growth.HEALTHY_WEIGHT,
        growth.OBESE,
    ]

    _load(settings, tmp_path, "area_deprivation", DEPRIVATION + bedford, "E06000042")
    year = Period(date(2024, 9, 1), date(2025, 8, 31))
    _load(settings, tmp_path, "child_measurements", CHILDREN, "E06000042", year)
    frame = results(settings, list(NCMP_EXPECTED), frequencies=("academic_year", "month"))
    for measure_id, expected in NCMP_EXPECTED.items():
        got = row(frame, measure_id, date(2024, 9, 1))
        assert (got.numerator, got.denominator) == expected, measure_id
    assert set(frame.frequency) == {"academic_year"}
