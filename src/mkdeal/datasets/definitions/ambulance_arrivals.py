"""Ambulance arrivals: one row per ambulance arriving at a hospital with a patient.

Mirrors the handover times behind NHS England's ambulance handover figures and the Ambulance
Quality Indicators, and the arrival records of the Emergency Care Data Set.
"""

from __future__ import annotations

from mkdeal.datasets.contract import Column, Dataset, NationalSource
from mkdeal.datasets.definitions._shared import nhs_number, not_before, site_code

AMBULANCE_ARRIVALS = Dataset(
    name="ambulance_arrivals",
    title="Ambulance arrivals and handovers",
    description=(
        "One row per ambulance conveyance arriving at a hospital: when it arrived and when "
        "the patient was handed over to hospital staff. The period column is the arrival "
        "time, which every row has and which fixes the day a handover delay counts against; "
        "the handover may fall after midnight or after the end of the period."
    ),
    columns=(
        Column(
            "arrival_id",
            "string",
            "The identifier of the arrival in the hospital's or ambulance service's handover "
            "system.",
            example="AMB00012345",
        ),
        nhs_number(
            required=False,
            caveat=(
                "This field is blank when the patient could not be identified at handover, "
                "so linking arrivals to spells undercounts."
            ),
        ),
        Column(
            "conveying_service",
            "string",
            "The ambulance service that conveyed the patient, by ODS code.",
            codes="conveying_service",
            example="RYE",
        ),
        site_code("The ODS code of the hospital site the ambulance arrived at."),
        Column(
            "arrived_at",
            "timestamp",
            "The date and time the ambulance arrived at the hospital (the handover clock start).",
            example="2025-04-01 18:05",
        ),
        Column(
            "handed_over_at",
            "timestamp",
            "The date and time the patient was handed over to hospital staff.",
            required=False,
            caveat=(
                "This field is often recorded late, when staff are free to press the "
                "handover button, so handover times are overstated when the department is "
                "busy; and it is blank when no handover was recorded."
            ),
            example="2025-04-01 18:41",
        ),
    ),
    natural_key=("arrival_id",),
    period_column="arrived_at",
    mirrors=(
        NationalSource(
            "NHS England: Ambulance Quality Indicators",
            "https://www.england.nhs.uk/statistics/statistical-work-areas/"
            "ambulance-quality-indicators/",
        ),
        NationalSource(
            "NHS England: Emergency Care Data Set",
            "https://digital.nhs.uk/data-and-information/data-collections-and-data-sets/"
            "data-sets/emergency-care-data-set-ecds",
        ),
    ),
    caveats=(
        "Arrivals without a recorded handover are excluded from handover times, which flatters "
        "them if the missing ones were the longest.",
    ),
    row_checks=(not_before("handed_over_at", "arrived_at", "The handover is before the arrival."),),
)
