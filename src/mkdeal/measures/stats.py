"""Confidence intervals for published measures, vectorised over numpy arrays.

Pure: no I/O, no clock. Every function takes scalars or arrays (broadcast together) and
returns numpy values of the broadcast shape; where an interval is undefined (an empty
denominator, a missing input) it is NaN, never an exception or a warning.

The methods follow the Office for Health Improvement and Disparities' "Technical Guide:
Confidence Intervals" (first Public Health England's), which Fingertips uses: Wilson for
proportions, the exact (Garwood) method for counts and rates, Student's t for means; and
Newcombe's hybrid score method for a difference of two proportions.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.stats import chi2, norm, t

Float = NDArray[np.float64] | np.float64


@cache
def _z(confidence: float) -> float:
    _check(confidence)
    return float(norm.ppf(1 - (1 - confidence) / 2))


def _check(confidence: float) -> None:
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, not {confidence!r}")


def _out(array: NDArray[np.float64]) -> Float:
    # A 0-d result comes back as a numpy scalar, an n-d one as an array.
    return array[()]


def wilson(
    numerator: ArrayLike, denominator: ArrayLike, confidence: float = 0.95
) -> tuple[Float, Float]:
    """Wilson score interval for a proportion numerator / denominator.

    Wilson EB (1927) "Probable inference, the law of succession, and statistical
    inference", Journal of the American Statistical Association 22:209-212; as in OHID's
    "Technical Guide: Confidence Intervals" and statsmodels'
    ``proportion_confint(method="wilson")``. Bounds are fractions clipped to [0, 1];
    NaN where the denominator is 0 or either input is NaN.
    """
    z = _z(confidence)
    x, n = np.broadcast_arrays(np.asarray(numerator, float), np.asarray(denominator, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = x / n
        scale = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / scale
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / scale
        lower, upper = centre - half, centre + half
    # At 0/n and n/n the outer bound is exactly 0 or 1; floating point leaves ~1e-17.
    lower, upper = np.where(x == 0, 0.0, lower), np.where(x == n, 1.0, upper)
    undefined = ~(n > 0) | np.isnan(x)  # also catches NaN n
    lower = np.where(undefined, np.nan, np.clip(lower, 0, 1))
    upper = np.where(undefined, np.nan, np.clip(upper, 0, 1))
    return _out(lower), _out(upper)


def exact_poisson(
    count: ArrayLike,
    exposure: ArrayLike = 1.0,
    multiplier: ArrayLike = 1.0,
    confidence: float = 0.95,
) -> tuple[Float, Float]:
    """Exact (Garwood) interval for a Poisson count, or a rate count / exposure x multiplier.

    Garwood F (1936) "Fiducial limits for the Poisson distribution", Biometrika 28:437-442,
    through the chi-squared distribution: lower = chi2(alpha/2, 2k) / 2 (0 when k = 0),
    upper = chi2(1 - alpha/2, 2k + 2) / 2; as in OHID's "Technical Guide: Confidence
    Intervals" (Byar's method approximates it for large counts) and statsmodels'
    ``confint_poisson(method="exact-c")``. NaN where the exposure is 0 or NaN or the count
    is NaN.
    """
    _check(confidence)
    alpha = 1 - confidence
    k, e, m = np.broadcast_arrays(
        np.asarray(count, float), np.asarray(exposure, float), np.asarray(multiplier, float)
    )
    # chi2 with 0 degrees of freedom is NaN; the lower limit of a zero count is 0.
    lower = np.where(k == 0, 0.0, chi2.ppf(alpha / 2, 2 * k) / 2)
    upper = chi2.ppf(1 - alpha / 2, 2 * k + 2) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        lower, upper = lower * m / e, upper * m / e
    undefined = (e == 0) | np.isnan(e) | np.isnan(k)
    lower = np.where(undefined, np.nan, lower)
    upper = np.where(undefined, np.nan, upper)
    return _out(lower), _out(upper)


def newcombe(
    n1: ArrayLike, d1: ArrayLike, n2: ArrayLike, d2: ArrayLike, confidence: float = 0.95
) -> tuple[Float, Float, Float]:
    """Difference p1 - p2 of two independent proportions (n1/d1 - n2/d2) and its interval.

    Newcombe's method 10, the hybrid score interval built from each proportion's Wilson
    interval: Newcombe RG (1998) "Interval estimation for the difference between
    independent proportions: comparison of eleven methods", Statistics in Medicine
    17:873-890; as statsmodels' ``confint_proportions_2indep(method="newcomb")``.
    Returns (difference, lower, upper); NaN where either denominator is 0 or any input NaN.
    """
    x1, m1, x2, m2 = np.broadcast_arrays(*(np.asarray(a, float) for a in (n1, d1, n2, d2)))
    l1, u1 = (np.asarray(b) for b in wilson(x1, m1, confidence))
    l2, u2 = (np.asarray(b) for b in wilson(x2, m2, confidence))
    with np.errstate(divide="ignore", invalid="ignore"):
        p1, p2 = x1 / m1, x2 / m2
    difference = p1 - p2
    lower = difference - np.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    upper = difference + np.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    # The Wilson bounds are NaN exactly where a proportion is undefined; carry that over.
    undefined = np.isnan(l1) | np.isnan(l2)
    return tuple(_out(np.where(undefined, np.nan, a)) for a in (difference, lower, upper))


def mean_interval(
    total: ArrayLike, total_of_squares: ArrayLike, count: ArrayLike, confidence: float = 0.95
) -> tuple[Float, Float]:
    """Student's t interval for the mean (total / count) of `count` values, from sums.

    Student (1908) "The probable error of a mean", Biometrika 6:1-25: mean +/- t(n - 1)
    x s / sqrt(n), with s the sample standard deviation (divisor n - 1); as in OHID's
    "Technical Guide: Confidence Intervals". Returns (lower, upper); NaN where the count is
    below 2 or an input is NaN.
    """
    _check(confidence)
    s, ss, n = np.broadcast_arrays(
        *(np.asarray(a, float) for a in (total, total_of_squares, count))
    )
    undefined = ~(n >= 2) | np.isnan(s) | np.isnan(ss)
    n_safe = np.where(undefined, 2.0, n)  # keeps the arithmetic quiet; results masked below
    s_safe, ss_safe = np.where(undefined, 0.0, s), np.where(undefined, 0.0, ss)
    mean = s_safe / n_safe
    # Rounding can leave a tiny negative variance when all values are equal; it is 0.
    variance = np.maximum((ss_safe - s_safe * mean) / (n_safe - 1), 0.0)
    half = t.ppf(1 - (1 - confidence) / 2, n_safe - 1) * np.sqrt(variance / n_safe)
    return tuple(_out(np.where(undefined, np.nan, a)) for a in (mean - half, mean + half))
