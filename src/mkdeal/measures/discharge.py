"""Patients not meeting the criteria to reside, as NHS England's acute discharge sitrep
counts them.

Follows the Acute discharge situation report and its technical specification (from 27 May
2022; reasons and pathways revised 27 May 2024). Each calendar day (weekends included):

- **Not meeting the criteria (the day total):** inpatients in adult general and acute beds
  whose snapshot that day says they no longer meet the criteria to reside: those
  discharged that day plus those remaining.
- **Remaining at the end of the day:** of those, the ones not discharged that day (the
  spell's discharge, in local time, is not on the snapshot date).
- **Occupied beds:** inpatients in adult general and acute beds in the day's snapshot.
  Maternity and mental health beds (and other beds: paediatric, critical care, virtual
  ward) are excluded by the spell's `bed_type`. The sitrep takes occupied beds at 08:00;
  mkdeal counts the inpatient rows of the day's discharge-readiness snapshot, taken at
  `snapshot_taken_at` (for example after the morning board round): a provider whose
  snapshot is not at 08:00 differs by the admissions and discharges in between.
- A snapshot row whose spell is not in the acute spells, or has no bed type, is not
  counted. A second snapshot of the same spell on the same day repeats the contract's
  natural key (snapshot_date, spell_id), so the load quarantines it: the first stands.

A period's figure is a mean over every calendar day of it: numerator = the mean daily
count, denominator = the mean daily occupied beds (or day total), value = their ratio, so
value = numerator / denominator holds in the results table. The day counts are published
as daily means too.

Breakdowns: length of stay since admission at the snapshot (0-6, 7-13, 14-20, 21+ days,
the national return's bands); separately, days since the discharge-ready date (the same
bands, labelled "ready"; "ready 21+" is the 2025/26 plan's measure), computed from each
day's own discharge-ready date, so a patient who met the criteria again and then stopped
counts from the new date; discharge pathway; delay reason (the code of the specification
in effect on the day); and delay reason group, which maps both versions' reasons to one
set of groups so that a series does not break on 27 May 2024 (mkdeal's own mapping, in
the code list's `mkdeal_group` column; NHS England publishes none).
"""

from __future__ import annotations

from datetime import date

import ibis

from mkdeal.datasets.codes import code_list
from mkdeal.measures.definition import (
    PERSON_BREAKDOWNS,
    Measure,
    NationalDefinition,
    Tables,
    local_time,
)

PRIORITY = "system_flow"
SITREP_DEFINITION = NationalDefinition(
    name="NHS England, Acute discharge situation report (daily sitrep) and its technical "
    "specification",
    version="2022 specification (27 May 2022), revised 27 May 2024",
    url="https://www.england.nhs.uk/statistics/statistical-work-areas/discharge-delays/"
    "acute-discharge-situation-report/",
)
ADULT_GENERAL_AND_ACUTE = "adult_general_acute"


def _band(days: ibis.Value, prefix: str = "") -> ibis.Value:
    return ibis.cases(
        (days.isnull(), ibis.null().cast("string")),
        (days < 7, f"{prefix}0-6"),
        (days < 14, f"{prefix}7-13"),
        (days < 21, f"{prefix}14-20"),
        else_=f"{prefix}21+",
    )


def _reason_groups() -> dict[str, str]:
    """Each reason code of either version to mkdeal's cross-version group (the code list's
    `mkdeal_group`: a local mapping, stated in codelists.toml)."""
    reasons = code_list("sitrep_delay_reason")
    return {code: reasons.attribute(code, "mkdeal_group") for code in reasons.codes}


