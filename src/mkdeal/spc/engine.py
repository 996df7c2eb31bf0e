"""XmR (individuals) charts: limits, point types and icons, with no I/O.

`spc_batch` works on many equal-length series at once (a 2-D array, one row per series,
NaN for a missing period); `spc` takes one dated, optionally faceted series, splits it
into rows (one per facet and rebase segment) and calls `spc_batch`, so both share one
code path.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from mkdeal.errors import UserError
from mkdeal.spc import rules

Improvement = Literal["increase", "decrease", "neutral"]
Mode = Literal["mdc", "plotthedots"]

# 2.66 = 3 / d2 (d2 = 1.128 for moving ranges of two): three sigma from the mean moving
# range. The near-limit line is two sigma, two thirds of the way out.
LIMIT = 2.66
NEAR_LIMIT = 2 / 3 * LIMIT
# NHSRplotthedots screens moving ranges at 3.267 x their mean (the moving range chart's
# upper limit, D4 = 3.267); the MDC tool stopped screening in November 2023.
SCREEN = 3.267
MINIMUM_BASELINE = 12

_DIRECTION = {"increase": 1, "decrease": -1, "neutral": 0}
POINT_TYPES = (
    "common_cause",
    "special_cause_improvement",
    "special_cause_concern",
    "special_cause_neutral_high",
    "special_cause_neutral_low",
)
VARIATION_ICONS = (
    "common_cause",
    "improvement_high",
    "improvement_low",
    "concern_high",
    "concern_low",
    "neutral_high",
    "neutral_low",
)
ASSURANCE_ICONS = ("consistent_pass", "consistent_fail", "hit_and_miss")


def _mean(x: np.ndarray) -> np.ndarray:
    """Row means ignoring NaN, NaN for an empty row (without numpy's warning)."""
    count = np.sum(~np.isnan(x), axis=1)
    total = np.nansum(x, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _point_types(direction: np.ndarray, improvement: int) -> np.ndarray:
    """Index into POINT_TYPES for each point's signed direction."""
    if improvement == 0:
        return np.select([direction > 0, direction < 0], [3, 4], 0)
    oriented = direction * improvement
    return np.select([oriented > 0, oriented < 0], [1, 2], 0)


def _variation_icon(direction: np.ndarray, improvement: int) -> np.ndarray:
    """Index into VARIATION_ICONS from the last point's signed direction."""
    if improvement == 0:
        return np.select([direction > 0, direction < 0], [5, 6], 0)
    improving = direction * improvement > 0
    return np.select(
        [improving & (direction > 0), improving & (direction < 0), direction > 0, direction < 0],
        [1, 2, 3, 4],
        0,
    )


def _assurance_icon(target, lower, upper, improvement: int) -> np.ndarray:
    """Index into ASSURANCE_ICONS, or -1 where no target is given.

    As NHSRplotthedots' ``ptd_calculate_assurance_type``: a target outside the process
    limits is consistently passed or failed; one inside them is hit and miss.
    """
    above = target > upper  # every point will fall short of (below) the target
    below = target < lower
    if improvement > 0:
        icon = np.select([above, below], [1, 0], 2)
    else:
        icon = np.select([above, below], [0, 1], 2)
    return np.where(np.isnan(target), -1, icon)


@dataclass(frozen=True)
class BatchResult:
    """Results for rows of series: per-row limits, per-point types, per-row icons.

    Limits are constant within a row (one segment), so they are stored once per row.
    ``direction`` is +1 (high), -1 (low) or 0 per point; ``point_type`` names it.
    Icons are None where a row has trial limits, no points, or (assurance) no target or a
    neutral measure.
    """

    mean: np.ndarray
    lower_limit: np.ndarray
    upper_limit: np.ndarray
    lower_near: np.ndarray
    upper_near: np.ndarray
    points: np.ndarray
    trial_limits: np.ndarray
    direction: np.ndarray
    point_type_code: np.ndarray
    variation_icon_code: np.ndarray
    assurance_icon_code: np.ndarray

    @property
    def point_type(self) -> np.ndarray:
        return np.asarray(POINT_TYPES, dtype=object)[self.point_type_code]

    @property
    def variation_icon(self) -> np.ndarray:
        names = np.asarray((None, *VARIATION_ICONS), dtype=object)
        return names[self.variation_icon_code + 1]

    @property
    def assurance_icon(self) -> np.ndarray:
        names = np.asarray((None, *ASSURANCE_ICONS), dtype=object)
        return names[self.assurance_icon_code + 1]


def _check_options(
    improvement, mode, run_length, baseline_points, minimum_points, has_target=False
) -> None:
    if improvement not in _DIRECTION:
        raise UserError(
            f"The improvement direction {improvement!r} is not known; "
            "use increase, decrease or neutral."
        )
    if improvement == "neutral" and has_target:
        raise UserError(
            "A target needs an improvement direction: on a neutral measure nothing passes or "
            "fails it. Give the direction (increase or decrease), or leave the target out."
        )
    if mode not in ("mdc", "plotthedots"):
        raise UserError(f"The SPC mode {mode!r} is not known; use mdc or plotthedots.")
    if run_length not in (6, 7):
        raise UserError(f"The run length must be 6 or 7, not {run_length!r}.")
    if baseline_points is not None and baseline_points < MINIMUM_BASELINE:
        raise UserError(
            f"A baseline needs at least {MINIMUM_BASELINE} points, not {baseline_points}; "
            "give more points or leave the baseline unset."
        )
    if minimum_points < 2:
        raise UserError(f"The minimum number of points must be 2 or more, not {minimum_points}.")


def spc_batch(
    values: np.ndarray,
    *,
    improvement: Improvement,
    target: float | np.ndarray | None = None,
    baseline_points: int | None = None,
    mode: Mode = "mdc",
    run_length: int = 7,
    minimum_points: int = 12,
) -> BatchResult:
    """XmR results for every row of ``values`` (rows x periods) at once.

    A NaN is a missing period: no moving range is taken across it, and it breaks any
    run, trend or two-of-three window spanning it (see `mkdeal.spc.rules`). Trailing NaN
    pads shorter rows. Each row is one segment: callers split rebased series into rows.
    ``target`` is one value or one per row (NaN for none).
    """
    # A target on a neutral row gives no assurance icon, as NHSRplotthedots; `spc` refuses it.
    _check_options(improvement, mode, run_length, baseline_points, minimum_points)
    y = np.asarray(values, dtype=float)
    if y.ndim != 2:
        raise UserError("Batch values must be a 2-D array: one row per series.")
    direction_of_improvement = _DIRECTION[improvement]
    rows, periods = y.shape
    present = ~np.isnan(y)
    points = present.sum(axis=1)

    # Limits come from the baseline: the first N points present, or all of them.
    baseline = y
    if baseline_points is not None:
        baseline = np.where(np.cumsum(present, axis=1) <= baseline_points, y, np.nan)
    mean = _mean(baseline)
    moving_range = np.abs(np.diff(baseline, axis=1))  # NaN next to a gap: none taken
    mean_moving_range = _mean(moving_range)
    if mode == "plotthedots":
        # NHSRplotthedots keeps moving ranges below 3.267 x their mean. A flat series
        # (mean moving range 0) is left alone; R would drop every range and give no limits.
        outlier = (moving_range >= SCREEN * mean_moving_range[:, None]) & (
            mean_moving_range[:, None] > 0
        )
        mean_moving_range = _mean(np.where(outlier, np.nan, moving_range))
    lower_limit = mean - LIMIT * mean_moving_range
    upper_limit = mean + LIMIT * mean_moving_range
    lower_near = mean - NEAR_LIMIT * mean_moving_range
    upper_near = mean + NEAR_LIMIT * mean_moving_range

    with np.errstate(invalid="ignore"):
        side = np.nan_to_num(np.sign(y - mean[:, None])).astype(np.int8)
    beyond = rules.beyond_limits(y, lower_limit[:, None], upper_limit[:, None])
    beyond_two_sigma = (y > upper_near[:, None]) | (y < lower_near[:, None])
    # MDC counts every point beyond two sigma; plotthedots only those inside three.
    near = beyond_two_sigma if mode == "mdc" else beyond_two_sigma & (beyond == 0)
    two_of_three = rules.two_of_three(near, side)
    shift = rules.shift(side, run_length)
    if mode == "mdc" and direction_of_improvement != 0:
        # A peak can close a rising trend and open a falling one; MDC lets improvement win.
        rising, falling = rules.trend(y, run_length)
        trends = [rising.astype(np.int8), -falling.astype(np.int8)]
    else:
        trends = [rules.trend_flags(y, run_length)]
    direction = rules.combine(
        [beyond, *trends, two_of_three, shift], direction_of_improvement, mode
    )

    trial_limits = points < minimum_points
    last = periods - 1 - np.argmax(present[:, ::-1], axis=1)
    last_direction = direction[np.arange(rows), last] if periods else np.zeros(rows)
    no_icon = trial_limits | (points == 0)
    variation = np.where(no_icon, -1, _variation_icon(last_direction, direction_of_improvement))
    targets = np.broadcast_to(np.asarray(np.nan if target is None else target, float), (rows,))
    if direction_of_improvement == 0:
        assurance = np.full(rows, -1)
    else:
        assurance = _assurance_icon(targets, lower_limit, upper_limit, direction_of_improvement)
        assurance = np.where(no_icon, -1, assurance)
    return BatchResult(
        mean=mean,
        lower_limit=lower_limit,
        upper_limit=upper_limit,
        lower_near=lower_near,
        upper_near=upper_near,
        points=points,
        trial_limits=trial_limits,
        direction=direction,
        point_type_code=_point_types(direction, direction_of_improvement),
        variation_icon_code=variation,
        assurance_icon_code=assurance,
    )


@dataclass(frozen=True)
class FacetSummary:
    """One facet's chart as a whole, from its last segment and last point."""

    facet: Hashable
    points: int
    mean: float
    lower_limit: float
    upper_limit: float
    trial_limits: bool
    variation_icon: str | None
    assurance_icon: str | None


@dataclass(frozen=True)
class SpcResult:
    """Per-point arrays, in the order the points were given, and per-facet summaries."""

    facet: np.ndarray
    period: pd.PeriodIndex
    value: np.ndarray
    segment: np.ndarray
    mean: np.ndarray
    lower_limit: np.ndarray
    upper_limit: np.ndarray
    lower_near: np.ndarray
    upper_near: np.ndarray
    trial_limits: np.ndarray
    point_type: np.ndarray
    facets: dict[Hashable, FacetSummary] = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "facet": self.facet,
                "period": self.period,
                "value": self.value,
                "segment": self.segment,
                "mean": self.mean,
                "lower_limit": self.lower_limit,
                "upper_limit": self.upper_limit,
                "lower_near": self.lower_near,
                "upper_near": self.upper_near,
                "trial_limits": self.trial_limits,
                "point_type": self.point_type,
            }
        )


