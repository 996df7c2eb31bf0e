"""Reading an analyst's dated series from a CSV file for `mkdeal spc`.

The edge between a file and the pure engine: every problem is a sentence naming the file,
the line and the column, and nothing is guessed silently. What was done on the reader's
behalf (sorting, inferring the period, reading blanks as gaps) comes back as notes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from mkdeal.errors import UserError
from mkdeal.textfiles import csv_header, read_csv_as_text

# Period names for --freq and the pandas period alias each stands for.
FREQUENCIES = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
_ADJECTIVE = {
    "day": "daily",
    "week": "weekly",
    "month": "monthly",
    "quarter": "quarterly",
    "year": "yearly",
}
# Typical gaps in days between consecutive periods, to infer the frequency.
_TYPICAL_GAP = (("day", 1, 1), ("week", 7, 7), ("month", 28, 31), ("quarter", 89, 92))
_SHOWN = 5  # how many bad lines to name in one message


@dataclass(frozen=True)
class SeriesInput:
    """A series read from a file, in date order within each facet."""

    dates: list[date]
    values: np.ndarray
    facets: list[str] | None
    freq: str  # one of FREQUENCIES
    lines: np.ndarray  # the file line each point came from (the header is line 1)
    notes: list[str] = field(default_factory=list)


def _lines(numbers) -> str:
    numbers = list(numbers)
    shown = ", ".join(str(n) for n in numbers[:_SHOWN])
    more = f" and {len(numbers) - _SHOWN} more" if len(numbers) > _SHOWN else ""
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _parse_dates(text: pd.Series, path: Path, column: str) -> pd.Series:
    parsed = pd.to_datetime(text.str.strip(), format="ISO8601", errors="coerce")
    bad = parsed.isna()
    if bad.any():
        first = text[bad].iloc[0]
        raise UserError(
            f"{path}: the {column!r} column on {_lines(text.index[bad] + 2)} does not hold a "
            f"date (for example {first!r}); write dates as YYYY-MM-DD."
        )
    return parsed


def _parse_values(text: pd.Series, path: Path, column: str) -> tuple[np.ndarray, list[int]]:
    stripped = text.str.strip()
    blank = stripped == ""
    values = pd.to_numeric(stripped.where(~blank), errors="coerce")
    bad = values.isna() & ~blank
    if bad.any():
        first = text[bad].iloc[0]
        raise UserError(
            f"{path}: the {column!r} column on {_lines(text.index[bad] + 2)} is not a number "
            f"(for example {first!r}); write plain numbers such as 12.5, without units or "
            "thousands separators."
        )
    array = values.to_numpy(dtype=float)
    infinite = ~np.isfinite(array) & ~blank.to_numpy()
    if infinite.any():
        raise UserError(
            f"{path}: the {column!r} column on {_lines(text.index[infinite] + 2)} is infinite; "
            "give a finite number or leave the cell empty for a missing period."
        )
    return array, list(text.index[blank] + 2)


def infer_frequency(dates: pd.Series, facets: pd.Series | None) -> str:
    """The period each date names, inferred from the dates.

    Dates all on the first or last day of a month name months (or quarters, or years,
    when every step between them is three or twelve months). Otherwise the commonest gap
    between consecutive dates within a facet decides: 1 day, 7 days, 28 to 31, 89 to 92,
    or 365 to 366.
    """
    groups = [dates] if facets is None else [d for _, d in dates.groupby(facets)]
    if all(len(d.unique()) < 2 for d in groups):
        raise UserError(
            "The period length cannot be inferred from a single date; give --freq "
            "(day, week, month, quarter or year)."
        )
    if (dates.dt.is_month_start | dates.dt.is_month_end).all():
        months = [np.diff(np.unique(d.dt.year * 12 + d.dt.month - 1)) for d in groups]
        steps = np.concatenate(months)
        if steps.size and (steps % 12 == 0).all():
            return "year"
        if steps.size and (steps % 3 == 0).all():
            return "quarter"
        return "month"
    gaps = np.concatenate(
        [np.diff(np.unique(d.to_numpy("datetime64[D]"))).astype(int) for d in groups]
    )
    # The commonest gap (the smallest on a tie): gaps for missing periods are rarer.
    counts = np.bincount(gaps)
    typical = int(np.argmax(counts))
    for name, low, high in _TYPICAL_GAP:
        if low <= typical <= high:
            return name
    if 365 <= typical <= 366:
        return "year"
    raise UserError(
        f"The dates are typically {typical} days apart, which is not a day, week, month, "
        "quarter or year; give --freq, or check the dates."
    )


def read_series_csv(
    path: Path,
    *,
    date_col: str,
    value_col: str,
    facet_col: str | None = None,
    freq: str = "auto",
) -> SeriesInput:
    """Read a dated series for SPC; refuse it with a sentence if it cannot be charted.

    A blank value is a missing period (a gap). Two values for one period within a facet
    are refused, naming both lines. Rows out of date order are sorted, and a note says so.
    """
    header = csv_header(path)
    wanted = [date_col, value_col] + ([facet_col] if facet_col else [])
    missing = [name for name in wanted if name not in header]
    if missing:
        names = " and ".join(repr(name) for name in missing)
        raise UserError(
            f"{path} has no column {names}; its columns are {', '.join(header)}."
            if len(missing) == 1
            else f"{path} has no columns {names}; its columns are {', '.join(header)}."
        )
    if len(set(header)) != len(header):
        repeated = sorted({name for name in header if header.count(name) > 1})
        raise UserError(f"{path} has more than one column named {', '.join(repeated)}.")
    frame = read_csv_as_text(path, header).select(wanted).to_pandas()
    if frame.empty:
        raise UserError(f"{path} has a header but no rows; there is nothing to chart.")
    notes: list[str] = []

    blank_dates = frame[date_col].str.strip() == ""
    if blank_dates.any():
        raise UserError(
            f"{path}: the {date_col!r} column is empty on {_lines(frame.index[blank_dates] + 2)}; "
            "every row needs a date."
        )
    dates = _parse_dates(frame[date_col], path, date_col)
    values, blanks = _parse_values(frame[value_col], path, value_col)
    if blanks:
        notes.append(f"{_lines(blanks).capitalize()} have no value and are shown as gaps.")
    facets = None
    if facet_col:
        facets = frame[facet_col].str.strip()
        if (facets == "").any():
            raise UserError(
                f"{path}: the {facet_col!r} column is empty on "
                f"{_lines(frame.index[facets == ''] + 2)}; every row needs a facet."
            )

    if freq == "auto":
        freq = infer_frequency(dates, facets)
        notes.append(f"The dates are taken as {_ADJECTIVE[freq]} periods (give --freq to choose).")
    elif freq not in FREQUENCIES:
        raise UserError(f"The frequency {freq!r} is not known; use {', '.join(FREQUENCIES)}.")
    periods = dates.dt.to_period(FREQUENCIES[freq])

    keys = pd.DataFrame({"facet": facets if facets is not None else "", "period": periods})
    repeated = keys.duplicated(keep=False)
    if repeated.any():
        first = keys[repeated].iloc[0]
        same = keys.index[(keys["facet"] == first["facet"]) & (keys["period"] == first["period"])]
        within = f" for {facet_col} {first['facet']!r}" if facets is not None else ""
        raise UserError(
            f"{path}: {_lines(same + 2)} give values for the same {freq} "
            f"({first['period']}){within}; give one value per period."
        )

    ordinal = periods.array.asi8
    # Facets keep the order they first appear in; dates run in order within each.
    rank = pd.factorize(keys["facet"])[0]
    order = np.lexsort((ordinal, rank))
    in_file_order = np.argsort(rank, kind="stable")
    same_facet = np.diff(rank[in_file_order]) == 0
    if (np.diff(ordinal[in_file_order])[same_facet] < 0).any():
        notes.append("The rows were not in date order; they have been sorted.")

    return SeriesInput(
        dates=[d.date() for d in dates.iloc[order]],
        values=values[order],
        facets=None if facets is None else list(facets.iloc[order]),
        freq=freq,
        lines=(frame.index.to_numpy() + 2)[order],
        notes=notes,
    )
