"""The four special-cause rules, each over many series at once.

Every rule takes 2-D arrays (one row per series segment, one column per period) and
returns an ``int8`` array of the same shape: +1 where the point is flagged high, -1 where
flagged low, 0 where the rule does not flag it. A gap is NaN in ``y`` and 0 in ``side``;
because NaN compares false, a gap breaks every run, trend and two-of-three window that
would span it (a missing period can neither make nor extend a signal).

The rules follow NHS England's "Making Data Count" (MDC) guidance and NHSRplotthedots
0.2.2 (R/ptd_calculate_point_type.R); `combine` applies their precedence.
"""

from __future__ import annotations

import numpy as np

Flags = np.ndarray  # int8, rows x periods: +1 high, -1 low, 0 none


def run_ends(mask: np.ndarray, length: int) -> np.ndarray:
    """True at each point that closes ``length`` consecutive True values in ``mask``."""
    rows, periods = mask.shape
    ends = np.zeros((rows, periods), dtype=bool)
    if length > periods or length < 1:
        return ends
    counts = np.zeros((rows, periods + 1), dtype=np.int32)
    np.cumsum(mask, axis=1, out=counts[:, 1:])
    ends[:, length - 1 :] = (counts[:, length:] - counts[:, : periods - length + 1]) == length
    return ends


def run_members(ends: np.ndarray, length: int) -> np.ndarray:
    """True at every point inside a window of ``length`` points that closes at an end.

    The counterpart of NHSRplotthedots' ``ptd_part_of_seven_trend``: it turns "a run
    closes here" into "this point belongs to a run", so all points of a run are flagged.
    """
    rows, periods = ends.shape
    counts = np.zeros((rows, periods + 1), dtype=np.int32)
    np.cumsum(ends, axis=1, out=counts[:, 1:])
    stop = np.minimum(np.arange(periods) + length, periods)
    return (counts[:, stop] - counts[:, :periods]) > 0


def _signed(high: np.ndarray, low: np.ndarray) -> Flags:
    return high.astype(np.int8) - low.astype(np.int8)


def beyond_limits(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> Flags:
    """Rule 1: a point above the upper or below the lower process limit."""
    return _signed(y > upper, y < lower)


def trend(y: np.ndarray, run_length: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Rule 2: ``run_length`` points, each strictly higher (or lower) than the one before.

    With the default of 7 that is 6 rises in a row; 6 points rising is no trend. A tie
    (equal neighbours) breaks the trend, as does a gap. All points of the trend are
    flagged. A point that ends a rising trend and starts a falling one (a peak) is
    flagged both ways, so it is returned as the pair ``(rising, falling)``; see
    `trend_flags` for the single-direction view.
    """
    rises = np.zeros(y.shape, dtype=bool)
    falls = np.zeros(y.shape, dtype=bool)
    rises[:, 1:] = y[:, 1:] > y[:, :-1]
    falls[:, 1:] = y[:, 1:] < y[:, :-1]
    # run_length points need run_length - 1 steps; the step into point i is stored at i.
    rising = run_members(run_ends(rises, run_length - 1), run_length)
    falling = run_members(run_ends(falls, run_length - 1), run_length)
    return rising, falling


def trend_flags(y: np.ndarray, run_length: int = 7) -> Flags:
    """Rule 2 as one flag per point; a point in both a rising and a falling trend (a peak
    or trough) takes the direction of the trend that starts there, as NHSRplotthedots
    does ("if a point is part of a trend either side, use right side")."""
    rising, falling = trend(y, run_length)
    flags = _signed(rising, falling)
    both = rising & falling
    if both.any():
        step_right = np.zeros(y.shape, dtype=np.int8)
        step_right[:, :-1] = np.sign(np.nan_to_num(y[:, 1:] - y[:, :-1])).astype(np.int8)
        flags = np.where(both, step_right, flags)
    return flags


def two_of_three(near: np.ndarray, side: np.ndarray) -> Flags:
    """Rule 3: two of three consecutive points beyond the two-sigma line, all three on
    the same side of the mean; only the points beyond the line are flagged.

    ``near`` says which points count as beyond the line: in MDC mode every point beyond
    two sigma (also those beyond three), in plotthedots mode only those between two and
    three sigma (NHSRplotthedots' ``close_to_limits``).
    """
    flags = np.zeros(near.shape, dtype=np.int8)
    near_count = np.zeros((near.shape[0], near.shape[1] + 1), dtype=np.int32)
    np.cumsum(near, axis=1, out=near_count[:, 1:])
    if near.shape[1] < 3:
        return flags
    two_near = np.zeros(near.shape, dtype=bool)
    two_near[:, 2:] = (near_count[:, 3:] - near_count[:, :-3]) >= 2
    for direction in (1, -1):
        window = run_ends(side == direction, 3) & two_near
        hit = run_members(window, 3) & near & (side == direction)
        flags[hit] = direction
    return flags


def shift(side: np.ndarray, run_length: int = 7) -> Flags:
    """Rule 4: ``run_length`` consecutive points on one side of the mean, all flagged.

    A point exactly on the mean (side 0) breaks the run, as does a gap.
    """
    high = run_members(run_ends(side == 1, run_length), run_length)
    low = run_members(run_ends(side == -1, run_length), run_length)
    return _signed(high, low)


def combine(flags_by_precedence: list[Flags], improvement: int, mode: str) -> Flags:
    """One direction per point from the rules' flags, listed in precedence order.

    plotthedots: the first rule that flags a point decides its direction.
    MDC (improvement direction set): if any rule flags the point in the improvement
    direction, improvement shows; otherwise concern. The MDC tool shows improvement
    where both trigger, so reversing the improvement direction does not always swap
    improvement and concern (see `mkdeal.spc` for a worked example). For a neutral
    measure MDC has no such preference and precedence decides, as in plotthedots.
    """
    result = np.zeros(flags_by_precedence[0].shape, dtype=np.int8)
    for flags in reversed(flags_by_precedence):
        result = np.where(flags != 0, flags, result)
    if mode == "mdc" and improvement != 0:
        improving = np.zeros(result.shape, dtype=bool)
        for flags in flags_by_precedence:
            improving |= flags == improvement
        result = np.where(improving, np.int8(improvement), result)
    return result