def _per_facet(setting, facet, default):
    if isinstance(setting, Mapping):
        return setting.get(facet, default)
    return setting


def _ordinals(dates, freq: str) -> pd.PeriodIndex:
    try:
        return pd.PeriodIndex(pd.DatetimeIndex(pd.to_datetime(dates)).to_period(freq))
    except (ValueError, TypeError) as error:
        raise UserError(f"The dates could not be read as dates ({error}).") from error


def spc(
    dates: Sequence,
    values: Sequence[float],
    *,
    improvement: Improvement,
    target: float | Mapping[Hashable, float] | None = None,
    rebase_dates: Sequence | Mapping[Hashable, Sequence] = (),
    baseline_points: int | None = None,
    mode: Mode = "mdc",
    run_length: int = 7,
    minimum_points: int = 12,
    facets: Sequence[Hashable] | None = None,
    freq: str = "M",
    period_ends: Sequence | None = None,
) -> SpcResult:
    """An XmR chart for each facet of a dated series.

    Each date names a period of ``freq`` (a pandas period alias: "M" months, "W" weeks,
    "D" days, "Q" quarters). A period between the first and last with no value (or a NaN
    value) is a gap: no point is drawn, no moving range is taken across it, and it breaks
    any run, trend or two-of-three that would span it. Two values for one period, or
    periods that overlap (``period_ends`` given and a period starting before the last one
    ended, as with rolling 12-month figures), are refused: the rules assume independent
    periods.

    ``rebase_dates`` (one list, or one per facet) start a new segment at the first
    period on or after each date; each segment has its own mean and limits and no rule
    runs across a rebase. ``baseline_points`` fixes each segment's limits on its first N
    points (N >= 12). A segment with fewer than ``minimum_points`` points has trial
    limits, and a facet whose last segment has trial limits gets no icons. Icons come
    from the facet's last segment: the variation icon from its last point, the assurance
    icon from the target against its limits.

    ``mode`` "mdc" follows NHS England's Making Data Count tool (since November 2023);
    "plotthedots" follows NHSRplotthedots 0.2.2. See `mkdeal.spc` for the differences.
    """
    _check_options(
        improvement, mode, run_length, baseline_points, minimum_points, target is not None
    )
    y = np.asarray(values, dtype=float)
    periods = _ordinals(dates, freq)
    if len(periods) != len(y):
        raise UserError(f"There are {len(periods)} dates but {len(y)} values; give one of each.")
    facet = np.asarray([None] * len(y) if facets is None else list(facets), dtype=object)
    if len(facet) != len(y):
        raise UserError(f"There are {len(facet)} facets but {len(y)} values; give one of each.")
    ends = None if period_ends is None else _ordinals(period_ends, freq).asi8
    ordinal = periods.asi8

    # Sort by facet (in order of first appearance), then period; all set-based.
    if facets is None:
        codes, labels = np.zeros(len(y), dtype=np.intp), [None]
    else:
        codes, found = pd.factorize(facet, use_na_sentinel=False)
        labels = [None if pd.isna(label) else label for label in found]
    code_of = {label: i for i, label in enumerate(labels)}
    order = np.lexsort((ordinal, codes))
    code, ords = codes[order], ordinal[order]
    same_facet = np.diff(code) == 0

    def _named(position: int) -> str:
        label = labels[code[position]]
        return "" if label is None else f" in {label}"

    repeated = np.flatnonzero(same_facet & (np.diff(ords) == 0))
    if repeated.size:
        first = repeated[0]
        raise UserError(
            f"There are two values for {periods[order[first]]}{_named(first)}; "
            "give one value per period."
        )
    if ends is not None:
        overlap = np.flatnonzero(same_facet & (ords[1:] <= ends[order][:-1]))
        if overlap.size:
            first = overlap[0] + 1
            raise UserError(
                f"The period starting {periods[order[first]]}{_named(first)} overlaps the "
                "one before; SPC needs periods that do not overlap (not rolling figures)."
            )

    # Segments: a rebase starts one at the first period on or after its date.
    seg = np.zeros(len(y), dtype=int)
    if isinstance(rebase_dates, Mapping):
        for label, dates_for_facet in rebase_dates.items():
            if label not in code_of:
                continue
            mine = code == code_of[label]
            rebases = np.sort(_ordinals(list(dates_for_facet), freq).asi8)
            seg[mine] = np.searchsorted(rebases, ords[mine], side="right")
    elif len(rebase_dates):
        rebases = np.sort(_ordinals(list(rebase_dates), freq).asi8)
        seg = np.searchsorted(rebases, ords, side="right")
    if len(y):
        # Number each facet's segments from 0, whatever rebases fall before its start.
        facet_start = np.r_[True, np.diff(code) != 0]
        seg = seg - seg[np.flatnonzero(facet_start)][np.cumsum(facet_start) - 1]
    segment = np.empty(len(y), dtype=int)
    segment[order] = seg

    # One batch row per facet and segment, one column per period from the row's first.
    starts = np.r_[True, (np.diff(code) != 0) | (np.diff(seg) != 0)] if len(y) else np.array([])
    row = np.cumsum(starts) - 1
    first_of_row = np.flatnonzero(starts)
    column = ords - ords[first_of_row][row] if len(y) else ords
    rows = len(first_of_row)
    width = int(column.max()) + 1 if len(y) else 0
    grid = np.full((rows, width), np.nan)
    grid[row, column] = y[order]
    row_code = code[first_of_row]
    if isinstance(target, Mapping):
        by_code = np.asarray(
            [np.nan if target.get(label) is None else float(target[label]) for label in labels],
            dtype=float,
        )
        row_targets = by_code[row_code] if rows else np.empty(0)
    else:
        row_targets = np.full(rows, np.nan if target is None else float(target))
    batch = spc_batch(
        grid,
        improvement=improvement,
        target=row_targets,
        baseline_points=baseline_points,
        mode=mode,
        run_length=run_length,
        minimum_points=minimum_points,
    )

    per_point = {}
    for name in ("mean", "lower_limit", "upper_limit", "lower_near", "upper_near"):
        per_point[name] = np.empty(len(y))
        per_point[name][order] = getattr(batch, name)[row]
    trial = np.empty(len(y), dtype=bool)
    trial[order] = batch.trial_limits[row]
    point_type = np.empty(len(y), dtype=object)
    point_type[order] = np.asarray(POINT_TYPES, dtype=object)[batch.point_type_code[row, column]]
    # A NaN value is a gap: no point to type.
    point_type[np.isnan(y)] = None
    # Each facet's summary comes from its last row (its last segment).
    last_row = {labels[c]: r for r, c in enumerate(row_code)}

    variation, assurance = batch.variation_icon, batch.assurance_icon
    summaries = {
        label: FacetSummary(
            facet=label,
            points=int(batch.points[row]),
            mean=float(batch.mean[row]),
            lower_limit=float(batch.lower_limit[row]),
            upper_limit=float(batch.upper_limit[row]),
            trial_limits=bool(batch.trial_limits[row]),
            variation_icon=variation[row],
            assurance_icon=assurance[row],
        )
        for label, row in last_row.items()
    }
    return SpcResult(
        facet=facet,
        period=periods,
        value=y,
        segment=segment,
        trial_limits=trial,
        point_type=point_type,
        facets=summaries,
        **per_point,
    )
