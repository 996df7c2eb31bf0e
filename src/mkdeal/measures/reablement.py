"""Older people still at home 91 days after discharge into reablement: ASCOF 2B.

Two official forms exist, from different collections, with different follow-up periods
and units; they are separate measures here and never share a series.

**ASCOF 2B(1)** (the Short and Long Term return's measure STS004, the SALT era; NHS
England, "Measures from the Adult Social Care Outcomes Framework", 2B(1) as defined to
2022-23): of the older people (65 and over at discharge) discharged from hospital from
1 October to 31 December into council-supported reablement or rehabilitation (at home,
in extra care housing, in an adult placement scheme, or in a residential or nursing care
bed for rehabilitation with the intention of returning home), the share at home (their
own home, extra care housing or an adult placement scheme) 91 days after discharge.
People who died stay in the denominator; a status of "unknown" counts as not at home.
Self-funded reablement is excluded. A discharge whose 91-day status is not yet recorded
(the follow-up is still due) is outside both counts and counted separately
(`reablement.awaiting_follow_up`), so an incomplete quarter is not shown as a fall.

**ASCOF 2B(2)**: the share of older people (65 and over) discharged alive from hospital
in the same quarter who were offered reablement: the 2B(1) cohort over the acute spells
of Milton Keynes residents 65 and over discharged alive from 1 October to 31 December.
The national figure counts every hospital's discharges of the area's residents (Hospital
Episode Statistics); mkdeal's denominator holds only the spells loaded, so it misses
residents discharged by other hospitals and overstates the share.

Both are published for the October-December quarter only.
"""

from __future__ import annotations

from datetime import date

import ibis

from mkdeal.datasets.codes import code_list
from mkdeal.measures.definition import Measure, NationalDefinition, Tables, local_time

PRIORITY = "system_flow"
ASCOF_2B_DEFINITION = NationalDefinition(
    name="Adult Social Care Outcomes Framework 2B(1) and 2B(2), from the Short and Long Term "
    "return (STS004) and Hospital Episode Statistics",
    version="ASCOF 2022-23 handbook of definitions (SALT era)",
    url="https://digital.nhs.uk/data-and-information/data-collections-and-data-sets/"
    "data-collections/social-care-collection-materials-2022/salt-data-return-2021-2022-"
    "guidance/sts004",
)
QUARTER_MONTHS = (10, 11, 12)
DIED = "4"  # DISCHARGE METHOD: patient died


def _age_at(day: ibis.Value, birth_month: ibis.Value) -> ibis.Value:
    return day.year() - birth_month.year() - ibis.ifelse(day.month() < birth_month.month(), 1, 0)


def _codes_where(list_name: str, column: str) -> list[str]:
    codes = code_list(list_name)
    return [c for c in codes.codes if codes.attribute(c, column) == "yes"]


def _cohort(tables: Tables) -> ibis.Table:
    """Council-supported discharges into reablement, October to December, people 65+."""
    episodes = tables["reablement_follow_up"]
    return episodes.filter(
        episodes.hospital_discharged_on.month().isin(QUARTER_MONTHS)
        & (_age_at(episodes.hospital_discharged_on, episodes.birth_month) >= 65)
        & episodes.reablement_funding.isin(_codes_where("reablement_funding", "in_ascof_2b"))
    )


def follow_up_units(tables: Tables) -> ibis.Table:
    """One row per 2B(1) discharge, on its discharge date, with its 91-day status."""
    cohort = _cohort(tables)
    at_home = cohort.status_91_days.isin(_codes_where("status_91_days", "counts_as_at_home"))
    return cohort.select(
        when=cohort.hospital_discharged_on,
        person_id=cohort.person_id,
        followed_up=cohort.status_91_days.notnull(),
        at_home=at_home.fill_null(False),
    )


