"""BMI, z-score, centile and weight category are derived once when children are loaded."""

from __future__ import annotations

import math
from datetime import date

import pytest

from mkdeal import growth
from mkdeal.datasets.staging import Period
from mkdeal.warehouse import open_warehouse_for_writing

from .test_measures import _load

CHILDREN = """\
measurement_id,nhs_number,measured_on,school_year,school_urn,school_type,sex,date_of_birth,ethnic_category,height_cm,weight_kg,lsoa_2021
C1,9990000026,2024-10-01,R,110123,state_maintained_mainstream,1,2019-09-01,A,110.0,19.5,E01016723
C2,9990000034,2024-10-02,Y6,110123,state_maintained_mainstream,2,2013-12-31,A,145.0,48.0,E01016723
C3,9990000042,2024-10-03,R,110123,state_maintained_mainstream,9,2019-09-01,A,110.0,19.5,E01016723
"""


def test_growth_figures_are_stored_with_the_load(settings, tmp_path):
    period = Period(date(2024, 9, 1), date(2025, 8, 31))
    result = _load(settings, tmp_path, "child_measurements", CHILDREN, "E06000042", period)
    assert result.loaded == 3
    with open_warehouse_for_writing(settings, purpose="a test") as backend:
        rows = backend.table("child_measurements").order_by("measurement_id").to_pyarrow()
    rows = rows.to_pylist()

    for row, sex in zip(rows[:2], ("male", "female"), strict=True):
        age = growth.decimal_age(row["date_of_birth"], row["measured_on"])
        bmi = growth.bmi(row["height_cm"], row["weight_kg"])
        sds = growth.bmi_sds(age, sex, bmi)
        assert row["age_at_measurement"] == pytest.approx(float(age), abs=1e-12)
        assert row["bmi"] == pytest.approx(float(bmi), abs=1e-12)
        assert row["bmi_sds"] == pytest.approx(float(sds), abs=1e-12)
        assert row["bmi_centile"] == pytest.approx(float(growth.centile(sds)), abs=1e-9)
        label = growth.CATEGORY_LABELS[int(growth.classify(sds))].replace(" ", "_")
        assert row["weight_category"] == label
        assert row["bmi_needs_review"] is False
    # Sex 9 has no UK90 reference: no z-score, no category, but the BMI is kept.
    unknown = rows[2]
    assert unknown["bmi_sds"] is None or math.isnan(unknown["bmi_sds"])
    assert unknown["weight_category"] is None
    assert unknown["bmi"] == pytest.approx(19.5 / 1.1**2)