def sitrep_units(tables: Tables) -> ibis.Table:
    """One row per adult general and acute inpatient per snapshot day (see the module)."""
    snapshots = tables["discharge_readiness"]
    spells = tables["acute_spells"]
    spells = spells.select(
        spell=spells.spell_id,
        bed_type=spells.bed_type,
        admitted_on=local_time(spells, "admitted_at").date(),
        discharged_on=local_time(spells, "discharged_at").date(),
    )
    joined = snapshots.inner_join(spells, snapshots.spell_id == spells.spell)
    joined = joined.filter(joined.bed_type == ADULT_GENERAL_AND_ACUTE)
    not_meeting = joined.meets_criteria_to_reside == False  # noqa: E712 (an ibis comparison)
    discharged_today = joined.discharged_on.notnull() & (
        joined.discharged_on == joined.snapshot_date
    )
    return joined.select(
        when=joined.snapshot_date,
        person_id=joined.person_id,
        provider=joined.provider_code,
        pathway=joined.discharge_pathway,
        delay_reason=joined.delay_reason,
        delay_reason_group=joined.delay_reason.substitute(_reason_groups(), else_=None),
        los_band=_band(joined.snapshot_date.delta(joined.admitted_on, unit="day")),
        ready_band=_band(
            joined.snapshot_date.delta(joined.discharge_ready_date, unit="day"), "ready "
        ),
        not_meeting=not_meeting.fill_null(False),
        remaining=(not_meeting & ~discharged_today).fill_null(False),
    )


_COMMON = dict(
    priority=PRIORITY,
    definition=SITREP_DEFINITION,
    datasets=("discharge_readiness", "acute_spells"),
    units=sitrep_units,
    version="1.0",
    breakdowns=(
        *PERSON_BREAKDOWNS,
        "provider",
        "pathway",
        "delay_reason",
        "delay_reason_group",
        "los_band",
        "ready_band",
    ),
    per_day=True,
    improvement="decrease",
    written_by="mkdeal engineering (issue 19)",
    checked_by="not yet independently checked",
    next_review=date(2027, 4, 1),
)

REMAINING_SHARE_OF_BEDS = Measure(
    id="ctr.remaining_share_of_beds",
    title="Patients not meeting the criteria to reside, remaining, as a share of occupied beds",
    value_type="ratio",
    unit="%",
    numerator=lambda units: units.remaining,
    denominator=lambda units: ibis.literal(True),
    description=(
        "The nationally comparable form: the mean daily number remaining in hospital at "
        "the end of the day without meeting the criteria to reside, over the mean daily "
        "occupied adult general and acute beds."
    ),
    companions=(
        "ctr.not_discharged_share",
        "ctr.not_meeting_criteria",
        "ctr.remaining_end_of_day",
    ),
    **_COMMON,
)
NOT_DISCHARGED_SHARE = Measure(
    id="ctr.not_discharged_share",
    title="Patients not meeting the criteria to reside who were not discharged that day",
    value_type="ratio",
    unit="%",
    numerator=lambda units: units.remaining,
    denominator=lambda units: units.not_meeting,
    description=(
        "The form the media quote: the mean daily number remaining over the mean daily "
        "number not meeting the criteria (the day total)."
    ),
    **_COMMON,
)
NOT_MEETING_CRITERIA = Measure(
    id="ctr.not_meeting_criteria",
    title="Patients not meeting the criteria to reside (day total, daily mean)",
    value_type="daily_mean",
    unit="patients",
    numerator=lambda units: units.not_meeting,
    denominator=None,
    description="The mean over the period's days of the day total: discharged plus remaining.",
    **_COMMON,
)
REMAINING_END_OF_DAY = Measure(
    id="ctr.remaining_end_of_day",
    title="Patients not meeting the criteria to reside remaining at the end of the day",
    value_type="daily_mean",
    unit="patients",
    numerator=lambda units: units.remaining,
    denominator=None,
    description="The mean over the period's days of those remaining at the end of the day.",
    **_COMMON,
)

MEASURES = (
    REMAINING_SHARE_OF_BEDS,
    NOT_DISCHARGED_SHARE,
    NOT_MEETING_CRITERIA,
    REMAINING_END_OF_DAY,
)
