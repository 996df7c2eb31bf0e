"""Child measurements: one row per child measured by the National Child Measurement Programme.

Height and weight of children in Reception (aged 4 to 5) and Year 6 (aged 10 to 11),
measured in school each academic year and returned to NHS England.
"""

from __future__ import annotations

import ibis
import numpy as np
import pyarrow as pa

from mkdeal.datasets.contract import Column, Dataset, NationalSource, RowCheck
from mkdeal.datasets.definitions._shared import (
    SCHOOL_URN_PATTERN,
    SCHOOL_URN_PATTERN_NAME,
    lsoa_2021,
    nhs_number,
    not_before,
)

# PERSON STATED GENDER CODE to rcpchgrowth's sexes; 9 and X have no UK90 reference.
_SEX = {"1": "male", "2": "female"}


def derive_growth(rows: pa.Table) -> pa.Table:
    """Age, BMI, UK90 BMI z-score and centile, and NCMP weight category, for each child.

    Worked out once when a load is staged (`mkdeal.growth`, vectorised; it matches
    rcpchgrowth to 1e-15), so measures never recompute them. The age basis is
    rcpchgrowth's decimal age: whole days from birth to measurement / 365.25. A child whose
    sex is 9 or X, or who is under 4, has no z-score and no category ("missing").
    """
    from mkdeal import growth  # scipy, imported only when children are loaded

    age = growth.decimal_age(
        rows["date_of_birth"].to_numpy(zero_copy_only=False),
        rows["measured_on"].to_numpy(zero_copy_only=False),
    )
    sex = np.asarray([_SEX.get(code) for code in rows["sex"].to_pylist()], dtype=object)
    value = growth.bmi(
        rows["height_cm"].to_numpy(zero_copy_only=False),
        rows["weight_kg"].to_numpy(zero_copy_only=False),
    )
    sds = growth.bmi_sds(age, sex, value)
    codes = growth.classify(sds)
    labels = np.asarray(
        [None, *(growth.CATEGORY_LABELS[c].replace(" ", "_") for c in range(1, 6))],
        dtype=object,
    )[codes]
    derived = {
        "age_at_measurement": pa.array(age, mask=np.isnan(age)),
        "bmi": pa.array(value, mask=np.isnan(value)),
        "bmi_sds": pa.array(sds, mask=np.isnan(sds)),
        "bmi_centile": pa.array(growth.centile(sds), mask=np.isnan(sds)),
        "weight_category": pa.array(labels, type=pa.string()),
        "bmi_needs_review": pa.array(growth.needs_review(sds)),
    }
    for name, array in derived.items():
        rows = rows.append_column(name, array)
    return rows


DERIVED_GROWTH = (
    ("age_at_measurement", "float64", "Decimal age at measurement: days / 365.25."),
    ("bmi", "float64", "BMI in kg/m², from height and weight."),
    ("bmi_sds", "float64", "UK90 BMI z-score (SDS) at the decimal age."),
    ("bmi_centile", "float64", "UK90 BMI centile (0 to 100)."),
    (
        "weight_category",
        "string",
        "NCMP population monitoring category: underweight (2nd centile or below), "
        "healthy_weight, overweight (85th or above), obese (95th), severely_obese (99.6th).",
    ),
    ("bmi_needs_review", "boolean", "|z| above 5: kept in the counts, but check the record."),
)

