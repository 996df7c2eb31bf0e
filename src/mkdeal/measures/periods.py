"""Reporting periods and which of them the loads cover. Pure: no I/O.

Periods are Europe/London calendar periods (DESIGN.md, "Time"): days; weeks from Monday;
months; calendar quarters (which are also financial-year quarters); financial years from
1 April; academic years from 1 September; and rolling 12 months ending with each month,
which overlap one another and so are never sent to SPC.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

# pandas period aliases for the SPC engine, for the periods that do not overlap.
SPC_FREQ = {
    "day": "D",
    "week": "W-SUN",
    "month": "M",
    "quarter": "Q",
    "financial_year": "Y-MAR",
    "academic_year": "Y-AUG",
}


# The month a period starts in, as (months in the period, month of the year it may start
# in, 1-based): a quarter starts in January, April, July or October, a financial year in
# April, an academic year in September.
_MONTHLY = {
    "month": (1, 1),
    "rolling_12_months": (1, 1),
    "quarter": (3, 1),
    "financial_year": (12, 4),
    "academic_year": (12, 9),
}
_MONTHS = {"month": 1, "quarter": 3, "financial_year": 12, "academic_year": 12}


def period_starts(days: pd.Series, frequency: str) -> pd.Series:
    """The start of the period holding each day (a datetime64 Series of dates)."""
    if not pd.api.types.is_datetime64_any_dtype(days):
        days = pd.to_datetime(days)  # (slow even on datetimes, so only when needed)
    if frequency == "day":
        return days
    if frequency == "week":
        return days - pd.to_timedelta(days.dt.weekday, unit="D")
    if frequency not in _MONTHLY:
        raise ValueError(f"Unknown frequency {frequency!r}.")
    # Whole months since January 1970, stepped back to the period's first month: numpy
    # on month numbers, not pandas Periods, which took a millisecond on a thousand days.
    length, first = _MONTHLY[frequency]
    values = days.to_numpy(dtype="datetime64[ns]")
    missing = np.isnat(values)
    months = np.where(missing, 0, values.astype("datetime64[M]").astype("int64"))
    months -= (months - (first - 1)) % length
    starts = months.astype("datetime64[M]").astype("datetime64[ns]")
    starts[missing] = np.datetime64("NaT")
    return pd.Series(starts, index=days.index, name=days.name)


def period_end(start: date, frequency: str) -> date:
    """The last day of the period starting on `start` (for rolling, `start` is its first
    month's start and the period runs 12 months)."""
    if frequency == "day":
        return start
    if frequency == "week":
        return start + timedelta(days=6)
    months = 12 if frequency == "rolling_12_months" else _MONTHS[frequency]
    # As pandas' DateOffset(months=...): the same day that many months on (the last day
    # of a shorter month), less one day.
    year, month = divmod(start.month - 1 + months, 12)
    year += start.year
    day = min(start.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day) - timedelta(days=1)


def candidate_periods(first: date, last: date, frequency: str) -> list[tuple[date, date]]:
    """Every period of `frequency` that starts on or after the one holding `first` and
    ends on or before the one holding `last`, as (start, end)."""
    if last < first:
        return []
    if frequency == "rolling_12_months":
        months = candidate_periods(first, last, "month")
        return [(months[i - 11][0], months[i][1]) for i in range(11, len(months))]
    start = period_starts(pd.Series([first]), frequency).iloc[0].date()
    periods = []
    while start <= last:
        end = period_end(start, frequency)
        periods.append((start, end))
        start = end + timedelta(days=1)
    return periods


@dataclass(frozen=True)
class LoadSpan:
    """An active load's dataset, source and the period it covers."""

    load_id: str
    dataset: str
    source: str
    start: date
    end: date


def covered(
    periods: Iterable[tuple[date, date]], spans: Iterable[LoadSpan], datasets: Iterable[str]
) -> dict[tuple[date, date], list[str]]:
    """The periods every source of every dataset covers whole, each with the load ids
    that overlap it.

    A dataset with no loads covers nothing. Each source that has sent a dataset must
    cover the whole period on its own (its loads never overlap, as loads refuse that),
    so a month one partner sent and another did not is a gap, never a partial figure.
    """
    spans = list(spans)
    by_source: dict[tuple[str, str], list[LoadSpan]] = {}
    for span in spans:
        by_source.setdefault((span.dataset, span.source), []).append(span)
    needed = list(datasets)
    result: dict[tuple[date, date], list[str]] = {}
    for start, end in periods:
        ok = True
        for dataset in needed:
            sources = [key for key in by_source if key[0] == dataset]
            if not sources or not all(_covers(by_source[key], start, end) for key in sources):
                ok = False
                break
        if ok:
            result[(start, end)] = sorted(
                s.load_id
                for s in spans
                if s.dataset in needed and s.start <= end and s.end >= start
            )
    return result


def _covers(spans: list[LoadSpan], start: date, end: date) -> bool:
    """Whether the spans, joined end to end, cover every day from start to end."""
    reached = start - timedelta(days=1)  # covered through this day
    for span in sorted(spans, key=lambda s: s.start):
        if span.end < start:
            continue
        if span.start > reached + timedelta(days=1):
            return False  # a day with no load
        reached = max(reached, span.end)
        if reached >= end:
            return True
    return reached >= end


def spans_from_manifests(rows: Iterable[Mapping]) -> list[LoadSpan]:
    """Active loads with a period, from `_loads` manifest rows."""
    return [
        LoadSpan(
            r["load_id"],
            r["dataset"],
            r["source"],
            _as_date(r["period_start"]),
            _as_date(r["period_end"]),
        )
        for r in rows
        if r["status"] == "active" and r["period_start"] is not None
    ]


def _as_date(value) -> date:
    if isinstance(value, pd.Timestamp | np.datetime64):
        return pd.Timestamp(value).date()
    return value
