"""RTT pathways: one row per referral to treatment pathway per monthly census.

Mirrors NHS England's consultant-led referral to treatment (RTT) waiting times statistics,
which count the pathways waiting at the end of each month, and the record-level Waiting
List Minimum Data Set that providers submit behind them.
"""

from __future__ import annotations

from mkdeal.datasets.contract import Column, Dataset, NationalSource, RowCheck
from mkdeal.datasets.definitions._shared import nhs_number, not_before, provider_code

# The RTT files' total lines; a pathway is reported under one specialty or "Other" line.
_TOTAL_LINES = ("C_999", "X01")

RTT_PATHWAYS = Dataset(
    name="rtt_pathways",
    title="Referral to treatment pathways (monthly census)",
    description=(
        "One row per RTT pathway per census date: the pathways on the waiting list at the "
        "census, and those whose clock stopped in the month before it, with their clock "
        "start, clock stop and treatment function. The period column is the census date, "
        "the day the snapshot describes, as in NHS England's monthly statistics; the same "
        "pathway appears again in each later census while it waits."
    ),
    columns=(
        Column(
            "census_date",
            "date",
            "The date of the census the row belongs to (normally the last day of a month).",
            example="2025-04-30",
        ),
        Column(
            "pathway_id",
            "string",
            "The pathway's identifier (PATIENT PATHWAY IDENTIFIER) as the provider issues it.",
            caveat=(
                "Pathway identifiers are unique only within the organisation that issued "
                "them, so an extract combining providers must make them unique first."
            ),
            example="PW00012345",
        ),
        nhs_number(),
        provider_code("The ODS code of the provider responsible for the pathway."),
        Column(
            "rtt_treatment_function",
            "string",
            "The RTT reporting line (treatment function) the pathway is reported under.",
            codes="rtt_treatment_function",
            caveat=(
                "Extracts that carry a detailed TREATMENT FUNCTION CODE must map it to a "
                "reporting line first, as NHS England's RTT guidance sets out."
            ),
            example="C_110",
        ),
        Column(
            "clock_started_on",
            "date",
            "The date the RTT clock started (the referral was received).",
            example="2025-01-13",
        ),
        Column(
            "clock_stopped_on",
            "date",
            "The date the RTT clock stopped (first definitive treatment or another clock "
            "stop); blank while the patient waits.",
            required=False,
            caveat=(
                "Clock stops are sometimes recorded late or only when the waiting list is "
                "validated, so pathways counted as waiting include some that have ended."
            ),
        ),
    ),
    natural_key=("census_date", "pathway_id"),
    period_column="census_date",
    mirrors=(
        NationalSource(
            "NHS England: Consultant-led Referral to Treatment Waiting Times",
            "https://www.england.nhs.uk/statistics/statistical-work-areas/rtt-waiting-times/",
        ),
    ),
    caveats=(
        "Waiting times are counted from clock start to census date for waiting pathways, and "
        "to clock stop for completed ones; the two are different statistics.",
    ),
    row_checks=(
        not_before(
            "clock_stopped_on", "clock_started_on", "The clock stop is before the clock start."
        ),
        not_before(
            "census_date",
            "clock_started_on",
            "The clock starts after the census date.",
            field="clock_started_on",
        ),
        not_before(
            "census_date",
            "clock_stopped_on",
            "The clock stops after the census date.",
            field="clock_stopped_on",
        ),
        RowCheck(
            field="rtt_treatment_function",
            reason="A pathway is reported under a total line (C_999 or X01), not a treatment "
            "function.",
            uses=("rtt_treatment_function",),
            holds=lambda t: ~t.rtt_treatment_function.isin(_TOTAL_LINES),
        ),
    ),
)