CHILD_MEASUREMENTS = Dataset(
    name="child_measurements",
    title="Child measurements (NCMP)",
    description=(
        "One row per child measured in the National Child Measurement Programme: school "
        "year, school, sex, age, height and weight, from which measures derive BMI and its "
        "UK90 centile. The period column is the measurement date: every row has one, and "
        "NCMP results are reported by the academic year (September to August) it falls in."
    ),
    columns=(
        Column(
            "measurement_id",
            "string",
            "The identifier of the measurement record (the NCMP system's record id, or the "
            "provider's own).",
            example="NCMP00012345",
        ),
        nhs_number(
            required=False,
            caveat=(
                "The NHS number is recorded only where collected, so some children cannot "
                "be linked to residents and their deprivation comes from lsoa_2021 instead."
            ),
        ),
        Column(
            "measured_on",
            "date",
            "The date the child was measured.",
            example="2025-11-12",
        ),
        Column(
            "school_year",
            "string",
            "The child's year group: Reception or Year 6.",
            codes="school_year",
            example="R",
        ),
        Column(
            "school_urn",
            "string",
            "The Department for Education unique reference number of the child's school.",
            pattern=SCHOOL_URN_PATTERN,
            pattern_name=SCHOOL_URN_PATTERN_NAME,
            example="110123",
        ),
        Column(
            "school_type",
            "string",
            "The kind of school: mainstream state-maintained, independent or special.",
            codes="ncmp_school_type",
            example="state_maintained_mainstream",
        ),
        Column(
            "sex",
            "string",
            "The child's sex, coded as PERSON STATED GENDER CODE; BMI centiles depend on it.",
            codes="person_stated_gender",
            example="1",
        ),
        Column(
            "date_of_birth",
            "date",
            "The child's date of birth, from which measures compute the decimal age at "
            "measurement that UK90 centiles need.",
            caveat=(
                "The full date is kept because BMI centiles in childhood change within "
                "weeks of age; it stays in the pseudonymised warehouse and is never published."
            ),
            example="2020-09-14",
        ),
        Column(
            "ethnic_category",
            "string",
            "The child's ethnicity as the school or parent recorded it, coded with the "
            "2001-based ETHNIC CATEGORY.",
            required=False,
            codes="ethnic_category",
            caveat=(
                "This field comes from school records mapped to NHS codes and is often "
                "missing, so breakdowns by ethnicity show the unknown group."
            ),
            example="A",
        ),
        Column(
            "height_cm",
            "decimal",
            "The child's height in centimetres, measured without shoes.",
            # Limits that catch wrong units (metres, inches), not unusual children: on UK90
            # (rcpchgrowth 4.6.5) 5 SD below the mean at 4 years is 81.4 cm (girls) and 5 SD
            # above it at 11.9 years is 184.8 cm (girls). The NCMP system's own warning
            # ranges were not read.
            minimum=80,
            maximum=200,
            example="110.5",
        ),
        Column(
            "weight_kg",
            "decimal",
            "The child's weight in kilograms, measured in light clothing.",
            # As for height: 5 SD below the UK90 mean at 4 years is 9.4 kg (girls). UK90's
            # upper tail runs past 200 kg at 10 years, which no child weighs; 150 kg keeps
            # every plausible Year 6 weight and catches values in grams.
            minimum=9,
            maximum=150,
            caveat=(
                "Weights have been rounded to the nearest kilogram or half-kilogram by some "
                "measurers (digit preference), which moves BMI near the centile thresholds."
            ),
            example="19.2",
        ),
        lsoa_2021(
            "The LSOA 2021 of the child's home postcode.",
            required=False,
            caveat=(
                "This field is blank where the home postcode was not collected or invalid; "
                "the school's area is no substitute for the child's."
            ),
        ),
    ),
    natural_key=("measurement_id",),
    period_column="measured_on",
    mirrors=(
        NationalSource(
            "Department of Health and Social Care: National Child Measurement Programme, "
            "operational guidance",
            "https://www.gov.uk/government/publications/"
            "national-child-measurement-programme-operational-guidance",
        ),
        NationalSource(
            "National Child Measurement Programme annual report, methods",
            "https://fingertips.phe.org.uk/static-reports/obesity-physical-activity-nutrition/"
            "ncmp-report-methods.html",
        ),
    ),
    caveats=(
        "National figures count mainstream state-maintained schools only; independent and "
        "special schools take part voluntarily and must be excluded from comparable series.",
        "Parents may withdraw their child, and absent children are not measured, so "
        "participation (about 95% nationally) should be reported beside prevalence.",
    ),
    row_checks=(
        not_before("measured_on", "date_of_birth", "The measurement is before the child's birth."),
        # Reception and Year 6 children are 4 to 11; the limits leave room for children
        # taught outside their age group and catch a birth year typed wrongly.
        RowCheck(
            field="date_of_birth",
            reason="The child is under 3 or over 13 years old on the measurement date.",
            uses=("date_of_birth", "measured_on"),
            holds=lambda t: (
                (t.date_of_birth + ibis.interval(years=3) <= t.measured_on)
                & (t.date_of_birth + ibis.interval(years=13) >= t.measured_on)
            ),
        ),
    ),
    derived_columns=DERIVED_GROWTH,
    derive=derive_growth,
)
