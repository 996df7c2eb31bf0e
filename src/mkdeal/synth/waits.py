"""Waiting for care in the synthetic Milton Keynes: hospital RTT pathways and the two-hour
urgent community response.

`rtt_pathways` simulates Milton Keynes University Hospital's (RD8) referral to treatment
waiting list month by month (referrals join it, the month's clock stops leave it) and
writes the monthly census NHS England's RTT statistics count: every pathway still waiting at
the end of the month, and every pathway whose clock stopped during it. COVID-19 collapses
treatment from March 2020; the hospital then works down its longest waits, so the number
waiting 78 weeks or more peaks in September 2021 and is near twenty by March 2023, as the
published Milton Keynes figures did.

`ucr_referrals` draws referrals to CNWL's (RV3) two-hour urgent community response for
Milton Keynes residents, mostly older people, with first contacts inside two hours about as
often as in England as a whole.

Every figure below is either a published one (named beside it, with its area) or an
assumption (said so, with its basis).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from mkdeal.synth.population import World
from mkdeal.synth.targets import Target
from mkdeal.synth.text import dates_text, ids_text, times_text

MKUH = "RD8"  # Milton Keynes University Hospital NHS Foundation Trust
CNWL = "RV3"  # Central and North West London NHS Foundation Trust (MK community services)

# RTT statistics count a wait in completed weeks; 78 or more weeks is 546 days or more.
LONG_WAIT_DAYS = 546

_SOURCE_RTT_MK = (
    "NHS England, Consultant-led Referral to Treatment Waiting Times statistics: incomplete "
    "pathways waiting 78 weeks or more at Milton Keynes University Hospital NHS Foundation "
    "Trust (RD8), 183 in September 2021 (the peak) and 20 at the end of March 2023, as "
    "reported by the Milton Keynes Citizen, 18 May 2023, 'Backlog of long waits cleared at "
    "Milton Keynes University Hospital despite Government missing England target' "
    "(https://www.miltonkeynes.co.uk/news/people/backlog-of-long-waits-cleared-at-milton-"
    "keynes-university-hospital-despite-government-missing-england-target-4147918)"
)
_SOURCE_UCR_ENGLAND = (
    "NHS England, 2-hour Urgent Community Response monthly statistics from the Community "
    "Services Data Set (https://www.england.nhs.uk/statistics/statistical-work-areas/2-hour-"
    "urgent-community-response/), England, 2023/24. The national share was not read in the "
    "publication's tables: NHS Providers' Community Network UCR briefing (2023) says the 70% "
    "target has been met consistently since April 2022, and the NHS Confederation and NHS "
    "Providers' 'Making the most of urgent community response services' (2023) puts "
    "providers at about 80 per cent or more; 83% is an assumption inside the 80-85% range"
)

# Milton Keynes figures, published: the 78-week waits (rtt_pathways, _CAP_78_WEEKS).
TARGET_78_WEEK_PEAK = Target(
    name="RTT pathways waiting 78 weeks or more at MKUH, peak (September 2021)",
    value=183,
    tolerance=32,
    unit="pathways",
    area="Milton Keynes",
    source=_SOURCE_RTT_MK + "; the synthetic peak must also fall in August-October 2021",
)
TARGET_78_WEEK_MARCH_2023 = Target(
    name="RTT pathways waiting 78 weeks or more at MKUH, end of March 2023",
    value=20,
    tolerance=10,
    unit="pathways",
    area="Milton Keynes",
    source=_SOURCE_RTT_MK,
)
# Milton Keynes volume, an assumption (rtt_pathways, _LIST_SIZE).
TARGET_RTT_LIST_MARCH_2023 = Target(
    name="RTT pathways waiting at MKUH for Milton Keynes residents, end of March 2023",
    value=29_000,
    tolerance=1_000,
    unit="pathways",
    area="Milton Keynes",
    source=(
        "Assumption: about three quarters of MKUH's published waiting list (37,113 in "
        "February 2023: NHS England RTT statistics, as reported by MK Community Hub, 'Nearly "
        "40,000 people left waiting for hospital care in Milton Keynes'), taking about three "
        "quarters of its patients to live in Milton Keynes"
    ),
)
# England figure (ucr_referrals, _UCR_WITHIN_TWO_HOURS).
TARGET_UCR_TWO_HOUR_SHARE = Target(
    name="Two-hour UCR referrals whose first contact was within two hours, 2023/24",
    value=83.0,
    tolerance=3.0,
    unit="%",
    area="England",
    source=_SOURCE_UCR_ENGLAND,
)
# Milton Keynes volume, an assumption (ucr_referrals, UCR_REFERRALS_A_YEAR).
TARGET_UCR_REFERRALS_A_YEAR = Target(
    name="UCR referrals to CNWL for Milton Keynes residents, 2023/24",
    value=4_500,
    tolerance=300,
    unit="referrals a year",
    area="Milton Keynes",
    source=(
        "England's 73,455 UCR referrals in October 2023 (NHS Providers' Community Network "
        "UCR briefing, 2023) pro rata to 290,000 residents: an England rate applied to "
        "Milton Keynes, as no Milton Keynes figure was found"
    ),
)
TARGETS: list[Target] = [
    TARGET_78_WEEK_PEAK,
    TARGET_78_WEEK_MARCH_2023,
    TARGET_RTT_LIST_MARCH_2023,
    TARGET_UCR_TWO_HOUR_SHARE,
    TARGET_UCR_REFERRALS_A_YEAR,
]


# --- Dates -------------------------------------------------------------------------------

# Months as integers (numpy datetime64[M] counts from 1970-01); days likewise from 1970-01-01.


def _month(text: str) -> int:
    return int(np.datetime64(text, "M").astype(int))


def _month_first_day(month: np.ndarray | int) -> np.ndarray:
    return np.asarray(month).astype("datetime64[M]").astype("datetime64[D]").astype(int)


def _knots(knots: list[tuple[str, float]], months: np.ndarray) -> np.ndarray:
    """A monthly series from (month, value) points, straight lines between them."""
    x = np.array([_month(month) for month, _ in knots])
    y = np.array([value for _, value in knots], dtype=float)
    return np.interp(months, x, y)


def _weekday(days: np.ndarray) -> np.ndarray:
    """Monday 0 .. Sunday 6 (1 January 1970 was a Thursday)."""
    return (np.asarray(days) + 3) % 7


# --- RTT: the waiting list model ----------------------------------------------------------

# Waiting list size at month ends, for Milton Keynes residents (TARGET_RTT_LIST_MARCH_2023).
# Assumption: about three quarters of MKUH's published list (NHS England RTT statistics, as
# reported locally: 37,113 in February 2023, 36,750 in November 2023, 32,108 in May 2025),
# with the shape England's list had (down about 15% in spring 2020, up about 70% by autumn
# 2023, then easing).
_LIST_SIZE = [
    ("2017-01", 18_000), ("2020-02", 18_000), ("2020-05", 15_500), ("2020-08", 16_500),
    ("2020-12", 17_700), ("2021-03", 19_500), ("2021-09", 22_800), ("2022-03", 25_200),
    ("2023-03", 29_000), ("2023-07", 30_500), ("2024-03", 29_000), ("2024-08", 28_000),
    ("2025-03", 25_500), ("2026-03", 24_500),
]  # fmt: skip
# Clock starts a month before COVID-19: about 6,000 (assumption: a list of 18,000 turning
# over in about three months, England's ratio of clock stops to list size in 2019). Then
# relative to that: referrals fell to about a third in April 2020 and recovered by spring
# 2021 (England's pattern), growing slowly after.
_REFERRALS_A_MONTH = 6_000
_REFERRAL_LEVEL = [
    ("2017-01", 1.0), ("2020-02", 1.0), ("2020-03", 0.8), ("2020-04", 0.35), ("2020-05", 0.45),
    ("2020-06", 0.6), ("2020-07", 0.75), ("2020-09", 0.9), ("2020-12", 0.92), ("2021-01", 0.75),
    ("2021-03", 1.0), ("2023-03", 1.08), ("2026-03", 1.13),
]  # fmt: skip
# Fewer referrals in December and August, more in March (assumption: working days and
# holidays, the usual shape of monthly referral counts). January first.
_REFERRAL_SEASON = np.array([1.03, 1.0, 1.05, 0.98, 1.0, 1.0, 1.0, 0.95, 1.0, 1.02, 1.02, 0.88])
# The list wobbles around its path from month to month (assumption: 0.7%, about 200).
_LIST_NOISE = 0.007

# Kinds of pathway (assumption): urgent ones are treated within weeks; "quick" ones mostly
# end at an outpatient appointment; "admitted" ones wait for an operation, the backlog
# COVID-19 built. Shares of new referrals, and how strongly each kind is drawn for treatment
# in each era (relative weights; the month's capacity sets the absolute rate).
_URGENT, _QUICK, _ADMITTED = 0, 1, 2
_KIND_SHARES = [0.10, 0.55, 0.35]
_KIND_WEIGHTS = [  # (from month, weights for urgent, quick, admitted)
    ("2000-01", (30.0, 2.2, 1.0)),
    ("2020-03", (30.0, 1.5, 0.1)),  # elective operating largely stopped
    ("2021-04", (30.0, 3.0, 0.6)),  # recovery, operations still the bottleneck
]
# Waits are also booked roughly in turn: the weight grows as 1 + (weeks / scale) ** 3.
# Before COVID-19 turn mattered a lot (few waited a year); after it, clinical priority did,
# and the longest waits were managed by the caps below.
_TURN_SCALE_WEEKS = [("2000-01", 18.0), ("2020-03", 150.0)]

# The hospital's management of its longest waits: at most this many pathways may be
# waiting at a month end at or beyond each threshold (days); the excess, longest first, is
# treated that month. _UNCAPPED means no such management. Scaled by `scale`.
_UNCAPPED = 1e9
# 104 weeks: England's ambition to end two-year waits by July 2022 (assumption: MKUH had a
# handful at most).
_CAP_104_WEEKS = [("2000-01", 0), ("2021-06", 0), ("2021-09", 12), ("2022-01", 10), ("2022-07", 0)]
# 78 weeks: the calibration target. 183 in September 2021 and 20 at the end of March 2023
# are MKUH's published figures (TARGET_78_WEEK_PEAK, TARGET_78_WEEK_MARCH_2023, Milton
# Keynes); the months between are an assumed smooth path, and after March 2023 a handful
# remain. The path is a ceiling; the simulated backlog is above it from late 2020 to mid
# 2023, so there it is the count, and after that fewer reach 78 weeks than it allows.
_CAP_78_WEEKS = [
    ("2000-01", 0), ("2020-08", 0), ("2020-12", 25), ("2021-03", 70), ("2021-06", 130),
    ("2021-08", 172), ("2021-09", 183), ("2021-10", 172), ("2021-11", 160), ("2022-03", 125),
    ("2022-06", 90), ("2022-09", 60), ("2022-12", 35), ("2023-03", 20), ("2023-09", 8),
    ("2024-03", 4),
]  # fmt: skip
# 65 weeks: England's ambition to end them by March 2024, later September 2024 (assumption:
# MKUH got near it).
_CAP_65_WEEKS = [
    ("2000-01", _UNCAPPED), ("2021-08", _UNCAPPED), ("2021-09", 2_500), ("2023-06", 2_500),
    ("2024-03", 300), ("2024-09", 60),
]  # fmt: skip
# 52 weeks: rare before COVID-19 (England had about 1,600 of 4.6 million in February 2020);
# from late 2024 falling towards MKUH's published 5% of its list in May 2025.
_CAP_52_WEEKS = [
    ("2000-01", 8), ("2020-03", 8), ("2020-04", _UNCAPPED), ("2024-06", _UNCAPPED),
    ("2024-09", 2_600), ("2024-12", 1_800), ("2025-05", 1_300), ("2026-03", 1_100),
]  # fmt: skip
_LONG_WAIT_CAPS = {728: _CAP_104_WEEKS, 546: _CAP_78_WEEKS, 455: _CAP_65_WEEKS, 364: _CAP_52_WEEKS}
_CAP_NOISE = 0.03  # month-to-month wobble in how far the long-wait work gets
_BURN_IN_MONTHS = 27  # simulated before the first census so the list is settled

# Treatment functions (RTT reporting lines, never the totals C_999 or X01), with shares of
# pathways: an assumption shaped on England's waiting list by specialty. Admitted pathways
# are mostly surgical; the others spread more widely.
_FUNCTIONS = [  # code, share of admitted pathways, share of others
    ("C_100", 10, 5), ("C_101", 7, 4), ("C_110", 20, 7), ("C_120", 10, 7), ("C_130", 12, 8),
    ("C_140", 6, 3), ("C_150", 0.2, 0.3), ("C_160", 3, 1), ("C_170", 0.3, 0.3), ("C_300", 0.5, 3),
    ("C_301", 5, 6), ("C_320", 1.5, 7), ("C_330", 1, 7), ("C_340", 0.3, 4), ("C_400", 0.2, 4),
    ("C_410", 0.2, 3), ("C_430", 0.1, 1.5), ("C_502", 10, 7), ("X02", 1, 9), ("X03", 0, 0.3),
    ("X04", 3, 4), ("X05", 8, 4), ("X06", 0.5, 4.6),
]  # fmt: skip
# Who is referred (assumption): relative elective referral rates by age, rising with age.
_RTT_AGE_WEIGHTS = [(0, 0.5), (16, 0.6), (40, 1.0), (60, 1.8), (80, 1.7), (120, 1.7)]


def _simulate_waiting_list(
    rng: np.random.Generator, months: np.ndarray, scale: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clock start and stop days (stop -1 while waiting) and kind of every pathway."""
    list_size = _knots(_LIST_SIZE, months) * scale
    referrals = _knots(_REFERRAL_LEVEL, months) * _REFERRALS_A_MONTH * scale
    referrals *= _REFERRAL_SEASON[months % 12]
    list_size *= np.exp(rng.normal(0.0, _LIST_NOISE, len(months)))
    caps = {days: _knots(knots, months) * scale for days, knots in _LONG_WAIT_CAPS.items()}
    kind_eras = np.array([_month(month) for month, _ in _KIND_WEIGHTS])
    kind_weights = np.array([weights for _, weights in _KIND_WEIGHTS])
    turn_eras = np.array([_month(month) for month, _ in _TURN_SCALE_WEEKS])
    turn_scales = np.array([weeks for _, weeks in _TURN_SCALE_WEEKS])

    # The list at the start of the burn-in (waits of a few weeks to a few months), then room
    # for every month's new referrals.
    size = round(float(list_size[0]))
    new_referrals = rng.poisson(referrals)
    total = size + int(new_referrals.sum())
    kind = rng.choice(3, total, p=_KIND_SHARES)
    start = np.empty(total, np.int64)
    stop = np.full(total, -1, np.int64)
    waited = np.minimum(rng.exponential(np.array([15.0, 50.0, 110.0])[kind[:size]]), 300)
    start[:size] = int(_month_first_day(months[0])) - 1 - waited.astype(np.int64)
    waiting = np.arange(size)
    count = size

    for i, month in enumerate(months):
        first = int(_month_first_day(month))
        last = int(_month_first_day(month + 1)) - 1
        # New referrals, mostly on weekdays.
        days = np.arange(first, last + 1)
        day_weights = np.where(_weekday(days) < 5, 1.0, 0.08)
        new = int(new_referrals[i])
        start[count : count + new] = rng.choice(days, new, p=day_weights / day_weights.sum())
        waiting = np.concatenate([waiting, np.arange(count, count + new)])
        count += new

        wait_days = last - start[waiting]
        capacity = max(0, round(float(len(waiting) - list_size[i])))
        treated = np.zeros(len(waiting), bool)
        managed = np.zeros(len(waiting), bool)
        wobble = np.exp(rng.normal(0.0, _CAP_NOISE))
        for threshold in sorted(caps, reverse=True):
            if caps[threshold][i] >= _UNCAPPED / 2:
                continue
            over = np.flatnonzero((wait_days >= threshold) & ~treated)
            managed[over] = True
            excess = len(over) - round(float(caps[threshold][i] * wobble))
            if excess > 0:
                # The longest first, mostly: a race weighted by how far past the threshold.
                key = rng.exponential(size=len(over)) / (wait_days[over] - threshold + 60.0)
                treated[over[np.argpartition(key, excess - 1)[:excess]]] = True
        # The rest of the month's capacity goes to pathways outside long-wait management.
        rest = capacity - int(treated.sum())
        if rest > 0:
            era = np.searchsorted(kind_eras, month, side="right") - 1
            turn = turn_scales[np.searchsorted(turn_eras, month, side="right") - 1]
            weight = kind_weights[era][kind[waiting]] * (1 + (wait_days / 7 / turn) ** 3)
            weight[treated | managed] = 0
            eligible = np.flatnonzero(weight > 0)
            rest = min(rest, len(eligible))
            if rest > 0:
                key = rng.exponential(size=len(eligible)) / weight[eligible]
                treated[eligible[np.argpartition(key, rest - 1)[:rest]]] = True
        chosen = waiting[treated]
        earliest = np.maximum(first, start[chosen])
        stop[chosen] = earliest + (rng.random(len(chosen)) * (last - earliest + 1)).astype(np.int64)
        waiting = waiting[~treated]
    return start, stop, kind


