"""Disclosure control: worked examples, and properties over random tables (Hypothesis)."""

import logging
import math
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mkdeal.errors import UserError
from mkdeal.measures.disclosure import POLICIES, POLICY_DESCRIPTIONS, VALUE_TYPES, control
from mkdeal.measures.stats import exact_poisson, wilson

NAN = math.nan
COLUMNS = ["measure_id", "value_type", "numerator", "denominator", "value", "lower", "upper"]
FLAGS = ["numerator_suppressed", "denominator_suppressed", "value_suppressed"]


def table(rows, **extra):
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for name, values in extra.items():
        frame[name] = values
    return frame


def figures(*rows):
    """Rows of (value_type, numerator, denominator) with the uncontrolled value and CI."""
    out = []
    for index, (kind, num, den) in enumerate(rows):
        if kind == "proportion":
            value, (lower, upper) = num / den if den else NAN, wilson(num, den)
        elif kind == "count":
            value, (lower, upper) = num, exact_poisson(num)
        else:
            value, lower, upper = 42.0, 40.0, 44.0
        out.append([f"M{index:03d}", kind, num, den, value, float(lower), float(upper)])
    return table(out)


def test_nhs_worked_example():
    results = figures(
        ("proportion", 3, 40),  # numerator 1-7: hidden, so is the value
        ("proportion", 12, 43),  # 10 / 45
        ("proportion", 0, 5),  # 0 shown; denominator hidden
        ("count", 0, NAN),
        ("count", 5, NAN),
        ("count", 13, NAN),
        ("mean", 210.0, 6),  # 6 records: hidden
        ("mean", 504.0, 12),  # 12 records: shown as 10, the value kept
    )

    out = control(results, "nhs")

    frame = out.frame
    np.testing.assert_array_equal(frame["numerator"], [NAN, 10, 0, 0, NAN, 15, NAN, NAN])
    np.testing.assert_array_equal(frame["denominator"], [40, 45, NAN, NAN, NAN, NAN, NAN, 10])
    assert frame["value"][1] == 10 / 45
    assert (frame["lower"][1], frame["upper"][1]) == wilson(10, 45)
    assert (frame["lower"][3], frame["upper"][3]) == (0, pytest.approx(3.689, abs=5e-4))
    assert (frame["value"][5], frame["lower"][5]) == (15, exact_poisson(15)[0])
    assert frame[["value", "lower", "upper"]].iloc[[0, 2, 4, 6]].isna().all().all()
    assert tuple(frame.loc[7, ["value", "lower", "upper"]]) == (42, 40, 44)
    assert frame["value_suppressed"].tolist() == [1, 0, 1, 0, 1, 0, 1, 0]
    assert frame["denominator_suppressed"].tolist() == [0, 0, 1, 0, 0, 0, 1, 0]
    assert out.suppressed == 4


def test_opensafely_worked_example():
    results = figures(
        ("proportion", 3, 40),  # 0 / 40
        ("proportion", 5, 6),  # 0 / 0: no value
        ("count", 7, NAN),
        ("count", 8, NAN),
        ("median", NAN, 7),
        ("median", NAN, 8),
    )

    frame = control(results, "opensafely").frame

    np.testing.assert_array_equal(frame["numerator"], [0, 0, 0, 10, NAN, NAN])
    np.testing.assert_array_equal(frame["denominator"], [40, 0, NAN, NAN, 0, 10])
    assert frame["value"][0] == 0 and (frame["lower"][0], frame["upper"][0]) == wilson(0, 40)
    assert np.isnan(frame["value"][1]) and frame["value"][3] == 10
    assert np.isnan(frame["value"][4]) and frame["value"][5] == 42
    assert frame["value_suppressed"].tolist() == [1, 1, 1, 0, 1, 0]


# (count, shown under nhs, shown under opensafely). Nearest 5 with no banker's rounding:
# 12 -> 10, 13 -> 15, 22 -> 20, 23 -> 25; and a very large count rounds exactly too.
ROUNDING = [(0, 0, 0), (1, NAN, 0), (7, NAN, 0), (8, 10, 10), (12, 10, 10), (13, 15, 15)]
ROUNDING += [
    (17, 15, 15),
    (18, 20, 20),
    (22, 20, 20),
    (23, 25, 25),
    (10**15 + 3, *[10**15 + 5] * 2),
]


