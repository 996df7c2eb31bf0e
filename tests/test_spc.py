"""Tests for mkdeal.spc: rules, limits, point types, icons, and NHSRplotthedots 0.2.2 ports.

Ported tests cite the R file and test name (tests/testthat/ in NHSRplotthedots 0.2.2).
R's helpers return "a run ends here" vectors that a second helper spreads to every
member; our rules return the spread, signed result, so expected values of ported cases
are R's two helpers composed, as each docstring says.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from mkdeal.errors import UserError
from mkdeal.spc import rules, spc, spc_batch

# set.seed(123); rnorm(20) in R: the data of test-ptd_spc_standard.R and test-ptd_spc.R.
RNORM_123 = [
    -0.56047565, -0.23017749, 1.55870831, 0.07050839, 0.12928774,
    1.71506499, 0.46091621, -1.26506123, -0.68685285, -0.44566197,
    1.22408180, 0.35981383, 0.40077145, 0.11068272, -0.55584113,
    1.78691314, 0.49785048, -1.96661716, 0.70135590, -0.47279141,
]  # fmt: skip


def row(values):
    return np.array([values], dtype=float)


def flags(values):
    return list(np.asarray(values, dtype=int)[0])


def months(n, start="2020-01-01"):
    return pd.date_range(start, periods=n, freq="MS")


# --- ported: test-ptd_calculate_point_type.R ------------------------------------------


@pytest.mark.parametrize(
    ("side", "expected"),
    [
        ([1] * 6, [0] * 6),
        ([1] * 6 + [-1], [0] * 7),
        ([1] * 8 + [-1], [1] * 8 + [0]),
        ([-1] * 8 + [1], [-1] * 8 + [0]),
    ],
)
def test_shift_ported_cases(side, expected):
    """test-ptd_calculate_point_type.R, "ptd_seven_point_one_side_mean works as expected";
    expected = ptd_part_of_seven_trend(R's result), signed by side."""
    assert flags(rules.shift(np.array([side], dtype=np.int8))) == expected


def test_shift_empty():
    """test-ptd_calculate_point_type.R, "ptd_seven_point_one_side_mean" (numeric())."""
    assert rules.shift(np.zeros((1, 0), dtype=np.int8)).shape == (1, 0)


@pytest.mark.parametrize(
    ("ends", "expected"),
    [
        ([0] * 6, [0] * 6),
        ([0] * 6 + [1, 0], [1] * 7 + [0]),
        ([0] * 7 + [1, 0], [0] + [1] * 7 + [0]),
        ([], []),
    ],
)
def test_run_members_ported_cases(ends, expected):
    """test-ptd_calculate_point_type.R, "ptd_part_of_seven_trend works as expected"
    (the -1 cases are the same through abs())."""
    members = rules.run_members(np.array([ends], dtype=bool).reshape(1, -1), 7)
    assert flags(members) == expected


@pytest.mark.parametrize(
    ("y", "expected"),
    [
        ([1, 2, 3, 4, 5, 6], [0] * 6),
        ([1, 2, 3, 3, 4, 5, 6], [0] * 7),
        ([1, 2, 3, 4, 5, 6, 7], [1] * 7),
        ([2, 1, 2, 3, 4, 5, 6, 7, 3], [0] + [1] * 7 + [0]),
        ([7, 6, 5, 4, 3, 2, 1], [-1] * 7),
        ([2, 7, 6, 5, 4, 3, 2, 1, 3], [0] + [-1] * 7 + [0]),
    ],
)
def test_trend_ported_cases(y, expected):
    """test-ptd_calculate_point_type.R, "ptd_seven_point_trend works as expected";
    expected = ptd_part_of_seven_trend(R's result), signed. The 6-point case is the
    boundary: 6 points (5 rises) are no trend; a tie breaks one."""
    assert flags(rules.trend_flags(row(y))) == expected


def test_trend_empty():
    """test-ptd_calculate_point_type.R, "ptd_seven_point_trend" (numeric())."""
    assert rules.trend_flags(np.zeros((1, 0))).shape == (1, 0)


@pytest.mark.parametrize(
    ("near", "side", "expected"),
    [
        ([0, 0, 0], [0, 0, 0], [0, 0, 0]),
        ([1, 0, 1], [1, 1, 1], [1, 0, 1]),
        ([0, 1, 1], [1, 1, 1], [0, 1, 1]),
        ([1, 1, 0], [1, 1, 1], [1, 1, 0]),
        ([0, 0, 1, 0, 1, 0, 0], [1] * 7, [0, 0, 1, 0, 1, 0, 0]),
        ([0, 0, 1, 1, 0, 0, 0], [1] * 7, [0, 0, 1, 1, 0, 0, 0]),
        ([1, 0, 0, 1], [1] * 4, [0, 0, 0, 0]),
        ([1, 0, 0, 1, 1], [1] * 5, [0, 0, 0, 1, 1]),
    ],
)
def test_two_of_three_ported_cases(near, side, expected):
    """test-ptd_calculate_point_type.R, "ptd_two_in_three works as expected" and
    "ptd_part_of_two_in_three works as expected"; expected = ptd_part_of_two_in_three(
    ptd_two_in_three(v, rtm), v)."""
    result = rules.two_of_three(np.array([near], bool), np.array([side], np.int8))
    assert flags(result) == expected


@pytest.mark.parametrize(
    ("near", "side"),
    [
        ([1, 0, 1], [1, -1, 1]),
        ([0, 1, 1], [1, -1, 1]),
        ([1, 1, 0], [1, -1, 1]),
        ([0, 0, 1, 0, 1, 0, 0], [1, -1, 1, -1, 1, -1, 1]),
        ([0, 0, 1, 1, 0, 0, 0], [-1, 1, -1, 1, -1, 1, -1]),
    ],
)
def test_two_of_three_opposite_sides_ported(near, side):
    """test-ptd_calculate_point_type.R, "ptd_two_in_three works as expected when points
    are on opposite sides of the mean"."""
    result = rules.two_of_three(np.array([near], bool), np.array([side], np.int8))
    assert flags(result) == [0] * len(near)


def test_combine_precedence_ported():
    """test-ptd_calculate_point_type.R, "ptd_special_cause_type works as expected": with
    y = 1:8 and relative_to_mean (1,1,1,1,-1,-1,-1,-1): outside limits at 6 and 7 (below),
    trend at 1 and 2 (increasing), two-in-three at 5 (below), shift at 3 and 4 (above);
    R gives Trend Inc, Trend Inc, 7 Above, 7 Above, 2in3 Below, Below LCL, Below LCL,
    Common Cause."""
    beyond = row([0, 0, 0, 0, 0, -1, -1, 0]).astype(np.int8)
    trend = row([1, 1, 0, 0, 0, 0, 0, 0]).astype(np.int8)
    two = row([0, 0, 0, 0, -1, 0, 0, 0]).astype(np.int8)
    shift = row([0, 0, 1, 1, 0, 0, 0, 0]).astype(np.int8)
    result = rules.combine([beyond, trend, two, shift], 1, "plotthedots")
    assert flags(result) == [1, 1, 1, 1, -1, -1, -1, 0]


# --- ported: test-ptd_spc_standard.R and test-ptd_spc.R (snapshots) ---------------------


def test_limits_ported_snapshot_r1():
    """test-ptd_spc_standard.R, "it returns expected values" (snapshot r1) and
    test-ptd_spc.R "it outputs expected content" (s1: 0.142, -3.01, 3.29, 20 common)."""
    result = spc(months(20), RNORM_123, improvement="increase", mode="plotthedots")
    assert result.mean[0] == pytest.approx(0.1416238, abs=1e-7)
    assert result.lower_limit[0] == pytest.approx(-3.01138, abs=1e-5)
    assert result.upper_limit[0] == pytest.approx(3.294627, abs=1e-6)
    assert set(result.point_type) == {"common_cause"}
    assert result.facets[None].variation_icon == "common_cause"


def test_limits_ported_snapshot_screening():
    """test-ptd_spc_standard.R, "it returns expected values" (snapshots r2 and r3): y[15]
    = 10 is screened out of the moving ranges in plotthedots mode (r2) and not without
    screening (r3, which is what MDC mode does); r3's range is wider."""
    y = list(RNORM_123)
    y[14] = 10
    screened = spc(months(20), y, improvement="increase", mode="plotthedots")
    unscreened = spc(months(20), y, improvement="increase", mode="mdc")
    assert screened.mean[0] == pytest.approx(0.6694159, abs=1e-7)
    assert screened.lower_limit[0] == pytest.approx(-2.383666, abs=1e-6)
    assert screened.upper_limit[0] == pytest.approx(3.722497, abs=1e-6)
    assert unscreened.lower_limit[0] == pytest.approx(-4.596625, abs=1e-6)
    assert unscreened.upper_limit[0] == pytest.approx(5.935457, abs=1e-6)


def test_rebase_ported():
    """test-ptd_spc_standard.R, "it sets the rebase_group field": a rebase at the 11th
    point gives segments 0 x 10 and 1 x 10, each with its own mean."""
    dates = months(20)
    result = spc(dates, RNORM_123, improvement="increase", rebase_dates=[dates[10]])
    assert list(result.segment) == [0] * 10 + [1] * 10
    assert result.mean[0] == pytest.approx(np.mean(RNORM_123[:10]))
    assert result.mean[10] == pytest.approx(np.mean(RNORM_123[10:]))


def test_facets_ported_snapshot():
    """test-ptd_spc.R, "it outputs expected content" (s3: facet 0 mean 0.0746 limits
    -2.60 to 2.75; facet 1 mean 0.209 limits -3.28 to 3.70; trial limits, n = 10)."""
    facets = [0] * 10 + [1] * 10
    result = spc(months(20), RNORM_123, improvement="increase", facets=facets, mode="plotthedots")
    zero, one = result.facets[0], result.facets[1]
    assert (round(zero.mean, 4), round(zero.lower_limit, 2), round(zero.upper_limit, 2)) == (
        0.0746,
        -2.60,
        2.75,
    )
    assert (round(one.mean, 3), round(one.lower_limit, 2), round(one.upper_limit, 2)) == (
        0.209,
        -3.28,
        3.70,
    )
    assert zero.trial_limits and zero.variation_icon is None


def test_baseline_ported():
    """test-ptd_spc_standard.R, "setting fix_after_n_points changes the calculations"."""
    free = spc(months(20), RNORM_123, improvement="increase", mode="plotthedots")
    fixed = spc(
        months(20), RNORM_123, improvement="increase", mode="plotthedots", baseline_points=12
    )
    assert fixed.lower_limit[0] != free.lower_limit[0]
    assert fixed.mean[0] == pytest.approx(np.mean(RNORM_123[:12]))


def test_two_of_three_opposite_sides_ported_spc():
    """test-ptd_spc_standard.R, "it only reports special cause for 2of3 points close to
    limits when they are on the same side of the mean"."""
    y = [1.0, -1.0] * 8
    y[14], y[15] = 5.5, -5.5
    result = spc(months(16), y, improvement="increase", mode="plotthedots")
    assert list(result.point_type[-2:]) == ["common_cause", "common_cause"]


# --- ported: test-ptd_calculate_assurance_type.R ---------------------------------------

LIMITS = dict(lower=[1, 5, 1], upper=[3, 7, 5])


def assurance(improvement, target=4.0):
    """Three facets of 12 flat-ish points whose limits are the R test's lpl/upl."""
    # Build series with the given limits: mean m, mean moving range r -> m +/- 2.66 r.
    series = []
    for lower, upper in zip(LIMITS["lower"], LIMITS["upper"], strict=True):
        mean, mr = (lower + upper) / 2, (upper - lower) / (2 * 2.66)
        series.append([mean + (mr / 2 if i % 2 else -mr / 2) for i in range(12)])
    result = spc_batch(np.array(series), improvement=improvement, target=target)
    np.testing.assert_allclose(result.lower_limit, LIMITS["lower"])
    return list(result.assurance_icon)


def test_assurance_increase_ported():
    """test-ptd_calculate_assurance_type.R, "it returns correct values for assurance when
    improvement_direction is increase" ("inconsistent" is our hit_and_miss)."""
    assert assurance("increase") == ["consistent_fail", "consistent_pass", "hit_and_miss"]


def test_assurance_decrease_ported():
    """test-ptd_calculate_assurance_type.R, "... when improvement_direction is decrease"."""
    assert assurance("decrease") == ["consistent_pass", "consistent_fail", "hit_and_miss"]


def test_assurance_neutral_ported():
    """test-ptd_calculate_assurance_type.R, "... when improvement_direction is neutral"."""
    assert assurance("neutral") == [None, None, None]


def test_assurance_no_target_ported():
    """test-ptd_calculate_assurance_type.R, "it returns a column of NA's if there is no
    target"."""
    result = spc(months(20), RNORM_123, improvement="increase")
    assert result.facets[None].assurance_icon is None


def test_assurance_uses_last_segment_ported():
    """test-ptd_calculate_assurance_type.R, "it returns correct values for assurance when
    rebase": the last segment's limits decide."""
    dates = months(24)
    y = [0.0, 1.0] * 6 + [10.0, 11.0] * 6
    result = spc(dates, y, improvement="increase", target=5, rebase_dates=[dates[12]])
    assert result.facets[None].assurance_icon == "consistent_pass"


# --- MDC-mode differences --------------------------------------------------------------


def test_mdc_two_of_three_counts_points_beyond_three_sigma():
    """In MDC mode a point beyond three sigma also counts toward two-of-three. Limits are
    fixed on 20 alternating points (mean 0.5, mean moving range 1: two sigma at 2.27,
    three at 3.16). Then 5 (beyond three sigma) and 2.8 (between two and three), all on
    the high side: MDC sees two of three beyond two sigma and flags 2.8 as improvement;
    plotthedots counts only 2.8 (one of three), so it stays common cause."""
    y = np.array([[0, 1] * 10 + [0.5, 5.0, 2.8, 0.6]])
    mdc = spc_batch(y, improvement="increase", mode="mdc", baseline_points=20)
    ptd = spc_batch(y, improvement="increase", mode="plotthedots", baseline_points=20)
    assert mdc.upper_near[0] < 2.8 < mdc.upper_limit[0] < 5.0
    assert list(mdc.point_type[0, -3:-1]) == ["special_cause_improvement"] * 2
    assert list(ptd.point_type[0, -3:-1]) == ["special_cause_improvement", "common_cause"]


def test_mdc_improvement_wins_and_reversal_does_not_swap():
    """The worked example in mkdeal.spc: a rising trend (8 points) mostly below the mean
    (shift of 7). MDC shows improvement either way; plotthedots lets the trend decide."""
    y = np.array([[13, 17, 13, 17, 13, 17, 13, 17, 9, 10, 11, 12, 12.5, 13, 13.5, 17, 13, 17]])
    up = spc_batch(y, improvement="increase").point_type[0]
    down = spc_batch(y, improvement="decrease").point_type[0]
    assert set(up[8:16]) == {"special_cause_improvement"}
    assert set(down[8:15]) == {"special_cause_improvement"}
    assert down[15] == "special_cause_concern"
    ptd_down = spc_batch(y, improvement="decrease", mode="plotthedots").point_type[0]
    assert set(ptd_down[8:16]) == {"special_cause_concern"}


def test_mdc_no_screening_of_moving_ranges():
    """MDC (since November 2023) keeps every moving range: limits equal the unscreened
    mean +/- 2.66 x mean moving range even with a huge jump."""
    y = np.array([[1.0, 2.0] * 6 + [100.0]])
    result = spc_batch(y, improvement="increase")
    mean_mr = np.mean(np.abs(np.diff(y[0])))
    assert result.upper_limit[0] == pytest.approx(y.mean() + 2.66 * mean_mr)


# --- engine behaviour ------------------------------------------------------------------


def test_trend_six_points_no_trend_seven_points_trend():
    y6 = [5, 5, 5, 1, 2, 3, 4, 5, 6, 5]
    y7 = [5, 5, 5, 1, 2, 3, 4, 5, 6, 7, 5]
    assert flags(rules.trend_flags(row(y6))) == [0] * 10
    assert flags(rules.trend_flags(row(y7))) == [0, 0, 0] + [1] * 7 + [0]


def test_run_length_six_option():
    y = row([5, 1, 2, 3, 4, 5, 6, 5])
    assert flags(rules.trend_flags(y, 6)) == [0] + [1] * 6 + [0]
    assert flags(rules.shift(np.array([[1] * 6 + [0]], np.int8), 6)) == [1] * 6 + [0]


def test_shift_broken_by_point_on_mean():
    side = np.array([[1, 1, 1, 0, 1, 1, 1, 1]], np.int8)
    assert flags(rules.shift(side)) == [0] * 8


def test_gap_breaks_moving_range_and_runs():
    """A missing month: no moving range spans it, and runs either side do not join. The
    1.5/1.6 points are 4 before the gap and 3 after, all above the mean: a shift of 7 only
    if the gap were ignored."""
    y = [0, 1, 0, 1, 1.5, 1.6, 1.5, 1.6, 1.5, 1.6, 1.5, 0, 1, 0, 1]  # gap after 8th
    all_months = pd.date_range("2020-01-01", periods=16, freq="MS")
    with_gap = spc(all_months.delete(8), y, improvement="increase")
    without_gap = spc(all_months[:15], y, improvement="increase")
    ranges = np.abs(np.diff(y))
    ranges = np.delete(ranges, 7)  # the step across the gap is not a moving range
    assert with_gap.upper_limit[0] == pytest.approx(np.mean(y) + 2.66 * ranges.mean())
    assert set(with_gap.point_type) == {"common_cause"}
    assert "special_cause_improvement" in set(without_gap.point_type)


def test_gap_breaks_trend():
    y = np.array([[1, 2, 3, np.nan, 4, 5, 6, 7]])
    assert flags(rules.trend_flags(y)) == [0] * 8


def test_overlapping_periods_refused():
    with pytest.raises(UserError, match="two values"):
        spc(["2024-01-01", "2024-01-15"], [1, 2], improvement="increase")
    starts = pd.date_range("2023-01-01", periods=3, freq="MS")
    ends = starts + pd.DateOffset(months=11)
    with pytest.raises(UserError, match="overlaps"):
        spc(starts, [1, 2, 3], improvement="increase", period_ends=ends)


def test_short_segment_has_trial_limits_and_no_icons():
    result = spc(months(11), RNORM_123[:11], improvement="increase", target=0)
    assert result.trial_limits.all()
    assert result.facets[None].variation_icon is None
    assert result.facets[None].assurance_icon is None


def test_baseline_below_twelve_refused():
    with pytest.raises(UserError, match="at least 12"):
        spc(months(20), RNORM_123, improvement="increase", baseline_points=11)


def test_variation_icon_from_last_point():
    y = [0.0, 1.0] * 10 + [20.0]
    assert spc(months(21), y, improvement="increase").facets[None].variation_icon == (
        "improvement_high"
    )
    assert spc(months(21), y, improvement="decrease").facets[None].variation_icon == (
        "concern_high"
    )
    neutral = spc(months(21), y, improvement="neutral")
    assert neutral.facets[None].variation_icon == "neutral_high"
    assert neutral.point_type[-1] == "special_cause_neutral_high"


def test_no_rule_runs_across_rebase():
    """Seven 0.9s above the mean straddle the rebase (4 before, 3 after): a shift
    without the rebase, none with it, and each segment has its own mean."""
    dates = months(25)
    y = [0.0, 1.0] * 4 + [0.9] * 4 + [0.9] * 3 + [0.0, 1.0] * 5
    whole = spc(dates, y, improvement="increase")
    split = spc(dates, y, improvement="increase", rebase_dates=[dates[12]])
    assert set(whole.point_type[8:15]) == {"special_cause_improvement"}
    assert set(split.point_type) == {"common_cause"}
    assert len(set(split.mean)) == 2


# --- properties ------------------------------------------------------------------------

series = st.lists(
    st.floats(min_value=-1e3, max_value=1e3, allow_nan=False, allow_subnormal=False),
    min_size=12,
    max_size=40,
)


@settings(max_examples=60, deadline=None)
@given(series, st.floats(-1e3, 1e3), st.sampled_from(["mdc", "plotthedots"]))
def test_limits_shift_with_added_constant(values, constant, mode):
    y = np.array([values])
    base = spc_batch(y, improvement="increase", mode=mode)
    moved = spc_batch(y + constant, improvement="increase", mode=mode)
    for name in ("mean", "lower_limit", "upper_limit", "lower_near", "upper_near"):
        assert getattr(moved, name) == pytest.approx(getattr(base, name) + constant, abs=1e-6)


@settings(max_examples=60, deadline=None)
@given(series, st.floats(0.01, 100), st.sampled_from(["mdc", "plotthedots"]))
def test_limits_scale_with_positive_factor(values, factor, mode):
    y = np.array([values])
    base = spc_batch(y, improvement="increase", mode=mode)
    scaled = spc_batch(y * factor, improvement="increase", mode=mode)
    for name in ("mean", "lower_limit", "upper_limit"):
        assert getattr(scaled, name) == pytest.approx(getattr(base, name) * factor, abs=1e-6)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.integers(-20, 20), min_size=12, max_size=40),
    st.sampled_from(["mdc", "plotthedots"]),
)
def test_reversing_direction_swaps_when_one_side_triggers(values, mode):
    y = np.array([values], dtype=float)
    up = spc_batch(y, improvement="increase", mode=mode)
    directions = set(np.unique(up.direction)) - {0}
    assume(len(directions) <= 1)  # only one side triggers
    down = spc_batch(y, improvement="decrease", mode=mode)
    swap = {
        "special_cause_improvement": "special_cause_concern",
        "special_cause_concern": "special_cause_improvement",
        "common_cause": "common_cause",
    }
    assert [swap[t] for t in up.point_type[0]] == list(down.point_type[0])


