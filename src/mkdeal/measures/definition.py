"""How a progress measure is written: a small declarative definition over the contracts.

A measure names the datasets it reads and gives three pure-ibis functions:

- ``units(tables)``: one row per counted unit (an arrival, a referral), with a column
  ``when`` (a timestamp in the source's local time, or a date) that places the unit in a
  period. ``when`` is how a definition names its period: the engine assigns units to
  days, weeks, months, quarters, financial and academic years itself, in one pass,
  instead of filtering once per period. A unit may carry ``person_id`` (for the person
  breakdowns) and columns for the unit breakdowns (``site``, ``provider``, ...).
- ``numerator(units)`` and ``denominator(units)``: a boolean (counted or not) or a number
  per unit, summed over a period. A count has no denominator. For a mean, median or
  total the numerator is the value and the denominator counts the records.

No backend-specific SQL, no pandas: the same definition runs on DuckDB, PostgreSQL and
Spark through ibis.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import ibis

ValueType = Literal[
    "proportion", "count", "rate", "mean", "median", "total", "ratio", "daily_mean", "percentile"
]
Improvement = Literal["increase", "decrease", "neutral"]
Frequency = Literal[
    "day", "week", "month", "quarter", "financial_year", "academic_year", "rolling_12_months"
]

VALUE_TYPES = (
    "proportion",
    "count",
    "rate",
    "mean",
    "median",
    "total",
    "ratio",
    "daily_mean",
    "percentile",
)
FREQUENCIES = (
    "day",
    "week",
    "month",
    "quarter",
    "financial_year",
    "academic_year",
    "rolling_12_months",
)
# Breakdowns a unit with a person_id supports, through the residents and deprivation data.
PERSON_BREAKDOWNS = ("imd_decile", "imd_quintile", "age_band", "sex", "ethnic_group", "pcn")
# Breakdowns by a column of the units themselves, where a measure's units carry it.
UNIT_BREAKDOWNS = (
    "site",
    "provider",
    "treatment_function",
    "pathway",
    "delay_reason",
    "delay_reason_group",
    "los_band",
    "ready_band",
)
BREAKDOWNS = (*PERSON_BREAKDOWNS, *UNIT_BREAKDOWNS)

Tables = Mapping[str, ibis.Table]
UnitsFunction = Callable[[Tables], ibis.Table]
ValueFunction = Callable[[ibis.Table], ibis.Value]


@dataclass(frozen=True)
class NationalDefinition:
    """The published definition a measure follows."""

    name: str
    version: str
    url: str


@dataclass(frozen=True)
class Target:
    """A target (agreed locally) or an ambition (set nationally), with its source."""

    value: float
    kind: Literal["target", "ambition"]
    source: str


@dataclass(frozen=True)
class Measure:
    """One progress measure. See the module docstring for `units`, `numerator`, `denominator`.

    ``version`` changes whenever the numbers a definition gives could change; every
    result carries it. ``value_type`` decides the confidence interval: Wilson score for a
    proportion, exact Poisson for a count or rate, t for a mean; none for a median or a
    total. A proportion's value is a fraction (0.25), shown as per cent when ``unit`` is
    "%". A rate is numerator / denominator x ``multiplier``.
    """

    id: str
    title: str
    priority: str
    value_type: ValueType
    unit: str
    improvement: Improvement
    definition: NationalDefinition
    datasets: tuple[str, ...]
    units: UnitsFunction
    numerator: ValueFunction
    denominator: ValueFunction | None
    version: str
    frequency: Frequency = "month"
    breakdowns: tuple[str, ...] = ()
    target: Target | None = None
    multiplier: float = 1.0
    caveats: tuple[str, ...] = ()
    written_by: str = ""
    checked_by: str = ""
    next_review: date | None = None
    description: str = ""
    companions: tuple[str, ...] = field(default=())  # ids of measures shown beside it
    # The only frequencies this measure is published at (None: any), and the months its
    # periods may start in (ASCOF 2B: the October-December quarter only).
    frequencies: tuple[str, ...] | None = None
    period_months: tuple[int, ...] | None = None
    # Days of follow-up after a period's end that its outcomes need (ASCOF 2D: 84): a
    # period is covered only when the loads also cover those days.
    follow_up_days: int = 0
    # A snapshot measure counts a census (RTT waiting lists): only months are computed,
    # from the last census in each month, because censuses cannot be added up. Its units
    # are every row of every census (`when` is the census date), with a boolean column
    # `counted` saying which rows count there (RTT: the pathways waiting), so that a census
    # at which nothing counts is still the month's last. The last census is found for each
    # source apart: `census_by` names the units' columns that tell sources apart (RTT:
    # provider), because each provider takes its own census.
    snapshot: bool = False
    census_by: tuple[str, ...] = ()
    # A per-day measure (the discharge sitrep) reports means over every calendar day of a
    # period: its numerator and denominator sums are divided by the period's days.
    per_day: bool = False
    # A percentile measure estimates `percentile` of a distribution from weekly bands:
    # `bands(units)` is each unit's band (0 holds days 0-7, k holds days 7k+1 to 7k+7).
    bands: ValueFunction | None = None
    percentile: float | None = None
    # The rank interpolated to: p x N, or p x (N + 1) (NHS England's RTT median).
    percentile_rank: Literal["pN", "p(N+1)"] = "pN"
    # The first band that is open-ended (NHS England's RTT bands end "over 104 weeks"): a
    # percentile falling in it cannot be interpolated and has no value ("more than").
    open_band: int | None = None
    # Whether the deprivation gap (most minus least deprived decile and quintile, pooled
    # over 1, 3 and 5 periods; `gaps.py`) is published for it. It needs the imd breakdowns.
    deprivation_gap: bool = False

    def __post_init__(self) -> None:
        problems = []
        if self.value_type not in VALUE_TYPES:
            problems.append(f"value type {self.value_type!r} is not one of {VALUE_TYPES}")
        if self.value_type == "count" and self.denominator is not None:
            problems.append("a count has no denominator")
        if self.value_type not in ("count", "percentile", "daily_mean") and not self.denominator:
            problems.append(f"a {self.value_type} needs a denominator")
        if (self.value_type == "percentile") != (self.bands is not None):
            problems.append("a percentile needs bands, and only a percentile has them")
        if self.value_type == "percentile" and not 0 < (self.percentile or 0) < 1:
            problems.append("a percentile needs a percentile between 0 and 1")
        unknown = [b for b in self.breakdowns if b not in BREAKDOWNS]
        if unknown:
            problems.append(f"breakdowns {unknown} are not among {BREAKDOWNS}")
        if self.frequency not in FREQUENCIES:
            problems.append(f"frequency {self.frequency!r} is not one of {FREQUENCIES}")
        if self.census_by and not self.snapshot:
            problems.append("only a snapshot measure has censuses to find by census_by")
        if self.deprivation_gap and (
            self.value_type != "proportion" or "imd_decile" not in self.breakdowns
        ):
            problems.append("a deprivation gap needs a proportion with the imd_decile breakdown")
        if problems:
            raise ValueError(f"Measure {self.id!r}: " + "; ".join(problems) + ".")

    @property
    def display_scale(self) -> float:
        """What a value is multiplied by to be shown in its unit: 100 for a proportion or
        ratio measured in per cent, else 1."""
        return 100.0 if self.unit == "%" else 1.0

    @property
    def additive(self) -> bool:
        """Whether period figures are sums of daily ones (all but medians and percentiles)."""
        return self.value_type not in ("median", "percentile")

    def describe(self) -> dict:
        """The definition as plain data, for listings, JSON and the published snapshot."""
        return {
            "id": self.id,
            "title": self.title,
            "priority": self.priority,
            "value_type": self.value_type,
            "unit": self.unit,
            "improvement": self.improvement,
            "target": None if self.target is None else self.target.value,
            "target_kind": None if self.target is None else self.target.kind,
            "target_source": None if self.target is None else self.target.source,
            "definition_name": self.definition.name,
            "definition_version": self.definition.version,
            "definition_url": self.definition.url,
            "version": self.version,
            "frequency": self.frequency,
            "datasets": list(self.datasets),
            "breakdowns": list(self.breakdowns),
            "multiplier": self.multiplier,
            "caveats": list(self.caveats),
            "written_by": self.written_by,
            "checked_by": self.checked_by,
            "next_review": None if self.next_review is None else self.next_review.isoformat(),
            "description": self.description,
            "companions": list(self.companions),
            "snapshot": self.snapshot,
            "per_day": self.per_day,
            "percentile": self.percentile,
            "deprivation_gap": self.deprivation_gap,
        }


def local_time(table: ibis.Table, column: str) -> ibis.Value:
    """A stored UTC timestamp moved to the source's local wall-clock time.

    Loads keep each timestamp in UTC with the source's offset (DESIGN.md, "Time"); adding
    the offset back gives the Europe/London time that reporting days and months use. The
    result is still typed as UTC, so take `.date()` of it, never convert it again.
    """
    return table[column] + table[f"{column}_utc_offset_minutes"].as_interval("m")


def seconds_between(table: ibis.Table, start: str, end: str) -> ibis.Value:
    """Whole seconds from `start` to `end`, computed in UTC (so clock changes are real)."""
    return table[end].epoch_seconds() - table[start].epoch_seconds()


def years_since_birth_month(day: ibis.Value, birth_month: ibis.Value) -> ibis.Value:
    """Whole years from the first of the birth month (whose day is not kept) to `day`."""
    return day.year() - birth_month.year() - ibis.ifelse(day.month() < birth_month.month(), 1, 0)