@pytest.mark.parametrize(("count", "nhs", "opensafely"), ROUNDING)
def test_counts_round_to_nearest_five(count, nhs, opensafely):
    results = figures(("count", count, NAN))

    for policy, expected in (("nhs", nhs), ("opensafely", opensafely)):
        shown = control(results, policy).frame["numerator"][0]
        assert shown == expected or (np.isnan(shown) and np.isnan(expected))


def test_rate_recomputed_and_person_time_left_alone():
    results = table(
        [["R1", "rate", 23, 12345.6, 186.3, 118.1, 279.5], ["R2", "rate", 23, 4001, 0, 0, 0]],
        multiplier=[100_000, 1000],
    )

    frame = control(results, "nhs").frame

    np.testing.assert_array_equal(frame["numerator"], [25, 25])
    np.testing.assert_array_equal(frame["denominator"], [12345.6, 4000])
    np.testing.assert_allclose(frame["value"], [25 / 12345.6 * 100_000, 25 / 4000 * 1000])
    lower, upper = exact_poisson([25, 25], [12345.6, 4000], [100_000, 1000])
    np.testing.assert_array_equal(frame["lower"], lower)
    np.testing.assert_array_equal(frame["upper"], upper)


def test_mean_sums_are_not_published():
    results = figures(("mean", 504.0, 12), ("total", 37.5, 3))
    results["total_of_squares"] = [21_500.0, 480.0]

    frame = control(results, "nhs").frame

    # With the mean, the sum would give the exact record count back.
    assert frame["numerator"].isna().all() and frame["total_of_squares"].isna().all()
    assert frame["numerator_suppressed"].all()
    assert frame["value"].tolist()[0] == 42 and np.isnan(frame["value"][1])


def test_unknown_policy_names_the_policies():
    with pytest.raises(UserError, match="choose one of none, nhs, opensafely"):
        control(figures(("count", 3, NAN)), "strict")
    assert set(POLICY_DESCRIPTIONS) == set(POLICIES)


def test_bad_tables_are_refused():
    with pytest.raises(UserError, match="no column upper"):
        control(figures(("count", 3, NAN)).drop(columns="upper"), "nhs")
    with pytest.raises(UserError, match="value_type odds"):
        control(figures(("count", 3, NAN)).assign(value_type="odds"), "nhs")
    with pytest.raises(UserError, match="negative count"):
        control(figures(("count", -3, NAN)), "nhs")


@pytest.fixture
def disclosure_log(caplog):
    # mkdeal.logs.configure() stops propagation at "mkdeal", so listen on the logger itself.
    logger = logging.getLogger("mkdeal.measures.disclosure")
    logger.addHandler(caplog.handler)
    logger.propagate, level = False, logger.level
    logger.setLevel(logging.INFO)
    yield caplog
    logger.removeHandler(caplog.handler)
    logger.propagate = True
    logger.setLevel(level)


def test_log_holds_the_two_counts_and_nothing_else(disclosure_log):
    results = figures(("proportion", 3, 40), ("proportion", 123, 4567), ("count", 98765, NAN))
    results["measure_id"] = ["ID-55501", "ID-55502", "ID-55503"]

    control(results, "nhs")

    (record,) = disclosure_log.records
    message = record.getMessage()
    assert record.levelno == logging.INFO
    assert message == "Disclosure control (nhs): 1 of 3 figures suppressed."
    assert re.findall(r"\d+(?:\.\d+)?", message) == ["1", "3"]


# Properties over random tables.


