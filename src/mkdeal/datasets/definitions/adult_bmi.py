"""Adult BMI: one row per recorded body mass index, or height and weight, of an adult.

Mirrors the BMI recorded in GP records, which the Quality and Outcomes Framework's obesity
register counts (a BMI of 30 or more recorded in the last 12 months), and measurements
taken by weight management services.
"""

from __future__ import annotations

import ibis.expr.types as ir

from mkdeal.datasets.contract import Column, Dataset, NationalSource, RowCheck
from mkdeal.datasets.definitions._shared import gp_practice_code, nhs_number


def bmi_or_height_and_weight(t: ir.Table) -> ir.BooleanValue:
    """Either a BMI, or both a height and a weight to compute one from."""
    return t.bmi.notnull() | (t.height_cm.notnull() & t.weight_kg.notnull())


ADULT_BMI = Dataset(
    name="adult_bmi",
    title="Adult body mass index",
    description=(
        "One row per recording of an adult's BMI, or of the height and weight it is computed "
        "from, with where it came from. The period column is the date it was recorded, which "
        "every row has; measures take each person's latest recording in a window."
    ),
    columns=(
        Column(
            "observation_id",
            "string",
            "The source's identifier of the recording.",
            example="OBS00012345",
        ),
        nhs_number(),
        Column(
            "recorded_on",
            "date",
            "The date the BMI, height or weight was recorded.",
            example="2025-06-18",
        ),
        Column(
            "bmi",
            "decimal",
            "The body mass index in kg/m², as recorded.",
            required=False,
            minimum=10,
            maximum=100,
            caveat=(
                "This field is sometimes a value typed into the wrong field (a weight, or a "
                "height in metres), so values outside 10 to 100 are quarantined; within the "
                "limits, check against height and weight where both are given."
            ),
            example="31.4",
        ),
        Column(
            "height_cm",
            "decimal",
            "The person's height in centimetres.",
            required=False,
            # Adults 100 to 250 cm tall: wide enough for any adult, narrow enough to catch
            # metres and inches.
            minimum=100,
            maximum=250,
            example="172",
        ),
        Column(
            "weight_kg",
            "decimal",
            "The person's weight in kilograms.",
            required=False,
            # Catches values in grams or stones; an adult weight below 25 kg is an error.
            minimum=25,
            maximum=350,
            example="93.0",
        ),
        Column(
            "bmi_source",
            "string",
            "Where the recording came from: the GP record, a weight management service, the "
            "person's own report, or another source.",
            codes="bmi_source",
            caveat=(
                "Self-reported heights are often overstated and weights understated, so "
                "self-reported BMI tends to be lower than measured BMI."
            ),
            example="gp_record",
        ),
        gp_practice_code(
            "The ODS code of the GP practice that recorded it, for GP records.",
            required=False,
        ),
    ),
    natural_key=("observation_id",),
    period_column="recorded_on",
    mirrors=(
        NationalSource(
            "NHS England: Quality and Outcomes Framework, achievement, prevalence and "
            "exceptions data",
            "https://digital.nhs.uk/data-and-information/publications/statistical/"
            "quality-and-outcomes-framework-achievement-prevalence-and-exceptions-data",
        ),
    ),
    caveats=(
        "BMI is recorded more often for people with long-term conditions (diabetes, heart "
        "disease) and for those seeking help with weight, so people with a recording are not "
        "representative of all adults.",
    ),
    row_checks=(
        RowCheck(
            field="bmi",
            reason="Neither a BMI nor both a height and a weight are given.",
            # Empty: the check is about which columns are missing, so it is asked of every
            # row and handles the blanks itself.
            uses=(),
            holds=bmi_or_height_and_weight,
        ),
    ),
)