def _age_weights(ages: np.ndarray, table: list[tuple[int, float]]) -> np.ndarray:
    edges = np.array([age for age, _ in table])
    values = np.array([weight for _, weight in table])
    return values[np.clip(np.searchsorted(edges, ages, side="right") - 1, 0, len(values) - 1)]


def _people_for(
    world: World,
    rng: np.random.Generator,
    first_days: np.ndarray,
    last_days: np.ndarray,
    weight_of_age: Callable[[np.ndarray], np.ndarray],
    groups: np.ndarray,
) -> np.ndarray:
    """A resident for each event: born by its first day, alive on its last, age-weighted.

    Events are drawn in groups (a year, a month) sharing one set of weights, for the people
    born and alive on the group's earliest day; anyone who would die before an event's last
    day is drawn again, and after a few tries replaced by someone alive throughout."""
    people = np.empty(len(first_days), np.int64)
    death = world.death_dates.astype("datetime64[D]").astype(np.int64)
    never_dies = np.isnat(world.death_dates)
    births = world.birth_dates.astype("datetime64[D]").astype(np.int64)

    def unfit(drawn: np.ndarray, rows: np.ndarray) -> np.ndarray:
        dies = ~never_dies[drawn] & (death[drawn] <= last_days[rows])
        return dies | (births[drawn] > first_days[rows])

    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        day = first_days[rows].min()
        ages = ((day - births) / 365.25).astype(int)
        living = (births <= day) & (never_dies | (death > day))
        weights = np.where(living, weight_of_age(ages), 0.0)
        chances = weights / weights.sum()
        drawn = rng.choice(world.size, len(rows), p=chances)
        for _ in range(5):
            again = unfit(drawn, rows)
            if not again.any():
                break
            drawn[again] = rng.choice(world.size, int(again.sum()), p=chances)
        again = np.flatnonzero(unfit(drawn, rows))
        if len(again):
            pool = np.flatnonzero(never_dies & (births <= first_days[rows[again]].min()))
            drawn[again] = rng.choice(pool, len(again))
        people[rows] = drawn
    return people


