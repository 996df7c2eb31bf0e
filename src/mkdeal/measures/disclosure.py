"""Statistical disclosure control at the publication boundary.

Pure: no I/O, no clock. `control(results, policy)` takes a tidy table of measure results
and returns what may be published under the policy, plus how many figures were suppressed.
Every figure shown is derived from the controlled counts, so no value or confidence
interval reveals a count the policy hides.

The table has one row per published figure, with columns ``measure_id``, ``value_type``
(see `VALUE_TYPES`), ``numerator``, ``denominator``, ``value``, ``lower`` and ``upper``;
optionally ``multiplier`` (rates are per `multiplier`, default 1) and ``total_of_squares``.
Proportions are fractions (numerator / denominator), never per cent. For means, medians
and totals the denominator is the record count.

What is controlled: the numerator and denominator of proportions, counts and rates, and
the record count of means, medians and totals; and only where they are whole numbers of
0 or more (a rate's person-years, say, is not a count and is left as it is). Proportions
and rates are recomputed as controlled numerator / controlled denominator (x multiplier
for rates only), with Wilson and exact Poisson intervals; counts get an exact Poisson
interval. Means, medians and totals over too few records (or an unknown number) are
withheld, and under either policy their ``numerator`` and ``total_of_squares`` are never
published: beside a mean the sum gives back the exact record count that rounding hides.
Under ``none`` the table is unchanged apart from the suppression columns (all False), so
every policy gives the same columns. A negative count is refused as a `UserError`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mkdeal.errors import UserError
from mkdeal.measures.definition import VALUE_TYPES
from mkdeal.measures.stats import exact_poisson, wilson

log = logging.getLogger("mkdeal.measures.disclosure")

POLICIES = ("none", "nhs", "opensafely")
POLICY_DESCRIPTIONS = {
    "none": "No control: every figure as calculated. For analysts only, never publication.",
    "nhs": (
        "NHS Digital's rule for Hospital Episode Statistics (HES analysis guide): 0 shown "
        "as 0, 1 to 7 suppressed (shown as *), every other count rounded to the nearest 5."
    ),
    "opensafely": (
        "OpenSAFELY's rule for research outputs: counts of 7 or fewer become 0, then every "
        "count is rounded to the nearest 5."
    ),
}
# Every value type but proportions, counts and rates is a summary, like a mean: shown only
# over more than SMALL records (for a daily mean, its days; for a ratio, the mean
# denominator).
REQUIRED_COLUMNS = (
    "measure_id",
    "value_type",
    "numerator",
    "denominator",
    "value",
    "lower",
    "upper",
)
FLAGS = ("numerator_suppressed", "denominator_suppressed", "value_suppressed")
SMALL = 7  # the largest count either policy hides


@dataclass(frozen=True)
class ControlledResults:
    """The publishable table and how many of its rows' values were suppressed.

    `frame` is a new table (the input is never changed) with the input's columns and the
    boolean columns ``numerator_suppressed``, ``denominator_suppressed`` and
    ``value_suppressed``: True where control withheld that figure (under ``nhs`` it is
    NaN; under ``opensafely`` a hidden count shows as 0 and a value that rests on it is
    flagged too). `suppressed` counts rows whose value is flagged.
    """

    frame: pd.DataFrame
    suppressed: int


def control(results: pd.DataFrame, policy: str) -> ControlledResults:
    """Apply disclosure control `policy` (one of `POLICIES`) to `results`."""
    if policy not in POLICIES:
        raise UserError(
            f"There is no disclosure control policy {policy!r}; choose one of "
            f"{', '.join(POLICIES)}."
        )
    _check(results)
    frame = results.copy()
    if policy == "none":
        for flag in FLAGS:
            frame[flag] = False
        return _done(frame, policy)

    kind = frame["value_type"].to_numpy()
    counted = np.isin(kind, ("proportion", "count", "rate"))
    num = frame["numerator"].to_numpy(float)
    den = frame["denominator"].to_numpy(float)
    mult = frame.get("multiplier", pd.Series(1.0, frame.index)).fillna(1).to_numpy(float)

    # Only counted rows' numerators are counts; a mean's is a sum (dropped below).
    num_shown, num_hidden = control_counts(np.where(counted, num, np.nan), policy)
    den_shown, den_hidden = control_counts(den, policy)

    value = frame["value"].to_numpy(float).copy()
    lower = frame["lower"].to_numpy(float).copy()
    upper = frame["upper"].to_numpy(float).copy()

    # Proportions, rates and counts: every figure recomputed from the controlled counts.
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(den_shown > 0, num_shown / den_shown, np.nan)
    for name, estimate, (low, high) in (
        ("proportion", ratio, wilson(num_shown, den_shown)),
        ("rate", ratio * mult, exact_poisson(num_shown, den_shown, mult)),
        ("count", num_shown, exact_poisson(num_shown)),
    ):
        rows = kind == name
        value[rows], lower[rows], upper[rows] = estimate[rows], low[rows], high[rows]
    value_hidden = np.where(kind == "count", num_hidden, num_hidden | den_hidden | (den_shown == 0))

    # Means, medians and totals: shown only over more than SMALL records; a missing record
    # count cannot be checked, so that value is withheld too.
    summary = ~counted
    few = summary & ~(den > SMALL)
    if policy == "nhs":
        # The NHS rule shows a 0 as 0; but a value over "0 records" means the denominator is
        # no record count, so that value is withheld too.
        few &= ~((den == 0) & ((value == 0) | np.isnan(value)))
    value_hidden = np.where(summary, few, value_hidden)
    for column in (value, lower, upper):
        column[few] = np.nan
    # Their sums are working columns: beside the mean, the sum gives the exact record count
    # that rounding hides (and for a total it is the value itself), so none are published.
    num_hidden = np.where(counted, num_hidden, summary & ~np.isnan(num))
    if "total_of_squares" in frame:
        frame["total_of_squares"] = np.where(summary, np.nan, frame["total_of_squares"])

    frame["numerator"], frame["denominator"] = num_shown, den_shown
    frame["value"], frame["lower"], frame["upper"] = value, lower, upper
    frame["numerator_suppressed"] = num_hidden.astype(bool)
    frame["denominator_suppressed"] = den_hidden
    frame["value_suppressed"] = value_hidden.astype(bool)
    return _done(frame, policy)


def control_counts(counts: np.ndarray, policy: str) -> tuple[np.ndarray, np.ndarray]:
    """Controlled counts and where a count was hidden; non-counts pass through unchanged."""
    # Beyond 2**53 a float is no exact count (and would overflow int64); not disclosive.
    whole = (np.abs(counts) < 2**53) & (counts == np.floor(counts))
    if (whole & (counts < 0)).any():
        raise UserError("Disclosure control found a negative count; counts cannot be below 0.")
    hidden = whole & (counts >= 1) & (counts <= SMALL)
    shown = counts.copy()
    # Nearest 5 in integer arithmetic: 5 * floor((n + 2.5) / 5) is 5 * ((n + 2) // 5) for
    # whole n, and no tie can arise, so there is no question of banker's rounding.
    shown[whole] = 5 * ((counts[whole].astype(np.int64) + 2) // 5)
    shown[hidden] = np.nan if policy == "nhs" else 0.0
    return shown, hidden


def _check(results: pd.DataFrame) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in results.columns]
    if missing:
        raise UserError(
            f"The results table has no column {', '.join(missing)}; disclosure control needs "
            f"{', '.join(REQUIRED_COLUMNS)}."
        )
    unknown = sorted(set(results["value_type"].astype(str)) - set(VALUE_TYPES))
    if unknown:
        raise UserError(
            f"The results table has value_type {', '.join(unknown)}, which disclosure control "
            f"does not know; use one of {', '.join(VALUE_TYPES)}."
        )


def _done(frame: pd.DataFrame, policy: str) -> ControlledResults:
    suppressed = int(frame["value_suppressed"].sum())
    # Counts only: never a row's values or identifiers.
    log.info(
        "Disclosure control (%s): %d of %d figures suppressed.", policy, suppressed, len(frame)
    )
    return ControlledResults(frame=frame, suppressed=suppressed)
