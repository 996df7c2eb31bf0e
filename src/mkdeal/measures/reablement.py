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
from mkdeal.measures.definition import (
    Measure,
    NationalDefinition,
    Tables,
    local_time,
    years_since_birth_month,
)

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


def _codes_where(list_name: str, column: str) -> list[str]:
    codes = code_list(list_name)
    return [c for c in codes.codes if codes.attribute(c, column) == "yes"]


def _cohort(tables: Tables) -> ibis.Table:
    """Council-supported discharges into reablement, October to December, people 65+."""
    episodes = tables["reablement_follow_up"]
    return episodes.filter(
        episodes.hospital_discharged_on.month().isin(QUARTER_MONTHS)
        & (years_since_birth_month(episodes.hospital_discharged_on, episodes.birth_month) >= 65)
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
        & (years_since_birth_month(spells._discharged_on, spells.birth_month) >= 65)
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


# --- ASCOF 2D, from client level data ------------------------------------------------

ASCOF_2D_DEFINITION = NationalDefinition(
    name="Adult Social Care Outcomes Framework 2D (from 2023-24): older people discharged "
    "from hospital into reablement who remained in the community within 12 weeks; DHSC's "
    "methodology for metrics from client level data, as DHSC's own SQL implements it "
    "(DataS-DHSC/ASC-CLD-LA-Dashboard, ASCOF_measures/Create_ASCOF_2D.sql, commit "
    "69fe2e40740a642d397b86007f8404cd771cf841, unchanged to 9bee728 of 11 June 2026)",
    version="ASCOF 2024-25 (client level data); DHSC SQL of 3 December 2025",
    url="https://github.com/DataS-DHSC/ASC-CLD-LA-Dashboard/blob/main/ASCOF_measures/"
    "Create_ASCOF_2D.sql",
)
ST_MAX = "short_term_support_max_independence"
HELD_AT_ADMISSION = ("long_term_residential", "long_term_nursing", "long_term_prison")
NEW_PLACEMENT = ("long_term_residential", "long_term_nursing")
OPEN_END = date(9999, 1, 1)  # DHSC's end date for a service still open
CLUSTER_GAP_DAYS = 7
LINK_BEFORE_DAYS, LINK_AFTER_DAYS = 7, 3
FOLLOW_UP_DAYS = 84
# Admission methods DHSC's cohort leaves out (maternity and births) and the discharge
# methods (died, stillbirth) and destinations (other hospitals, died, hospices) it excludes.
EXCLUDED_ADMISSION = ("31", "32", "82", "83")
EXCLUDED_DISCHARGE_METHOD = ("4", "5")
EXCLUDED_DESTINATION = ("49", "50", "51", "52", "79", "87", "88")
# Treatment functions left out (mental health, learning disability, maternity and others),
# besides every code starting 65 or 7.
EXCLUDED_FUNCTIONS = (
    "199", "223", "290", "291", "331", "344", "345", "346", "424", "499", "501", "504",
    "560", "660", "661", "662", "840", "920",
)  # fmt: skip
# SUS's management types EM (emergency) and NE (non-elective) by admission method, since
# mkdeal's spells carry the method, not SUS's derived type.
EMERGENCY_OR_NON_ELECTIVE = (
    "21", "22", "23", "24", "25", "28", "2A", "2B", "2C", "2D", "31", "32", "81", "82", "83",
)  # fmt: skip


def _spells(tables: Tables) -> ibis.Table:
    spells = tables["acute_spells"]
    return spells.mutate(
        admitted_on=local_time(spells, "admitted_at").date(),
        discharged_on=local_time(spells, "discharged_at").date(),
    )


def _people(tables: Tables) -> ibis.Table:
    residents = tables["residents"]
    return residents.group_by("person_id").aggregate(
        birth_month=residents.birth_month.max(), date_of_death=residents.date_of_death.max()
    )


def _services(tables: Tables, types) -> ibis.Table:
    events = tables["asc_events"]
    events = events.filter((events.event_type == "service") & events.service_type.isin(types))
    return events.mutate(ends_on=ibis.coalesce(events.event_ended_on, ibis.literal(OPEN_END)))


def st_max_clusters(tables: Tables) -> ibis.Table:
    """Reablement (ST-Max) services grouped into clusters: a service starting no more than
    7 days after the latest end so far of the person's earlier services (or overlapping
    them) joins their cluster; otherwise it starts a new one. An open service never ends."""
    services = _services(tables, (ST_MAX,))
    services = services.filter(services.ends_on >= services.event_started_on)
    order = [services.event_started_on, services.ends_on, services.event_id]
    before = ibis.window(group_by=services.person_id, order_by=order, rows=(None, -1))
    latest_end = services.ends_on.max().over(before)
    starts_new = ibis.ifelse(
        latest_end.isnull() | (services.event_started_on.delta(latest_end, unit="day") > 7),
        1,
        0,
    )
    services = services.mutate(_new=starts_new)
    upto = ibis.window(
        group_by=services.person_id,
        order_by=[services.event_started_on, services.ends_on, services.event_id],
        rows=(None, 0),
    )
    services = services.mutate(cluster=services._new.sum().over(upto))
    return services.group_by(["person_id", "cluster"]).aggregate(
        cluster_start=services.event_started_on.min()
    )


def discharge_cohort(tables: Tables) -> ibis.Table:
    """Hospital discharges of people 65+ that ASCOF 2D can follow (DHSC's selection).

    Age at discharge is DHSC's: whole days from the first of the birth month, over 365.25,
    rounded down. A null in any field a filter reads leaves the spell out, as in DHSC's SQL
    (NOT IN with a null is not true). Zero-length stays are out (admitted before the
    discharge day, strictly); so is anyone in long-term residential, nursing or prison
    support on the admission day.
    """
    spells = _spells(tables)
    people = _people(tables)
    spells = spells.inner_join(people, spells.person_id == people.person_id)
    age = (spells.discharged_on.delta(spells.birth_month, unit="day") / 365.25).floor()
    function = spells.treatment_function
    cohort = spells.filter(
        (age >= 65)
        & ~spells.admission_method.isin(EXCLUDED_ADMISSION)
        & ~spells.discharge_method.isin(EXCLUDED_DISCHARGE_METHOD)
        & ~spells.discharge_destination.isin(EXCLUDED_DESTINATION)
        & ~function.isin(EXCLUDED_FUNCTIONS)
        & ~function.startswith("65")
        & ~function.startswith("7")
        & (spells.admitted_on < spells.discharged_on)
    )
    held = _services(tables, HELD_AT_ADMISSION)
    return cohort.anti_join(
        held,
        [
            cohort.person_id == held.person_id,
            cohort.admitted_on >= held.event_started_on,
            cohort.admitted_on <= held.ends_on,
        ],
    ).select("person_id", "spell_id", "admitted_on", "discharged_on", "date_of_death")


def linked_clusters(tables: Tables) -> ibis.Table:
    """Each cluster with the latest cohort discharge from 7 days before to 3 days after its
    start (both inclusive), admitted on or before the start; clusters with none drop out."""
    clusters = st_max_clusters(tables)
    cohort = discharge_cohort(tables)
    gap = cohort.discharged_on.delta(clusters.cluster_start, unit="day")
    joined = clusters.inner_join(
        cohort,
        [
            clusters.person_id == cohort.person_id,
            gap >= -LINK_BEFORE_DAYS,
            gap <= LINK_AFTER_DAYS,
            cohort.admitted_on <= clusters.cluster_start,
        ],
    )
    return joined.group_by(["person_id", "cluster", "cluster_start"]).aggregate(
        discharged_on=joined.discharged_on.max(), date_of_death=joined.date_of_death.max()
    )


def _flagged(linked: ibis.Table, others: ibis.Table, conditions, name: str) -> ibis.Table:
    """`linked` with a boolean column `name`: some row of `others` meets the conditions."""
    hits = (
        linked.inner_join(others, conditions(linked, others))
        .select("person_id", "cluster")
        .distinct()
        .mutate(**{name: ibis.literal(True)})
    )
    joined = linked.left_join(
        hits, [linked.person_id == hits.person_id, linked.cluster == hits.cluster]
    )
    return joined.select(*linked.columns, **{name: joined[name].fill_null(False)})


def ascof_2d_units(tables: Tables) -> ibis.Table:
    """One row per linked reablement cluster, on its discharge date, with its outcome.

    It fails if, within 84 days of the discharge (inclusive): the person died (date of
    death from the residents data, where DHSC's SQL reads client level data); or was
    admitted again as an emergency or non-elective (SUS types EM and NE, here by admission
    method), for at least one day, strictly after both the discharge and the cluster's
    start (a death in that hospital stay still counts); or started long-term residential or
    nursing care on or after the discharge day.
    """
    linked = linked_clusters(tables)
    died = (
        linked.date_of_death.notnull()
        & (linked.date_of_death.delta(linked.discharged_on, unit="day") >= 0)
        & (linked.date_of_death.delta(linked.discharged_on, unit="day") <= FOLLOW_UP_DAYS)
    )
    linked = linked.mutate(died=died.fill_null(False))
    spells = _spells(tables)
    again = spells.filter(
        spells.admission_method.isin(EMERGENCY_OR_NON_ELECTIVE)
        & (spells.admitted_on < spells.discharged_on)
        & (spells.discharge_method != "5")
    )
    linked = _flagged(
        linked,
        again,
        lambda a, b: [
            a.person_id == b.person_id,
            b.admitted_on > a.cluster_start,
            b.admitted_on > a.discharged_on,
            b.admitted_on.delta(a.discharged_on, unit="day") <= FOLLOW_UP_DAYS,
        ],
        "readmitted",
    )
    placements = _services(tables, NEW_PLACEMENT)
    linked = _flagged(
        linked,
        placements,
        lambda a, b: [
            a.person_id == b.person_id,
            b.event_started_on.delta(a.discharged_on, unit="day") >= 0,
            b.event_started_on.delta(a.discharged_on, unit="day") <= FOLLOW_UP_DAYS,
        ],
        "placed",
    )
    return linked.select(
        when=linked.discharged_on,
        person_id=linked.person_id,
        remained=~(linked.died | linked.readmitted | linked.placed),
        linked=ibis.literal(True),
        discharged=ibis.literal(False),
    )


def ascof_2d_provision_units(tables: Tables) -> ibis.Table:
    """ASCOF 2D part 2: linked clusters (numerator) beside the discharge cohort (one row
    per spell, denominator), each on its discharge date."""
    clusters = ascof_2d_units(tables).select("when", "person_id", "linked", "discharged")
    cohort = discharge_cohort(tables)
    spells = cohort.select(
        when=cohort.discharged_on,
        person_id=cohort.person_id,
        linked=ibis.literal(False),
        discharged=ibis.literal(True),
    )
    return clusters.union(spells)


_2D_COMMON = dict(
    priority=PRIORITY,
    definition=ASCOF_2D_DEFINITION,
    datasets=("asc_events", "acute_spells", "residents"),
    version="1.0",
    frequency="rolling_12_months",
    follow_up_days=FOLLOW_UP_DAYS,
    written_by="mkdeal engineering (issue 20)",
    checked_by="not yet independently checked",
    next_review=date(2027, 4, 1),
)
REMAINED_IN_COMMUNITY = Measure(
    id="reablement.ascof_2d_remained_in_community",
    title="Older people discharged into reablement who remained in the community for 12 "
    "weeks (ASCOF 2D, client level data)",
    value_type="proportion",
    unit="%",
    improvement="increase",
    units=ascof_2d_units,
    numerator=lambda units: units.remained,
    denominator=lambda units: units.linked,
    breakdowns=("imd_decile", "imd_quintile", "age_band", "sex", "ethnic_group", "pcn"),
    description=(
        "Reablement (ST-Max) clusters linked to a hospital discharge of a person 65+, by "
        "discharge date, with no death, emergency readmission or new residential or nursing "
        "placement within 84 days of the discharge, over all such clusters. Before 2023-24 "
        "the identifier 2D meant another measure (now 2A)."
    ),
    caveats=(
        "The client-level-data form; never mixed in one series with ASCOF 2B(1).",
        "mkdeal's client level data has no service component, so every ST-Max service "
        "counts as reablement (DHSC selects the component 'Reablement').",
        "Deaths come from the residents data, not client level data; readmissions are found "
        "in the acute spells loaded, so readmissions to other hospitals are missed.",
        "A period is shown only when the loads cover 84 days after it.",
    ),
    companions=("reablement.ascof_2d_received_reablement",),
    **_2D_COMMON,
)
RECEIVED_REABLEMENT = Measure(
    id="reablement.ascof_2d_received_reablement",
    title="Older people discharged from hospital who received reablement (ASCOF 2D part 2)",
    value_type="proportion",
    unit="%",
    improvement="increase",
    units=ascof_2d_provision_units,
    numerator=lambda units: units.linked,
    denominator=lambda units: units.discharged,
    description=(
        "Linked reablement clusters over the discharge cohort (spells of people 65+ that "
        "ASCOF 2D can follow), by discharge date. As in DHSC's SQL the numerator counts "
        "clusters and the denominator spells."
    ),
    caveats=(
        "The denominator holds the spells loaded, not every hospital's discharges of "
        "Milton Keynes residents.",
    ),
    **_2D_COMMON,
)

MEASURES = (
    STILL_AT_HOME_91_DAYS,
    OFFERED_REABLEMENT,
    AWAITING_FOLLOW_UP,
    REMAINED_IN_COMMUNITY,
    RECEIVED_REABLEMENT,
)
