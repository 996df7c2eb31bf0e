"""Confidence intervals against statsmodels 0.15.0 and published values.

statsmodels is the independent calculation: golden comparisons use a relative tolerance
of 1e-9 (absolute 1e-12 for bounds at 0). Published values are checked to the decimals
printed in the source.
"""

import numpy as np
import pytest
from scipy import stats as scipy_stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint
from statsmodels.stats.rates import confint_poisson

from mkdeal.measures.stats import exact_poisson, mean_interval, newcombe, wilson

TOL = {"rtol": 1e-9, "atol": 1e-12}
CASES = [(0, 1), (0, 10), (1, 10), (3, 10), (10, 10), (1, 2), (56, 70), (48, 80), (999, 1000)]
CASES += [(7, 12345), (5000, 10000), (1, 1)]


@pytest.mark.parametrize("confidence", [0.95, 0.998])
def test_wilson_matches_statsmodels(confidence):
    x, n = (np.array(column) for column in zip(*CASES, strict=True))

    lower, upper = wilson(x, n, confidence)

    expected = proportion_confint(x, n, alpha=1 - confidence, method="wilson")
    np.testing.assert_allclose(lower, expected[0], **TOL)
    np.testing.assert_allclose(upper, expected[1], **TOL)


def test_wilson_edges():
    lower, upper = wilson([0, 0, 7, 7, np.nan, 3], [0, 7, 7, np.nan, 5, 0])

    np.testing.assert_array_equal(np.isnan(lower), [True, False, False, True, True, True])
    assert lower[1] == 0 and upper[2] == 1  # 0/n starts at 0, n/n ends at 1: clipped
    assert 0 < upper[1] < 1 and 0 < lower[2] < 1


def test_wilson_scalar_in_scalar_out():
    lower, upper = wilson(3, 10)

    assert np.ndim(lower) == 0 and np.ndim(upper) == 0
    # Newcombe (1998, Statistics in Medicine 17:857) lists no 3/10, so statsmodels again.
    np.testing.assert_allclose((lower, upper), proportion_confint(3, 10, method="wilson"), **TOL)


def test_exact_poisson_matches_statsmodels():
    counts = np.array([0, 1, 2, 5, 10, 33, 100, 1000])

    lower, upper = exact_poisson(counts)

    expected = confint_poisson(counts, 1, method="exact-c")
    np.testing.assert_allclose(upper, expected[1], **TOL)
    # statsmodels gives NaN as the lower limit of 0; Garwood's is 0.
    assert lower[0] == 0
    np.testing.assert_allclose(lower[1:], expected[0][1:], **TOL)


def test_exact_poisson_published_values():
    # Garwood limits as tabulated (e.g. OHID's Technical Guide), to the decimals printed.
    lower, upper = exact_poisson([0, 1, 10])

    np.testing.assert_allclose(lower, [0, 0.0253, 4.795], atol=5e-4)
    np.testing.assert_allclose(upper, [3.689, 5.572, 18.39], atol=5e-3)


def test_exact_poisson_rate_scales_by_exposure_and_multiplier():
    lower, upper = exact_poisson([10, 10, 10, np.nan, 0], [2000, 0, np.nan, 10, 0], 100_000)

    count_lower, count_upper = exact_poisson(10)
    np.testing.assert_allclose([lower[0], upper[0]], [count_lower * 50, count_upper * 50], **TOL)
    assert np.isnan(lower[1:]).all() and np.isnan(upper[1:]).all()


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "published"),
    [
        # Newcombe (1998) Table II, method 10, to four decimals.
        (56, 70, 48, 80, (0.0524, 0.3339)),
        (9, 10, 3, 10, (0.1705, 0.8090)),
        (5, 56, 0, 29, (-0.0381, 0.1926)),
        (6, 7, 2, 7, None),
        (0, 10, 0, 20, None),
        (10, 10, 0, 20, None),
        (3, 12345, 1, 2, None),
    ],
)
def test_newcombe_matches_statsmodels_and_paper(x1, n1, x2, n2, published):
    difference, lower, upper = newcombe(x1, n1, x2, n2)

    expected = confint_proportions_2indep(x1, n1, x2, n2, method="newcomb", compare="diff")
    assert difference == pytest.approx(x1 / n1 - x2 / n2, rel=1e-12, abs=1e-15)
    np.testing.assert_allclose((lower, upper), expected, **TOL)
    if published:
        np.testing.assert_allclose((lower, upper), published, atol=5e-5)


def test_newcombe_vectorised_with_undefined_rows():
    difference, lower, upper = newcombe([56, 1, 1], [70, 0, 5], [48, 1, 1], [80, 5, np.nan])

    assert lower[0] == pytest.approx(0.05243147, abs=1e-8)
    for result in (difference, lower, upper):
        assert np.isnan(result[1:]).all()


def test_mean_interval_matches_t_interval():
    rng = np.random.default_rng(17)
    for n in (2, 3, 8, 50, 1000):
        values = rng.normal(40, 12, n)

        lower, upper = mean_interval(values.sum(), (values**2).sum(), n, 0.9)

        expected = scipy_stats.t.interval(
            0.9, n - 1, loc=values.mean(), scale=scipy_stats.sem(values)
        )
        # Sums of squares lose a few digits to cancellation; 1e-9 relative still holds here.
        np.testing.assert_allclose((lower, upper), expected, rtol=1e-9)


def test_mean_interval_edges():
    lower, upper = mean_interval([5, 5, 10, np.nan, 8], [25, 25, 50, 1, 32], [1, 0, 2, 2, 2])

    assert np.isnan(lower[[0, 1, 3]]).all() and np.isnan(upper[[0, 1, 3]]).all()
    # Two equal values: no spread, so the interval is the point.
    assert lower[2] == upper[2] == 5 and lower[4] == upper[4] == 4


def test_confidence_outside_0_1_is_refused():
    with pytest.raises(ValueError, match="confidence"):
        wilson(1, 2, confidence=95)
