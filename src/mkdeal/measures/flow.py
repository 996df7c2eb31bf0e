"""System-flow measures: ambulance handover delays and the two-hour urgent community response.

Each definition cites the national definition it follows; the choices the national
documents leave open are stated where they are made.
"""

from __future__ import annotations

from datetime import date

import ibis

from mkdeal.measures.definition import (
    PERSON_BREAKDOWNS,
    Measure,
    NationalDefinition,
    Tables,
    Target,
    local_time,
    seconds_between,
)

PRIORITY = "system_flow"
WRITTEN_BY = "mkdeal engineering (issue 18)"
NOT_CHECKED = "not yet independently checked"
NEXT_REVIEW = date(2027, 4, 1)

HANDOVER_DEFINITION = NationalDefinition(
    name="NHS England, Urgent and emergency care daily situation reports: ambulance "
    "handover delays (with the Ambulance Quality Indicators' handover guidance)",
    version="2025-26 (UEC plan 2025/26: no handover over 45 minutes)",
    url="https://www.england.nhs.uk/statistics/statistical-work-areas/uec-sitrep/",
)
UCR_DEFINITION = NationalDefinition(
    name="NHS England, 2-hour urgent community response statistics (Community Services "
    "Data Set) and the UCR two-hour standard's technical data guidance",
    version="CSDS v1.6; 2-hour standard (2022)",
    url="https://www.england.nhs.uk/statistics/statistical-work-areas/2-hour-urgent-"
    "community-response/",
)


def handover_units(tables: Tables) -> ibis.Table:
    """One row per ambulance arrival at the hospital, placed on its arrival day.

    The handover clock runs from arrival to handover (`arrived_at` to `handed_over_at`),
    timed in UTC so that a handover across a clock change counts its real minutes: an
    arrival at 01:40 (the first, summer-time, 01:40 of the October change) handed over at
    02:05 (winter time) waited 85 minutes, not 25. The arrival's local day places it in a
    period, as the sitrep counts delays against the day of arrival. `handover_seconds`
    is null where no handover time was recorded.
    """
    arrivals = tables["ambulance_arrivals"]
    return arrivals.select(
        when=local_time(arrivals, "arrived_at"),
        person_id=arrivals.person_id,
        site=arrivals.site_code,
        handover_seconds=seconds_between(arrivals, "arrived_at", "handed_over_at"),
    )


def _known(units: ibis.Table) -> ibis.Value:
    return units.handover_seconds.notnull()


def _over(minutes: int):
    """Arrivals whose handover took more than `minutes` (strictly: 30:00 is not over 30)."""

    def numerator(units: ibis.Table) -> ibis.Value:
        return units.handover_seconds > minutes * 60

    numerator.__doc__ = f"Handover longer than {minutes}:00 (exactly {minutes}:00 is not)."
    return numerator


_HANDOVER_COMMON = dict(
    priority=PRIORITY,
    improvement="decrease",
    definition=HANDOVER_DEFINITION,
    datasets=("ambulance_arrivals",),
    units=handover_units,
    version="1.0",
    breakdowns=(*PERSON_BREAKDOWNS, "site"),
    written_by=WRITTEN_BY,
    checked_by=NOT_CHECKED,
    next_review=NEXT_REVIEW,
)
HANDOVER_COMPANIONS = (
    "flow.handover_delays_over_15_minutes",
    "flow.handover_delays_over_30_minutes",
    "flow.handover_delays_over_45_minutes",
    "flow.handover_delays_over_60_minutes",
    "flow.handover_hours_lost",
    "flow.handovers_without_time",
)

HANDOVERS_OVER_30_MINUTES = Measure(
    id="flow.handovers_over_30_minutes",
    title="Ambulance handovers taking over 30 minutes",
    value_type="proportion",
    unit="%",
    numerator=_over(30),
    denominator=_known,
    caveats=(
        "The denominator is arrivals with a recorded handover time; arrivals without one "
        "are counted separately (flow.handovers_without_time), never silently dropped.",
        "Handover times are often recorded late, when staff are free, so long handovers "
        "are overstated on busy days.",
    ),
    description=(
        "Arrivals whose handover took more than 30:00 (from arrival to handover, in real "
        "minutes), divided by arrivals with a known handover time, by day of arrival. "
        "Exactly 30:00 is not a delay; 30:01 is."
    ),
    companions=HANDOVER_COMPANIONS,
    **_HANDOVER_COMMON,
)


def _delays(minutes: int, note: str = "") -> Measure:
    return Measure(
        id=f"flow.handover_delays_over_{minutes}_minutes",
        title=f"Ambulance handover delays over {minutes} minutes",
        value_type="count",
        unit="arrivals",
        numerator=_over(minutes),
        denominator=None,
        description=(
            f"Arrivals whose handover took more than {minutes}:00, as the sitrep counts "
            "them: cumulative bands, so an arrival over 60 minutes is also over 15, 30 and "
            f"45. Exactly {minutes}:00 is not over.{note}"
        ),
        **_HANDOVER_COMMON,
    )