def offered_units(tables: Tables) -> ibis.Table:
    """2B(2): the 2B(1) cohort (numerator) beside the residents' spells 65+ discharged
    alive in October to December (denominator), one row each, on the discharge date."""
    cohort = _cohort(tables)
    offered = cohort.select(
        when=cohort.hospital_discharged_on,
        person_id=cohort.person_id,
        offered=ibis.literal(True),
        discharged=ibis.literal(False),
    )
    spells = tables["acute_spells"]
    residents = tables["residents"]
    people = residents.group_by("person_id").aggregate(birth_month=residents.birth_month.max())
    discharged_on = local_time(spells, "discharged_at").date()
    spells = spells.mutate(_discharged_on=discharged_on).inner_join(
        people, spells.person_id == people.person_id
    )
    alive = spells.filter(
        spells._discharged_on.notnull()
        & spells._discharged_on.month().isin(QUARTER_MONTHS)
        & (spells.discharge_method != DIED)
        & (_age_at(spells._discharged_on, spells.birth_month) >= 65)
    )
    discharged = alive.select(
        when=alive._discharged_on,
        person_id=alive.person_id,
        offered=ibis.literal(False),
        discharged=ibis.literal(True),
    )
    return offered.union(discharged)


_COMMON = dict(
    priority=PRIORITY,
    definition=ASCOF_2B_DEFINITION,
    version="1.0",
    frequency="quarter",
    frequencies=("quarter",),
    period_months=(10,),
    written_by="mkdeal engineering (issue 20)",
    checked_by="not yet independently checked",
    next_review=date(2027, 4, 1),
)

STILL_AT_HOME_91_DAYS = Measure(
    id="reablement.ascof_2b1_at_home_91_days",
    title="Older people at home 91 days after discharge into reablement (ASCOF 2B(1), SALT)",
    value_type="proportion",
    unit="%",
    improvement="increase",
    datasets=("reablement_follow_up",),
    units=follow_up_units,
    numerator=lambda units: units.followed_up & units.at_home,
    denominator=lambda units: units.followed_up,
    breakdowns=("imd_decile", "imd_quintile", "sex", "ethnic_group", "pcn"),
    description=(
        "Council-supported discharges of people 65+ into reablement, 1 October to 31 "
        "December, at home (own home, extra care housing, adult placement) 91 days after "
        "discharge, over all of them; died in the denominator; unknown as not at home."
    ),
    caveats=(
        "The SALT-era form; never mixed in one series with ASCOF 2D from client level data.",
        "Discharges still awaiting their 91-day follow-up are outside both counts.",
    ),
    companions=("reablement.ascof_2b2_offered", "reablement.awaiting_follow_up"),
    **_COMMON,
)
AWAITING_FOLLOW_UP = Measure(
    id="reablement.awaiting_follow_up",
    title="Discharges into reablement still awaiting their 91-day follow-up (2B(1) cohort)",
    value_type="count",
    unit="people",
    improvement="decrease",
    datasets=("reablement_follow_up",),
    units=follow_up_units,
    numerator=lambda units: ~units.followed_up,
    denominator=None,
    description="The 2B(1) cohort without a recorded 91-day status.",
    **_COMMON,
)
OFFERED_REABLEMENT = Measure(
    id="reablement.ascof_2b2_offered",
    title="Older people discharged from hospital who were offered reablement (ASCOF 2B(2))",
    value_type="proportion",
    unit="%",
    improvement="increase",
    datasets=("reablement_follow_up", "acute_spells", "residents"),
    units=offered_units,
    numerator=lambda units: units.offered,
    denominator=lambda units: units.discharged,
    description=(
        "The 2B(1) cohort over Milton Keynes residents 65+ discharged alive from the loaded "
        "acute spells, 1 October to 31 December."
    ),
    caveats=(
        "The national denominator counts every hospital's discharges of the area's residents; "
        "mkdeal's counts only the spells loaded, so this share is overstated.",
    ),
    **_COMMON,
)

MEASURES = (STILL_AT_HOME_91_DAYS, OFFERED_REABLEMENT, AWAITING_FOLLOW_UP)
