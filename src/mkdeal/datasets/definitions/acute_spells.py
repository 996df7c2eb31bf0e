"""Acute spells: one row per hospital provider spell (an admission to discharge).

Mirrors Hospital Episode Statistics and the Secondary Uses Service admitted patient care
data; the coded fields use the NHS Data Model and Dictionary's national codes.
"""

from __future__ import annotations

from mkdeal.datasets.contract import Column, Dataset, NationalSource
from mkdeal.datasets.definitions._shared import (
    lsoa_2021,
    nhs_number,
    not_before,
    provider_code,
    site_code,
)

ACUTE_SPELLS = Dataset(
    name="acute_spells",
    title="Acute hospital spells",
    description=(
        "One row per hospital provider spell: a patient's continuous stay in one hospital "
        "provider, from admission to discharge, with how they were admitted and where they "
        "went. The period column is the admission time, not the discharge: an extract for a "
        "period holds the spells admitted in it, as known when extracted, including spells "
        "not yet finished. A spell's admission never changes, so each spell stays in one "
        "slice, and a corrected extract of the same period replaces the slice and fills in "
        "discharges; keyed on discharge, an unfinished spell would belong to no period and "
        "move between slices when it ended."
    ),
    columns=(
        Column(
            "spell_id",
            "string",
            "The provider's identifier of the spell (HOSPITAL PROVIDER SPELL NUMBER).",
            example="SP00123456",
        ),
        nhs_number(),
        provider_code("The ODS code of the hospital provider (RD8 for MKUH)."),
        site_code("The ODS code of the hospital site of admission.", required=False),
        Column(
            "admitted_at",
            "timestamp",
            "The date and time the spell started (START DATE and TIME (HOSPITAL PROVIDER SPELL)).",
            example="2025-04-01 14:32",
        ),
        Column(
            "discharged_at",
            "timestamp",
            "The date and time the patient was discharged; blank while the spell continues.",
            required=False,
            caveat=(
                "Discharge times are often entered after the patient has left, so times "
                "cluster on the hour and at the end of shifts; lengths of stay in hours are "
                "approximate, lengths in days are not."
            ),
            example="2025-04-06 11:05",
        ),
        Column(
            "admission_method",
            "string",
            "How the patient was admitted (METHOD OF ADMISSION): elective, emergency, "
            "maternity or other.",
            codes="admission_method",
            example="21",
        ),
        Column(
            "admission_source",
            "string",
            "Where the patient was immediately before admission (SOURCE OF ADMISSION, older "
            "or newer list).",
            codes="admission_source",
            caveat=(
                "This field is often defaulted to usual place of residence (19), so it "
                "undercounts admissions from care homes."
            ),
            example="19",
        ),
        Column(
            "discharge_method",
            "string",
            "How the spell ended (DISCHARGE METHOD), including death; blank while it continues.",
            required=False,
            codes="discharge_method",
            example="1",
        ),
        Column(
            "discharge_destination",
            "string",
            "Where the patient went on discharge (DISCHARGE DESTINATION, older or newer list).",
            required=False,
            codes="discharge_destination",
            caveat=(
                "This field is often recorded as usual place of residence (19) when the "
                "destination was a care home or a community bed, so use the discharge "
                "pathway from discharge_readiness for pathways 1 to 3."
            ),
            example="19",
        ),
        Column(
            "main_specialty",
            "string",
            "The main specialty of the consultant responsible at discharge (NHS Data "
            "Dictionary MAIN SPECIALTY CODE, three digits, e.g. 430 Geriatric Medicine).",
            required=False,
            pattern="[0-9]{3}",
            pattern_name="a three-digit main specialty code",
            caveat=(
                "Checked for shape only: the full MAIN SPECIALTY CODE list is not yet shipped "
                "as a code list, so a well-formed but retired code is accepted."
            ),
            example="430",
        ),
        Column(
            "treatment_function",
            "string",
            "The treatment function of the last episode (NHS Data Dictionary TREATMENT "
            "FUNCTION CODE, three digits, e.g. 300 General Internal Medicine).",
            required=False,
            pattern="[0-9]{3}",
            pattern_name="a three-digit treatment function code",
            caveat=(
                "Checked for shape only: the full TREATMENT FUNCTION CODE list is not yet "
                "shipped as a code list."
            ),
            example="300",
        ),
        Column(
            "discharge_pathway",
            "string",
            "The discharge pathway (0 to 3) the patient left hospital on, where recorded.",
            required=False,
            codes="discharge_pathway",
            caveat=(
                "Often blank for pathway 0 (home with no new support), so a blank is not "
                "evidence of pathway 0."
            ),
            example="0",
        ),
        Column(
            "bed_type",
            "string",
            "The broad kind of bed the spell occupied, mapped by the partner from its ward "
            "or specialty.",
            codes="bed_type",
            example="adult_general_acute",
        ),
        lsoa_2021(
            "The LSOA 2021 of the patient's address at admission, for patients not in residents.",
            required=False,
        ),
    ),
    natural_key=("spell_id",),
    period_column="admitted_at",
    mirrors=(
        NationalSource(
            "NHS England: Hospital Episode Statistics, Admitted Patient Care",
            "https://digital.nhs.uk/data-and-information/data-tools-and-services/"
            "data-services/hospital-episode-statistics",
        ),
    ),
    caveats=(
        "A measure of discharges in a month needs the slices that hold every spell discharged "
        "in it, including long stays admitted months before; a month whose earlier slices are "
        "missing is a gap, not a zero.",
        "Spells, not episodes: HES counts finished consultant episodes, so counts differ from "
        "HES episode counts.",
    ),
    row_checks=(
        not_before("discharged_at", "admitted_at", "The discharge is before the admission."),
    ),
)
