"""Reablement follow-up: one row per discharge from hospital into reablement, with where
the person is 91 days later.

Mirrors the Short and Long Term return's measure STS004 behind ASCOF 2B(1), "the proportion
of older people (65 and over) who were still at home 91 days after discharge from hospital
into reablement/rehabilitation services", which councils now also derive from client level
data.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir

from mkdeal.datasets.contract import Column, Dataset, NationalSource, RowCheck
from mkdeal.datasets.definitions._shared import nhs_number, not_before

# ASCOF 2B(1) follows each person up 91 days after the date of their discharge.
FOLLOW_UP_DAYS = 91


def status_not_before_follow_up(t: ir.Table) -> ir.BooleanValue:
    """A 91-day status is recorded on or after the 91st day, unless the person has died."""
    follow_up_day = t.hospital_discharged_on + ibis.interval(days=FOLLOW_UP_DAYS)
    return (t.status_91_days == "died") | (t.status_recorded_on >= follow_up_day)


REABLEMENT_FOLLOW_UP = Dataset(
    name="reablement_follow_up",
    title="Reablement after hospital discharge, with 91-day follow-up",
    description=(
        "One row per discharge from hospital into reablement or rehabilitation arranged with "
        "the council: the setting, who funds it, and where the person was 91 days after the "
        "discharge. The period column is the hospital discharge date, the date ASCOF 2B(1) "
        "selects its cohort by (discharges from 1 October to 31 December, followed up 91 "
        "days later); the 91-day status is filled in by a corrected extract of the same "
        "period once the follow-up is done."
    ),
    columns=(
        Column(
            "episode_id",
            "string",
            "The council's identifier of the reablement episode.",
            example="REA00012345",
        ),
        nhs_number(),
        Column(
            "birth_month",
            "year_month",
            "The month and year of the person's birth, so the 65 and over group can be "
            "selected at the discharge date.",
            example="1944-03",
        ),
        Column(
            "spell_id",
            "string",
            "The acute spell whose discharge this reablement follows, where the council knows it.",
            required=False,
            example="SP00123456",
        ),
        Column(
            "hospital_discharged_on",
            "date",
            "The date the person was discharged from hospital into reablement.",
            example="2025-10-01",
        ),
        Column(
            "reablement_setting",
            "string",
            "Where the reablement or rehabilitation took place.",
            codes="reablement_setting",
            example="home",
        ),
        Column(
            "reablement_funding",
            "string",
            "Whether the council supports the care, wholly or partly, or the person funds it "
            "themselves.",
            codes="reablement_funding",
            caveat=(
                "Councils often hold no record of wholly self-funded reablement, so "
                "self-funded rows undercount; ASCOF 2B counts council-supported care only."
            ),
            example="council_supported",
        ),
        Column(
            "reablement_started_on",
            "date",
            "The date the reablement or rehabilitation service started.",
            required=False,
            example="2025-10-02",
        ),
        Column(
            "status_91_days",
            "string",
            "Where the person was 91 days after the hospital discharge.",
            required=False,
            codes="status_91_days",
            caveat=(
                "People the council cannot contact are recorded as unknown and counted as "
                "not at home, so the measure falls when follow-up contact is poor."
            ),
            example="at_home",
        ),
        Column(
            "status_recorded_on",
            "date",
            "The date the 91-day status was established.",
            required=False,
            example="2026-01-05",
        ),
    ),
    natural_key=("episode_id",),
    period_column="hospital_discharged_on",
    mirrors=(
        NationalSource(
            "NHS England: Short and Long Term return, measure STS004 (ASCOF 2B)",
            "https://digital.nhs.uk/data-and-information/data-collections-and-data-sets/"
            "data-collections/social-care-collection-materials-2022/"
            "salt-data-return-2021-2022-guidance/sts004",
        ),
        NationalSource(
            "NHS England: Adult Social Care Client Level Data",
            "https://digital.nhs.uk/data-and-information/data-collections-and-data-sets/"
            "data-sets/adult-social-care-client-level-data",
        ),
    ),
    caveats=(
        "ASCOF 2B(1) counts people aged 65 and over at discharge; age comes from residents.",
        "The latest three months of discharges have no 91-day status yet; a measure for them "
        "is a gap, not a fall.",
    ),
    row_checks=(
        not_before(
            "reablement_started_on",
            "hospital_discharged_on",
            "Reablement starts before the hospital discharge.",
        ),
        not_before(
            "status_recorded_on",
            "hospital_discharged_on",
            "The 91-day status is recorded before the hospital discharge.",
        ),
        RowCheck(
            field="status_recorded_on",
            reason=(
                "A 91-day status other than died is recorded before the 91st day after the "
                "discharge."
            ),
            uses=("status_91_days", "status_recorded_on", "hospital_discharged_on"),
            holds=status_not_before_follow_up,
        ),
    ),
)