HANDOVER_DELAYS = tuple(
    _delays(minutes, note)
    for minutes, note in (
        (15, " 15 minutes is the national handover standard."),
        (30, ""),
        (45, " The 2025/26 urgent and emergency care plan sets 45 minutes as a maximum."),
        (60, ""),
    )
)


def _hours_beyond_15(units: ibis.Table) -> ibis.Value:
    beyond = units.handover_seconds - 15 * 60
    # A double before dividing: Spark reads the literal 3600.0 as a decimal and would
    # round the quotient to six places.
    return ibis.ifelse(beyond > 0, beyond, 0).cast("float64") / 3600


HANDOVER_HOURS_LOST = Measure(
    id="flow.handover_hours_lost",
    title="Hours lost to ambulance handover delays (beyond 15 minutes)",
    value_type="total",
    unit="hours",
    numerator=_hours_beyond_15,
    denominator=_known,
    description=(
        "The sum over arrivals with a known handover time of the time beyond 15:00, in "
        "hours. This is the ambulance services' convention (time lost beyond the 15-minute "
        "standard), not a national statistic; NHS England's sitrep publishes counts only."
    ),
    caveats=("Arrivals without a handover time add nothing, which flatters the total.",),
    **_HANDOVER_COMMON,
)

HANDOVERS_WITHOUT_TIME = Measure(
    id="flow.handovers_without_time",
    title="Ambulance arrivals with no handover time recorded",
    value_type="count",
    unit="arrivals",
    numerator=lambda units: units.handover_seconds.isnull(),
    denominator=None,
    description="Arrivals with no recorded handover: shown so that none is silently dropped.",
    **_HANDOVER_COMMON,
)


def ucr_units(tables: Tables) -> ibis.Table:
    """One row per referral needing a two-hour response, placed on its clock-stop day.

    NHS England's 2-hour UCR table counts a referral in the month its two-hour clock
    stopped (the first care contact, which is when the CSDS record completes), so `when`
    is the local clock-stop time. A referral with no submitted clock (start or stop
    missing) is placed on the day it was received and is outside the measure's
    denominator; `flow.ucr_referrals_without_clock` counts them.
    """
    referrals = tables["ucr_referrals"]
    referrals = referrals.filter(referrals.two_hour_response_required)
    stopped = local_time(referrals, "clock_stopped_at")
    received = local_time(referrals, "referral_received_at")
    return referrals.select(
        when=ibis.coalesce(stopped, received),
        person_id=referrals.person_id,
        clock_seconds=seconds_between(referrals, "clock_started_at", "clock_stopped_at"),
    )


def _within_two_hours(units: ibis.Table) -> ibis.Value:
    """A clock of 120:00 or less. Exactly 120:00 is within: the standard is a response
    "within two hours", and the technical guidance compares the clock to two hours with
    "less than or equal to". Times are compared to the second, so 120:01 is not."""
    return units.clock_seconds <= 2 * 60 * 60


_UCR_COMMON = dict(
    priority=PRIORITY,
    definition=UCR_DEFINITION,
    datasets=("ucr_referrals",),
    units=ucr_units,
    version="1.0",
    breakdowns=PERSON_BREAKDOWNS,
    written_by=WRITTEN_BY,
    checked_by=NOT_CHECKED,
    next_review=NEXT_REVIEW,
)

UCR_TWO_HOUR_RESPONSE = Measure(
    id="flow.ucr_two_hour_response",
    title="Two-hour urgent community response referrals seen within two hours",
    value_type="proportion",
    unit="%",
    improvement="increase",
    numerator=_within_two_hours,
    denominator=lambda units: units.clock_seconds.notnull(),
    target=Target(
        0.70,
        "ambition",
        "NHS England operational planning guidance: consistently meet or exceed the 70% "
        "two-hour urgent community response standard.",
    ),
    caveats=(
        "Referrals without a submitted clock are outside the denominator and counted in "
        "flow.ucr_referrals_without_clock.",
        "Contact times are entered after the visit and sometimes rounded, so responses "
        "near two hours are uncertain.",
    ),
    description=(
        "Referrals needing a two-hour response whose clock (start to stop) was 120:00 or "
        "less, divided by those with a submitted clock, by the month the clock stopped."
    ),
    companions=("flow.ucr_referrals_without_clock",),
    **_UCR_COMMON,
)

UCR_WITHOUT_CLOCK = Measure(
    id="flow.ucr_referrals_without_clock",
    title="Two-hour UCR referrals with no submitted clock",
    value_type="count",
    unit="referrals",
    improvement="decrease",
    numerator=lambda units: units.clock_seconds.isnull(),
    denominator=None,
    description="Referrals needing a two-hour response with a clock start or stop missing.",
    **_UCR_COMMON,
)

MEASURES = (
    HANDOVERS_OVER_30_MINUTES,
    *HANDOVER_DELAYS,
    HANDOVER_HOURS_LOST,
    HANDOVERS_WITHOUT_TIME,
    UCR_TWO_HOUR_RESPONSE,
    UCR_WITHOUT_CLOCK,
)