@st.composite
def result_rows(draw):
    kind = draw(st.sampled_from(VALUE_TYPES))
    count = st.integers(0, 400)
    if kind == "proportion":
        den = draw(count)
        num = draw(st.integers(0, den))
    elif kind == "count":
        num, den = draw(count), draw(st.sampled_from([NAN, 0, 1, 50]))
    elif kind == "rate":
        num = draw(count)
        den = draw(st.one_of(count, st.floats(0.5, 1e6)))  # people, or person-years
    else:
        num = draw(st.floats(0, 1e5))
        den = draw(st.one_of(count, st.just(NAN)))
    if kind in ("proportion", "count", "rate") and draw(st.integers(0, 9)) == 0:
        num = NAN  # now and then a figure with no numerator
    value, lower, upper = draw(st.tuples(*[st.floats(0, 1e4)] * 3))
    multiplier = draw(st.sampled_from([1, 1000, 100_000]))
    return ["M", kind, num, den, value, lower, upper, multiplier, draw(st.floats(0, 1e9))]


tables = st.lists(result_rows(), max_size=25).map(
    lambda rows: pd.DataFrame(rows, columns=[*COLUMNS, "multiplier", "total_of_squares"]).astype(
        {name: float for name in [*COLUMNS[2:], "multiplier", "total_of_squares"]}
    )
)
fast = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def published_counts(results, frame):
    """Each controlled count beside its input, for the cells that hold whole numbers."""
    counted = results["value_type"].isin(["proportion", "count", "rate"])
    pairs = [(results["denominator"], frame["denominator"])]
    pairs.append((results["numerator"][counted], frame["numerator"][counted]))
    for before, after in pairs:
        whole = before.notna() & (before == np.floor(before))
        yield from zip(before[whole], after[whole], strict=True)


def assert_safe_counts(results, frame, policy):
    for before, after in published_counts(results, frame):
        if policy == "nhs" and 1 <= before <= 7:
            assert np.isnan(after)
            continue
        assert not 1 <= after <= 7
        assert after % 5 == 0
        assert abs(after - before) <= (7 if before <= 7 else 2)


@fast
@given(tables, st.sampled_from(["nhs", "opensafely"]))
def test_published_counts_are_safe_and_figures_rest_on_them(results, policy):
    before = results.copy(deep=True)

    out = control(results, policy)

    frame = out.frame
    pd.testing.assert_frame_equal(results, before)  # the input is never changed
    assert_safe_counts(results, frame, policy)
    kind, num, den = frame["value_type"], frame["numerator"], frame["denominator"]
    for name, lower_upper in (
        ("proportion", wilson(num, den)),
        ("rate", exact_poisson(num, den, frame["multiplier"])),
    ):
        rows = (kind == name).to_numpy()
        expected = np.where(den > 0, num / den.where(den > 0), NAN) * (
            frame["multiplier"] if name == "rate" else 1
        )
        np.testing.assert_allclose(frame["value"][rows], expected[rows], rtol=1e-12)
        np.testing.assert_array_equal(frame["lower"][rows], lower_upper[0][rows])
        np.testing.assert_array_equal(frame["upper"][rows], lower_upper[1][rows])
    summary = ~kind.isin(["proportion", "count", "rate"]).to_numpy()
    hidden = frame["value_suppressed"].to_numpy()
    assert frame.loc[summary & hidden, ["value", "lower", "upper"]].isna().all().all()
    kept = summary & ~hidden
    pd.testing.assert_frame_equal(
        frame.loc[kept, ["value", "lower", "upper"]], results.loc[kept, ["value", "lower", "upper"]]
    )
    if policy == "nhs":
        assert frame.loc[hidden, "value"].isna().all()
    assert out.suppressed == hidden.sum()
    assert list(frame.columns) == [*results.columns, *FLAGS]


@fast
@given(tables)
def test_none_is_the_identity(results):
    before = results.copy(deep=True)

    out = control(results, "none")

    pd.testing.assert_frame_equal(out.frame[list(results.columns)], before)
    pd.testing.assert_frame_equal(results, before)
    assert not out.frame[FLAGS].any().any() and out.suppressed == 0


def test_a_value_over_no_records_is_withheld():
    # A total of 0 over 0 records discloses nothing; 37.5 "over 0 records" means the
    # denominator is not a record count, so nothing shows how few people are behind it.
    results = figures(("total", 0.0, 0), ("total", 37.5, 0))
    results["value"] = [0.0, 37.5]

    for policy in ("nhs", "opensafely"):
        frame = control(results, policy).frame
        assert frame["value_suppressed"].tolist() == [policy == "opensafely", True]
        assert np.isnan(frame["value"][1])
