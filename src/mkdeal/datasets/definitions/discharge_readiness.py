"""Discharge readiness: one row per inpatient per daily snapshot.

Mirrors NHS England's acute discharge situation report (sitrep): each day, which adult
inpatients no longer meet the criteria to reside, since when (the discharge ready date),
on which discharge pathway, and why they are still in hospital.
"""

from __future__ import annotations

import datetime
import functools
import operator

import ibis.expr.types as ir

from mkdeal.datasets.codes import code_list
from mkdeal.datasets.contract import Column, Dataset, NationalSource, RowCheck
from mkdeal.datasets.definitions._shared import nhs_number, provider_code


def delay_reason_in_effect(t: ir.Table) -> ir.BooleanValue:
    """The delay reason belongs to the sitrep specification in effect on the snapshot date.

    Each specification's reasons are valid from its effective_from (27 May 2022, 27 May
    2024) until the next one's, as the code list records them.
    """
    reasons = code_list("sitrep_delay_reason")
    starts: dict[str, datetime.date] = {}
    for code in reasons.codes:
        version = reasons.attribute(code, "spec_version")
        starts[version] = datetime.date.fromisoformat(reasons.attribute(code, "effective_from"))
    versions = sorted(starts, key=starts.__getitem__)
    in_effect = []
    for index, version in enumerate(versions):
        codes = [c for c in reasons.codes if reasons.attribute(c, "spec_version") == version]
        condition = t.delay_reason.isin(codes) & (t.snapshot_date >= starts[version])
        if index + 1 < len(versions):
            condition &= t.snapshot_date < starts[versions[index + 1]]
        in_effect.append(condition)
    return functools.reduce(operator.or_, in_effect)


DISCHARGE_READINESS = Dataset(
    name="discharge_readiness",
    title="Discharge readiness (daily snapshot)",
    description=(
        "One row per inpatient spell per snapshot day: whether the patient still meets the "
        "criteria to reside, their discharge ready date, planned discharge pathway and, for "
        "those who no longer meet the criteria, the reason they are still in hospital. The "
        "period column is the snapshot date, the day the row describes: every row has one, "
        "and it never changes when later snapshots are taken."
    ),
    columns=(
        Column(
            "snapshot_date",
            "date",
            "The day the snapshot describes, in Europe/London.",
            example="2025-04-04",
        ),
        Column(
            "snapshot_taken_at",
            "timestamp",
            "The date and time the snapshot was taken (for example after the morning board round).",
            required=False,
            example="2025-04-04 09:30",
        ),
        Column(
            "spell_id",
            "string",
            "The provider's identifier of the spell, as in acute_spells.",
            example="SP00123456",
        ),
        nhs_number(),
        provider_code("The ODS code of the hospital provider."),
        Column(
            "meets_criteria_to_reside",
            "boolean",
            "Whether the patient met the clinical criteria to reside in an acute bed at the "
            "snapshot.",
            caveat=(
                "This field is a daily clinical judgement recorded at board rounds, and "
                "wards record it with different care, so compare trends within a provider "
                "rather than levels between providers."
            ),
            example="N",
        ),
        Column(
            "discharge_ready_date",
            "date",
            "The date the patient was declared ready for discharge (no longer meeting the "
            "criteria to reside).",
            required=False,
            caveat=(
                "This field is often set or revised after the event, so recent delays are "
                "undercounted until later snapshots correct them."
            ),
            example="2025-04-03",
        ),
        Column(
            "discharge_pathway",
            "string",
            "The discharge pathway (0 to 3) the patient is expected to leave on.",
            required=False,
            codes="discharge_pathway",
            example="1",
        ),
        Column(
            "delay_reason",
            "string",
            "The main reason a patient who no longer meets the criteria to reside is still in "
            "hospital, from the sitrep specification in effect on the snapshot date.",
            required=False,
            codes="sitrep_delay_reason",
            caveat=(
                "The 2024 list is incomplete in mkdeal (7 of its reasons), so rows with other "
                "2024 reasons are quarantined until the list is completed; and one reason per "
                "patient hides delays with several causes."
            ),
            example="2024-05",
        ),
    ),
    natural_key=("snapshot_date", "spell_id"),
    period_column="snapshot_date",
    mirrors=(
        NationalSource(
            "NHS England: Acute discharge situation report (technical specification)",
            "https://www.england.nhs.uk/publication/acute-discharge-situation-report-"
            "technical-specification/",
        ),
    ),
    caveats=(
        "The national sitrep covers adult inpatients (18 and over, critical care included) in "
        "acute trusts with a type 1 A&E and excludes paediatrics, maternity and deceased "
        "patients; filter on bed type and age before comparing with it.",
        "The delay reasons and pathway definitions changed on 27 May 2024; series by reason "
        "break there.",
    ),
    row_checks=(
        RowCheck(
            field="discharge_ready_date",
            reason="The discharge ready date is after the snapshot date.",
            uses=("discharge_ready_date", "snapshot_date"),
            holds=lambda t: t.discharge_ready_date <= t.snapshot_date,
        ),
        RowCheck(
            field="delay_reason",
            reason="A delay reason is given for a patient who still meets the criteria to reside.",
            uses=("delay_reason", "meets_criteria_to_reside"),
            holds=lambda t: ~t.meets_criteria_to_reside,
        ),
        RowCheck(
            field="delay_reason",
            reason=(
                "The delay reason belongs to a sitrep specification not in effect on the "
                "snapshot date (the 2022 list from 27 May 2022, the 2024 list from 27 May 2024)."
            ),
            uses=("delay_reason", "snapshot_date"),
            holds=delay_reason_in_effect,
        ),
    ),
)