def test_batch_matches_single_series():
    rng = np.random.default_rng(7)
    y = rng.normal(size=(5, 30))
    batch = spc_batch(y, improvement="decrease", target=0.5)
    for i in range(5):
        single = spc(months(30), y[i], improvement="decrease", target=0.5)
        assert list(single.point_type) == list(batch.point_type[i])
        assert single.facets[None].variation_icon == batch.variation_icon[i]


def test_target_with_neutral_direction_refused():
    with pytest.raises(UserError, match="target needs an improvement direction"):
        spc(months(20), RNORM_123, improvement="neutral", target=0.5)


def test_faceted_series_equals_each_facet_alone():
    """Facets given interleaved and out of order, with per-facet rebases and targets, give
    the same figures as charting each facet by itself."""
    rng = np.random.default_rng(5)
    dates = list(months(30))
    chosen = {"North": (["2021-06-01"], 10.0), "South": ([], 12.0), None: (["2021-01-01"], 9.0)}
    rows = [(d, label, rng.normal(10, 2)) for d in dates for label in chosen]
    rng.shuffle(rows)
    together = spc(
        [r[0] for r in rows],
        [r[2] for r in rows],
        facets=[r[1] for r in rows],
        improvement="increase",
        rebase_dates={label: rebase for label, (rebase, _) in chosen.items()},
        target={label: target for label, (_, target) in chosen.items()},
    )
    for label, (rebase, target) in chosen.items():
        mine = [r for r in rows if r[1] == label]
        alone = spc(
            [r[0] for r in mine],
            [r[2] for r in mine],
            improvement="increase",
            rebase_dates=rebase,
            target=target,
        )
        where = np.asarray([r[1] == label for r in rows])
        np.testing.assert_allclose(together.upper_limit[where], alone.upper_limit)
        assert list(together.point_type[where]) == list(alone.point_type)
        assert list(together.segment[where]) == list(alone.segment)
        assert alone.segment.max() == (1 if rebase else 0)
        summary, single = together.facets[label], alone.facets[None]
        assert (summary.variation_icon, summary.assurance_icon) == (
            single.variation_icon,
            single.assurance_icon,
        )
        assert summary.mean == pytest.approx(single.mean, rel=1e-12)
