"""Residents: one row per person in the Milton Keynes population.

The population that person-level measures count and that breakdowns (age, sex, ethnicity,
deprivation) come from. It mirrors the GP registered population that NHS England publishes
monthly from the Personal Demographics Service ("Patients Registered at a GP Practice").
"""

from __future__ import annotations

from mkdeal.datasets.contract import Column, Dataset, NationalSource
from mkdeal.datasets.definitions._shared import (
    PCN_PATTERN,
    PCN_PATTERN_NAME,
    gp_practice_code,
    lsoa_2021,
    nhs_number,
    not_before,
)

RESIDENTS = Dataset(
    name="residents",
    title="Residents",
    description=(
        "One row per person living in, or registered with a GP practice in, Milton Keynes: "
        "month of birth, sex, ethnicity, area of residence and practice. A reference "
        "dataset: each load from a source replaces that source's whole list, so it has no "
        "period column. Other datasets join to it on person_id for age, sex, ethnicity and "
        "deprivation breakdowns."
    ),
    columns=(
        nhs_number(),
        Column(
            "birth_month",
            "year_month",
            "The month and year of the person's birth; the day is not kept.",
            example="1948-07",
        ),
        Column(
            "sex",
            "string",
            "The person's sex as the source records it, coded as PERSON STATED GENDER CODE.",
            codes="person_stated_gender",
            example="2",
        ),
        Column(
            "ethnic_category",
            "string",
            "The person's ethnicity as they stated it, coded with the 2001-based ETHNIC "
            "CATEGORY (the national code alone, without a local second character).",
            required=False,
            codes="ethnic_category",
            caveat=(
                "This field is often missing or 'not stated' (Z), and a value recorded years "
                "ago is rarely updated, so breakdowns by ethnicity always show the unknown "
                "group and compare coverage between sources."
            ),
            example="A",
        ),
        Column(
            "ethnic_group_2021",
            "string",
            "The person's ethnicity where the source records the newer Census 2021 "
            "categories, which separate Gypsy or Irish Traveller, Roma and Arab.",
            required=False,
            codes="ethnic_group_2021",
            caveat=(
                "Few sources record this field yet. Where both fields are present, the ONS "
                "2021 five-group breakdown takes this one; otherwise it maps ethnic_category "
                "(where Chinese, R, counts as Asian)."
            ),
            example="white_british",
        ),
        lsoa_2021(
            "The Lower layer Super Output Area (2021 boundaries) of the person's home address.",
            required=False,
            caveat=(
                "This field is blank when the address has no valid postcode (national "
                "outputs call such areas 'CLOSED'; send a blank), and it lags behind house "
                "moves, so deprivation breakdowns carry an unknown group."
            ),
        ),
        gp_practice_code(
            "The ODS code of the GP practice the person is registered with.",
            required=False,
            caveat=(
                "GP lists are inflated by people who have left the area or the country and "
                "are not yet removed, so list counts overstate the resident population."
            ),
        ),
        Column(
            "pcn_code",
            "string",
            "The ODS code of the Primary Care Network the person's practice belongs to.",
            required=False,
            pattern=PCN_PATTERN,
            pattern_name=PCN_PATTERN_NAME,
            example="U12345",
        ),
        Column(
            "date_of_death",
            "date",
            "The date the person died, where they have died.",
            required=False,
            caveat=(
                "Deaths reach GP and council records with a delay of days to weeks, so the "
                "latest weeks undercount deaths."
            ),
        ),
    ),
    natural_key=("nhs_number",),
    period_column=None,
    mirrors=(
        NationalSource(
            "NHS England: Patients Registered at a GP Practice (from the Personal "
            "Demographics Service)",
            "https://digital.nhs.uk/data-and-information/publications/statistical/"
            "patients-registered-at-a-gp-practice",
        ),
    ),
    caveats=(
        "A registered list is not the resident population: it includes people who have moved "
        "away and misses residents who are not registered.",
        "Month of birth only, so ages are exact to the month; a person's age on a date is "
        "computed from the first day of their birth month.",
    ),
    row_checks=(
        not_before(
            "date_of_death",
            "birth_month",
            "The date of death is before the month of birth.",
        ),
    ),
)
