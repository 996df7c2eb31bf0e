"""Elective waits: 78-week waits and the other forms of NHS England's RTT statistics.

Follows NHS England's Consultant-led Referral to Treatment Waiting Times statistics
(monthly incomplete-pathways census) and its Rules Suite:

- A pathway is incomplete at a census when its clock has started on or before the census
  and has not stopped by it (no clock stop, or one after the census date). A pathway whose
  clock stopped on or before the census is not waiting and is not counted.
- The wait is whole days from clock start to the census date. Weeks are completed weeks:
  over 18 weeks is 127 days or more (126 days is within 18 weeks, the 92% standard);
  over 52 weeks 365+, over 65 weeks 456+, over 78 weeks 547+ (546 is not), over 104
  weeks 729+ (728 is not).
- Only the last census in each month counts (the month-end census), and it is each
  provider's own: a provider sending weekly snapshots is counted once a month, at its
  last census of the month, whatever day another provider's last census fell on (NHS
  England's monthly return is one month-end census per provider). A census counts even
  if nobody waits at it (every pathway listed has stopped): that month's waiting list is
  then empty, not the one at an earlier census. A census measure is never added across
  months, so only months are computed.
- Median and 92nd-percentile waits are estimated from the weekly bands as NHS England
  does: band 0 holds days 0-7, band k days 7k+1 to 7k+7; the percentile is interpolated
  linearly inside the band where the cumulative count first reaches the rank (see
  `mkdeal.measures.engine._band_percentile`), in weeks. The rank is (N + 1) / 2 for the
  median and p x N for a higher percentile: that is what reproduces NHS England's own
  published figures. On its Incomplete Commissioner file for April 2015 (weekly bands to
  52 and "52 plus", with its median and 95th percentile), this method gives the published
  median and 95th percentile to within 1e-9 weeks on 3,426 of the 3,427 rows that have
  them (the one exception, Merton CCG's neurosurgery, differs in both, as a revised row
  would); p x N for the median matches none of them. A sample of those rows is a test
  (`tests/data/rtt_incomplete_commissioner_apr15_sample.csv`). NHS England publishes no
  percentile for fewer than 50 pathways; mkdeal computes it and leaves the caution to
  disclosure control and the reader. As in NHS England's bands, waits
  over 104 weeks share one open band; a percentile falling in it has no value (NHS England
  then publishes "more than 104 weeks", as it published "greater than 52 weeks" for the
  92nd percentile in February 2021, when its top band was 52+).
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
)

PRIORITY = "system_flow"
RTT_DEFINITION = NationalDefinition(
    name="NHS England, Consultant-led Referral to Treatment Waiting Times statistics "
    "(incomplete pathways) and the RTT Rules Suite",
    version="Rules Suite (October 2022); monthly statistics 2025-26",
    url="https://www.england.nhs.uk/statistics/statistical-work-areas/rtt-waiting-times/",
)


def rtt_units(tables: Tables) -> ibis.Table:
    """One row per pathway per census, with its wait in days and whether it is waiting
    there (`counted`). The engine keeps each provider's last census of each month
    (`census_by`): picking it from the small aggregate, not row by row, is what keeps
    the query quick."""
    pathways = tables["rtt_pathways"]
    census = pathways.census_date
    return pathways.select(
        when=census,
        person_id=pathways.person_id,
        provider=pathways.provider_code,
        treatment_function=pathways.rtt_treatment_function,
        # The difference of two dates is whole days on every backend (an interval of days
        # on Spark); DATE_DIFF, which `delta` becomes, took a tenth longer over 12M rows.
        wait_days=(census - pathways.clock_started_on).cast("int64"),
        counted=(pathways.clock_started_on <= census)
        & (pathways.clock_stopped_on.isnull() | (pathways.clock_stopped_on > census)),
    )


OPEN_BAND = 104  # NHS England's last band is "over 104 weeks", open-ended


def week_band(units: ibis.Table) -> ibis.Value:
    """The weekly band of a wait: 0 for days 0-7, k for days 7k+1 to 7k+7, and 104 for
    every wait over 104 weeks (NHS England's open top band)."""
    band = ibis.ifelse(units.wait_days <= 7, 0, (units.wait_days / 7.0).ceil() - 1)
    return ibis.least(band, OPEN_BAND).cast("int64")


_COMMON = dict(
    priority=PRIORITY,
    definition=RTT_DEFINITION,
    datasets=("rtt_pathways",),
    units=rtt_units,
    # 1.1: the last census of a month is each provider's own (1.0 took the last of all).
    version="1.1",
    breakdowns=(*PERSON_BREAKDOWNS, "provider", "treatment_function"),
    snapshot=True,
    census_by=("provider",),
    written_by="mkdeal engineering (issue 19)",
    checked_by="not yet independently checked",
    next_review=date(2027, 4, 1),
)
_WAIT_COMPANIONS = (
    "rtt.waits_over_52_weeks",
    "rtt.waits_over_65_weeks",
    "rtt.waits_over_104_weeks",
    "rtt.within_18_weeks",
    "rtt.median_wait",
    "rtt.p92_wait",
    "rtt.waiting_list",
)


def _over(weeks: int, first_day: int, **extra) -> Measure:
    def numerator(units: ibis.Table) -> ibis.Value:
        return units.wait_days >= first_day

    return Measure(
        id=f"rtt.waits_over_{weeks}_weeks",
        title=f"Incomplete RTT pathways waiting over {weeks} weeks",
        value_type="count",
        unit="pathways",
        improvement="decrease",
        numerator=numerator,
        denominator=None,
        description=(
            f"Pathways waiting at the month-end census whose wait is {first_day} days or "
            f"more (strictly over {weeks} weeks: {first_day - 1} days is not)."
        ),
        **extra,
        **_COMMON,
    )


WAITS_OVER_78_WEEKS = _over(
    78,
    547,
    target=Target(0, "ambition", "NHS elective recovery plan: no one waiting over 78 weeks."),
    companions=_WAIT_COMPANIONS,
)
WAITS_OVER = (
    _over(52, 365),
    _over(65, 456),
    _over(104, 729),
)
WITHIN_18_WEEKS = Measure(
    id="rtt.within_18_weeks",
    title="Incomplete RTT pathways waiting 18 weeks or less",
    value_type="proportion",
    unit="%",
    improvement="increase",
    numerator=lambda units: units.wait_days <= 126,
    denominator=lambda units: units.wait_days.notnull(),
    target=Target(0.92, "target", "NHS Constitution: 92% of incomplete pathways within 18 weeks."),
    description="Pathways waiting 126 days or less (within 18 weeks) over all waiting.",
    **_COMMON,
)
WAITING_LIST = Measure(
    id="rtt.waiting_list",
    title="Incomplete RTT pathways (the waiting list)",
    value_type="count",
    unit="pathways",
    improvement="decrease",
    numerator=lambda units: units.wait_days.notnull(),
    denominator=None,
    description="Every pathway waiting at the month-end census.",
    **_COMMON,
)


def _percentile(name: str, p: float, title: str, rank: str) -> Measure:
    return Measure(
        id=f"rtt.{name}",
        title=title,
        value_type="percentile",
        unit="weeks",
        improvement="decrease",
        numerator=lambda units: units.wait_days.notnull(),
        denominator=None,
        bands=week_band,
        percentile=p,
        percentile_rank=rank,
        open_band=OPEN_BAND,
        description=(
            f"The {title.lower()} estimated from weekly bands by linear interpolation, as "
            "NHS England estimates it (see the module docstring)."
        ),
        **_COMMON,
    )


MEDIAN_WAIT = _percentile("median_wait", 0.5, "Median wait of incomplete RTT pathways", "p(N+1)")
P92_WAIT = _percentile("p92_wait", 0.92, "92nd-percentile wait of incomplete RTT pathways", "pN")

MEASURES = (
    WAITS_OVER_78_WEEKS,
    *WAITS_OVER,
    WITHIN_18_WEEKS,
    WAITING_LIST,
    MEDIAN_WAIT,
    P92_WAIT,
)