_RTT_COLUMNS = (
    "census_date",
    "pathway_id",
    "nhs_number",
    "provider_code",
    "rtt_treatment_function",
    "clock_started_on",
    "clock_stopped_on",
)


def rtt_pathways(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """MKUH's RTT pathways for Milton Keynes residents at monthly censuses."""
    # A census on the last day of every month that ends inside the period.
    first_census = int(np.datetime64(world.start, "M").astype(int))
    census_months = np.arange(first_census, int(np.datetime64(world.end, "M").astype(int)) + 1)
    census_days = _month_first_day(census_months + 1) - 1
    ends_inside = census_days <= np.datetime64(world.end, "D").astype(int)
    census_months, census_days = census_months[ends_inside], census_days[ends_inside]
    if len(census_days) == 0:
        return pa.table({column: pa.array([], pa.string()) for column in _RTT_COLUMNS})
    # Always simulate from before COVID-19, so a short period still inherits its backlog.
    months = np.arange(
        min(first_census - _BURN_IN_MONTHS, _month("2017-01")), census_months[-1] + 1
    )
    start, stop, kind = _simulate_waiting_list(rng, months, scale)

    first_day = int(_month_first_day(first_census))
    # Only pathways that appear in some census: started by the last, not stopped before the
    # first census month began. Numbered in order of clock start, as a provider would.
    shown = (start <= census_days[-1]) & ((stop < 0) | (stop >= first_day))
    order = np.flatnonzero(shown)
    order = order[np.argsort(start[order], kind="stable")]
    start, stop, kind = start[order], stop[order], kind[order]
    count = len(start)

    # The last census each pathway appears in: the one ending its clock stop's month.
    stop_census = np.where(stop < 0, census_days[-1], 0)
    stopped = stop >= 0
    stop_census[stopped] = census_days[np.searchsorted(census_days, stop[stopped])]
    births = world.birth_dates.astype("datetime64[D]").astype(np.int64)
    start_year = start.astype("datetime64[D]").astype("datetime64[Y]").astype(int)
    people = _people_for(
        world,
        rng,
        start,
        stop_census,
        lambda ages: _age_weights(ages, _RTT_AGE_WEIGHTS),
        start_year,
    )

    # Treatment function by kind, then made to fit the patient.
    codes = np.array([code for code, _, _ in _FUNCTIONS])
    admitted_p = np.array([share for _, share, _ in _FUNCTIONS], dtype=float)
    other_p = np.array([share for _, _, share in _FUNCTIONS], dtype=float)
    function = np.where(
        kind == _ADMITTED,
        rng.choice(codes, count, p=admitted_p / admitted_p.sum()),
        rng.choice(codes, count, p=other_p / other_p.sum()),
    )
    ages = ((start - births[people]) / 365.25).astype(int)
    child = ages < 16
    function = np.where(child & (rng.random(count) < 0.6), "X04", function)
    function = np.where(~child & (function == "X04"), "X02", function)
    function = np.where((ages < 65) & (function == "C_430"), "C_300", function)
    male = world.sexes[people] == "1"
    function = np.where(male & (function == "C_502"), "C_101", function)

    # One row per pathway per census it appears in.
    row_pathway = []
    row_census = []
    for index, census in enumerate(census_days):
        month_first = int(_month_first_day(np.datetime64(int(census), "D").astype("datetime64[M]")))
        present = np.flatnonzero((start <= census) & ((stop < 0) | (stop >= month_first)))
        row_pathway.append(present)
        row_census.append(np.full(len(present), index, np.int32))
    pathway_rows = np.concatenate(row_pathway)
    census_rows = np.concatenate(row_census)
    stop_shown = (stop[pathway_rows] >= 0) & (stop[pathway_rows] <= census_days[census_rows])

    census_text = dates_text(census_days.astype("datetime64[D]"))
    stop_days = np.where(stop >= 0, stop, 0).astype("datetime64[D]")
    stop_text = dates_text(np.where(stop >= 0, stop_days, np.datetime64("NaT")))
    take = pa.array(pathway_rows)
    return pa.table(
        {
            "census_date": census_text.take(pa.array(census_rows)),
            "pathway_id": pa.array(ids_text("PW", count)).take(take),
            "nhs_number": pa.array(world.nhs_numbers[people]).take(take),
            "provider_code": pa.repeat(pa.scalar(MKUH), len(pathway_rows)),
            "rtt_treatment_function": pa.array(function).take(take),
            "clock_started_on": dates_text(start.astype("datetime64[D]")).take(take),
            "clock_stopped_on": pc.if_else(
                pa.array(stop_shown), stop_text.take(take), pa.scalar(None, pa.string())
            ),
        }
    )


# --- UCR -------------------------------------------------------------------------------

# Volume: TARGET_UCR_REFERRALS_A_YEAR (a Milton Keynes assumption). Its shape over time
# follows England's growth as the two-hour standard rolled out nationally from April 2022
# (48,860 referrals in October 2022, 73,455 in October 2023: NHS Providers, 2023); the
# earlier level is an assumption.
UCR_REFERRALS_A_YEAR = 4_500  # at scale 1, in 2023/24
_UCR_LEVEL = [
    ("2019-04", 0.5), ("2022-04", 0.65), ("2023-10", 1.0), ("2026-03", 1.15),
]  # fmt: skip
# Referrals by hour received (assumption): the service runs at least 8am-8pm, 7 days.
_UCR_HOURS = np.array(
    [0.15, 0.1, 0.1, 0.1, 0.1, 0.15, 0.3, 0.6, 1.4, 2.0, 2.0, 1.9, 1.7, 1.7, 1.6, 1.5, 1.4,
     1.2, 0.9, 0.7, 0.5, 0.35, 0.25, 0.2]
)  # fmt: skip
# Clinical conditions 1..9 (assumption: falls the most common, as services report).
_UCR_CONDITIONS = np.array([0.34, 0.15, 0.18, 0.05, 0.03, 0.09, 0.07, 0.02, 0.07])
_UCR_CONDITION_BLANK = 0.06  # often left blank (the contract's caveat)
_UCR_TWO_HOUR_SHARE = 0.88  # assumption: most referrals are triaged as needing two hours
_UCR_NO_CONTACT = 0.015  # assumption: withdrawn or admitted before the first visit
# Two-hour performance: TARGET_UCR_TWO_HOUR_SHARE (an England figure), 83% from 2023/24; a
# little lower while the standard was new (assumption); five points worse in midwinter than
# in midsummer (assumption).
_UCR_WITHIN_TWO_HOURS = [("2019-04", 0.78), ("2022-04", 0.80), ("2023-04", 0.83)]
_UCR_SEASONAL_SWING = 0.025


def _last_sundays(years: np.ndarray, month: int) -> np.ndarray:
    """Day number of the last Sunday of `month` in each year."""
    last = ((years - 1970).astype("datetime64[Y]").astype("datetime64[M]") + month).astype(
        "datetime64[D]"
    ).astype(np.int64) - 1
    return last - (_weekday(last) + 1) % 7


def _summer_time_utc(minutes_utc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UTC minutes when British Summer Time starts and ends in each instant's year
    (01:00 UTC on the last Sundays of March and October)."""
    years = minutes_utc.astype("datetime64[m]").astype("datetime64[Y]").astype(int) + 1970
    return (
        _last_sundays(years, 3) * 1440 + 60,
        _last_sundays(years, 10) * 1440 + 60,
    )


def _local_to_utc(minutes_local: np.ndarray) -> np.ndarray:
    """Europe/London clock minutes to UTC minutes. A clock time that does not exist (the
    spring gap) is read an hour later; an autumn time that happens twice, the first time."""
    begins, ends = _summer_time_utc(minutes_local)
    in_gap = (minutes_local >= begins) & (minutes_local < begins + 60)
    local = np.where(in_gap, minutes_local + 60, minutes_local)
    summer = (local >= begins + 60) & (local < ends + 60)
    return local - np.where(summer, 60, 0)


def _utc_to_local(minutes_utc: np.ndarray) -> np.ndarray:
    begins, ends = _summer_time_utc(minutes_utc)
    return minutes_utc + np.where((minutes_utc >= begins) & (minutes_utc < ends), 60, 0)


def _in_repeated_hour(minutes_utc: np.ndarray) -> np.ndarray:
    """Instants in the second run of the autumn's repeated clock hour: written as local
    clock time they would be read back as the first run, an hour earlier."""
    _, ends = _summer_time_utc(minutes_utc)
    return (minutes_utc >= ends) & (minutes_utc < ends + 60)


def _ucr_month_share(months: np.ndarray) -> np.ndarray:
    eras = np.array([_month(month) for month, _ in _UCR_WITHIN_TWO_HOURS])
    level = np.array([share for _, share in _UCR_WITHIN_TWO_HOURS])
    calendar_month = months % 12  # 0 is January
    # Worst in January, best in July; the mean over a year is the era's level.
    return level[np.searchsorted(eras, months, side="right") - 1] - _UCR_SEASONAL_SWING * np.cos(
        2 * np.pi * calendar_month / 12
    )


def ucr_referrals(world: World, rng: np.random.Generator, scale: float) -> pa.Table:
    """Two-hour urgent community response referrals to CNWL for Milton Keynes residents."""
    first = np.datetime64(world.start, "D").astype(np.int64)
    last = np.datetime64(world.end, "D").astype(np.int64)
    days = np.arange(first, last + 1)
    months = days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    # Referrals a day: the level for the month, more in winter, fewer at weekends.
    level = _knots(_UCR_LEVEL, months)
    reference = _knots(_UCR_LEVEL, np.arange(_month("2023-04"), _month("2024-04"))).mean()
    winter = 1 + 0.1 * np.cos(2 * np.pi * (months % 12) / 12)
    weekday = np.where(_weekday(days) < 5, 1.06, 0.85)
    rate = UCR_REFERRALS_A_YEAR * scale / 365.25 * level / reference * winter * weekday
    per_day = rng.poisson(rate)
    day = np.repeat(days, per_day)
    count = len(day)

    hour = rng.choice(24, count, p=_UCR_HOURS / _UCR_HOURS.sum())
    received = _local_to_utc(day * 1440 + hour * 60 + rng.integers(0, 60, count))
    two_hour = rng.random(count) < _UCR_TWO_HOUR_SHARE
    # The clock starts when the referral is accepted: often at once, otherwise minutes later.
    accept = np.where(rng.random(count) < 0.6, 0, np.minimum(rng.exponential(8.0, count), 60))
    # First contact: within two hours as often as the month's share, else some hours late.
    month_of = day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    on_time = rng.random(count) < _ucr_month_share(month_of)
    response = np.where(
        on_time,
        20 + 100 * rng.beta(2.2, 1.6, count),
        121 + np.minimum(rng.exponential(70.0, count), 1200),
    ).astype(np.int64)
    started = received + accept.astype(np.int64)
    stopped = started + response
    # Keep every instant out of the autumn's second repeated hour by moving the whole
    # referral later, so that the written clock times read back in the right order.
    for _ in range(6):
        clash = _in_repeated_hour(received) | _in_repeated_hour(started)
        clash |= _in_repeated_hour(stopped)
        if not clash.any():
            break
        received, started, stopped = (
            received + 60 * clash,
            started + 60 * clash,
            stopped + 60 * clash,
        )
    received_local = _utc_to_local(received)
    keep = (received_local // 1440 >= first) & (received_local // 1440 <= last)

    people = _people_for(
        world,
        rng,
        received_local // 1440,
        received_local // 1440,
        # Adults only, more with every year of age (assumption: about 85% are 65 or over,
        # half 80 or over, in a city whose people are young).
        lambda ages: np.where(ages >= 18, np.exp(0.13 * (ages - 65)), 0.0),
        month_of,
    )
    condition = rng.choice(np.arange(1, 10).astype(str), count, p=_UCR_CONDITIONS)
    condition = np.where(rng.random(count) < _UCR_CONDITION_BLANK, None, condition)
    no_contact = rng.random(count) < _UCR_NO_CONTACT
    nat = np.datetime64("NaT", "m")

    def local_text(minutes_utc: np.ndarray, present: np.ndarray) -> pa.Array:
        local = _utc_to_local(minutes_utc).astype("datetime64[m]")
        return times_text(np.where(present, local, nat)[keep])

    order = np.argsort(received[keep], kind="stable")
    return pa.table(
        {
            "referral_id": pa.array(ids_text("UCR", int(keep.sum()))),
            "nhs_number": pa.array(world.nhs_numbers[people][keep][order]),
            "provider_code": pa.repeat(pa.scalar(CNWL), int(keep.sum())),
            "referral_received_at": local_text(received, np.ones(count, bool)).take(order),
            "clinical_condition": pa.array(condition[keep][order], pa.string()),
            "clock_started_at": local_text(started, two_hour).take(order),
            "clock_stopped_at": local_text(stopped, two_hour & ~no_contact).take(order),
            "two_hour_response_required": pa.array(np.where(two_hour, "Y", "N")[keep][order]),
        }
    )
