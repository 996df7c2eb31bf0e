"""The deprivation gap: a proportion in the most deprived areas minus the least deprived.

Pure: no I/O. From the engine's results by `imd_decile` or `imd_quintile` (numerators and
denominators per period and group), the gap is the most deprived group's proportion
(decile or quintile 1) minus the least deprived's (10 or 5), in percentage points, with
Newcombe's hybrid score interval (method 10) for a difference of two independent
proportions, computed from the same counts (`stats.newcombe`). Single years of deciles
in one place are small, so counts may be pooled over 3 or 5 consecutive periods: the
numerators and denominators of each group are summed over the window before the
proportions are taken.

Which index: as the NCMP publications do (NHS England, NCMP 2023/24, "Deprivation"),
each year uses the English Indices of Deprivation current at the end of its collection
year: IMD 2019 (published 26 September 2019) until IoD2025 (published 30 October 2025)
replaced it, so 2024/25 (ending 31 August 2025) uses IMD 2019 and 2025/26 uses IoD2025.
The two indices are not directly comparable (MHCLG, English Indices of Deprivation 2025,
Technical report), so a pooled figure never mixes them: a window spanning the change is
refused with a sentence saying why, and a series leaves such windows out and says so.
Asked for one named index, every period uses that index.

The synthetic Milton Keynes has its own index, "synthetic", valid for every year; it is
used only when no published index was loaded (or when named).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from mkdeal.errors import UserError
from mkdeal.measures.disclosure import POLICIES, control_counts
from mkdeal.measures.stats import newcombe

# When each index was published: a period whose end falls on or after this date (and
# before the next index's) uses it. Sources: GOV.UK statistical releases (see the module
# docstring).
INDEX_PUBLISHED = {
    "imd2019": date(2019, 9, 26),
    "iod2025": date(2025, 10, 30),
}
INDEX_NAMES = {
    "imd2019": "IMD 2019 (English Indices of Deprivation 2019, on LSOA 2021 via the ONS lookup)",
    "iod2025": "IoD2025 (English Indices of Deprivation 2025)",
    "synthetic": "the synthetic Milton Keynes index",
}
EXTREMES = {"imd_decile": ("1", "10"), "imd_quintile": ("1", "5")}
POOLS = (1, 3, 5)
COUNT_COLUMNS = (
    "most_deprived_numerator",
    "most_deprived_denominator",
    "least_deprived_numerator",
    "least_deprived_denominator",
)
GAP_COLUMNS = (
    "measure_id",
    "frequency",
    "breakdown",
    "imd_version",
    "index_rule",
    "pool",
    "period_start",
    "period_end",
    "periods",
    "most_deprived_numerator",
    "most_deprived_denominator",
    "most_deprived_value",
    "least_deprived_numerator",
    "least_deprived_denominator",
    "least_deprived_value",
    "gap",
    "lower",
    "upper",
)


class MixedIndexError(UserError):
    """A pooled figure was asked for across a change of deprivation index."""


@dataclass(frozen=True)
class GapSeries:
    """The gaps (one row per window, columns `GAP_COLUMNS`; proportions as fractions,
    the gap and its interval in percentage points) and sentences about windows left out."""

    frame: pd.DataFrame
    notes: tuple[str, ...]
    # The sentence for each window left out, by the end date of its last period.
    refused: dict[date, str]


def index_for_period(period_end: date, versions: list[str]) -> str | None:
    """The loaded index current at `period_end`: the latest published on or before it.
    The synthetic index stands in for every period only when no published one is loaded."""
    published = [v for v in versions if v in INDEX_PUBLISHED]
    if not published:
        return "synthetic" if "synthetic" in versions else None
    current = [v for v in published if INDEX_PUBLISHED[v] <= period_end]
    return max(current, key=INDEX_PUBLISHED.__getitem__) if current else None


def period_label(start: date, end: date, frequency: str) -> str:
    """2024/25 for an academic or financial year, else the dates."""
    if frequency in ("academic_year", "financial_year"):
        return f"{start.year}/{str(end.year)[2:]}"
    return f"{start.isoformat()} to {end.isoformat()}"


def deprivation_gaps(
    results: pd.DataFrame,
    measure_id: str,
    *,
    frequency: str,
    breakdown: str = "imd_decile",
    pool: int = 1,
    imd_version: str | None = None,
    policy: str = "none",
    confidence: float = 0.95,
) -> GapSeries:
    """The gap for every window of `pool` consecutive periods of `frequency` that the
    results hold, each on one index (see the module docstring).

    `results` hold unrounded counts. Under a disclosure `policy` other than "none" each
    window's pooled counts are controlled as one published figure would be (pooling is
    how small single years become publishable) and the proportions and gap are worked
    out from the controlled counts, so nothing shown reveals a hidden count."""
    if breakdown not in EXTREMES:
        raise UserError(f"A deprivation gap is by imd_decile or imd_quintile, not {breakdown!r}.")
    if pool not in POOLS:
        raise UserError(f"Pool 1, 3 or 5 periods, not {pool}.")
    if policy not in POLICIES:
        raise UserError(f"There is no disclosure control policy {policy!r}.")
    rows = results[
        (results["measure_id"] == measure_id)
        & (results["frequency"] == frequency)
        & (results["breakdown"] == breakdown)
    ]
    versions = sorted(set(rows["breakdown_version"]))
    if imd_version is not None and imd_version not in versions:
        loaded = ", ".join(versions) or "none"
        raise UserError(
            f"{measure_id} has no results by {breakdown} on the index {imd_version!r}; the "
            f"indices with results are: {loaded}."
        )
    periods = sorted(set(zip(rows["period_start"], rows["period_end"], strict=True)))
    chosen = {period: imd_version or index_for_period(period[1], versions) for period in periods}
    most, least = EXTREMES[breakdown]
    counts = rows[rows["group"].isin([most, least])].set_index(
        ["period_start", "breakdown_version", "group"]
    )[["numerator", "denominator"]]

    records, refused = [], {}
    for i in range(pool - 1, len(periods)):
        window = periods[i - pool + 1 : i + 1]
        label = _window_label(window, frequency)
        used = [chosen[p] for p in window]
        if None in used:
            refused[window[-1][1]] = (
                f"{label}: no loaded index was current at the end of "
                f"{period_label(*window[used.index(None)], frequency)}, so there is no gap."
            )
            continue
        if len(set(used)) > 1:
            refused[window[-1][1]] = mixed_index_sentence(label, window, used, frequency)
            continue
        version = used[0]
        sums = {}
        for group in (most, least):
            keys = [(p[0], version, group) for p in window]
            present = counts.reindex(keys)
            sums[group] = (
                present["numerator"].sum(min_count=len(keys)),
                present["denominator"].sum(min_count=len(keys)),
            )
        records.append(
            _gap_row(measure_id, frequency, breakdown, version, imd_version, pool, window, sums)
        )
    frame = pd.DataFrame(records, columns=list(GAP_COLUMNS))
    if policy != "none":
        for column in COUNT_COLUMNS:
            frame[column] = control_counts(frame[column].to_numpy(float), policy)[0]
    if not frame.empty:
        n1, d1 = frame["most_deprived_numerator"], frame["most_deprived_denominator"]
        n2, d2 = frame["least_deprived_numerator"], frame["least_deprived_denominator"]
        usable = (d1 > 0) & (d2 > 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            frame["most_deprived_value"] = np.where(d1 > 0, n1 / d1, np.nan)
            frame["least_deprived_value"] = np.where(d2 > 0, n2 / d2, np.nan)
        gap, lower, upper = newcombe(
            n1.where(usable, 0).to_numpy(float),
            d1.where(usable, 1).to_numpy(float),
            n2.where(usable, 0).to_numpy(float),
            d2.where(usable, 1).to_numpy(float),
            confidence,
        )
        for column, values in (("gap", gap), ("lower", lower), ("upper", upper)):
            frame[column] = np.where(usable, np.asarray(values, dtype=float) * 100, np.nan)
    return GapSeries(frame=frame, notes=tuple(refused.values()), refused=refused)


def pooled_gap(
    results: pd.DataFrame,
    measure_id: str,
    *,
    frequency: str,
    last_period_start: date,
    breakdown: str = "imd_decile",
    pool: int = 1,
    imd_version: str | None = None,
    policy: str = "none",
) -> pd.Series:
    """One window's gap: the `pool` periods ending with the one starting on
    `last_period_start`. A window spanning a change of index is refused."""
    series = deprivation_gaps(
        results,
        measure_id,
        frequency=frequency,
        breakdown=breakdown,
        pool=pool,
        imd_version=imd_version,
        policy=policy,
    )
    ends = results.loc[
        (results["measure_id"] == measure_id)
        & (results["frequency"] == frequency)
        & (results["period_start"] == last_period_start),
        "period_end",
    ]
    end = ends.iloc[0] if len(ends) else None
    if end in series.refused:
        sentence = series.refused[end]
        raise (MixedIndexError if "not comparable" in sentence else UserError)(sentence)
    found = series.frame[series.frame["period_end"] == end]
    if end is None or found.empty:
        raise UserError(
            f"There are no {frequency.replace('_', ' ')} results for {measure_id} by "
            f"{breakdown} for {pool} period(s) ending with the one starting "
            f"{last_period_start.isoformat()}."
        )
    return found.iloc[0]


def mixed_index_sentence(label: str, window, used: list[str], frequency: str) -> str:
    by_version: dict[str, list[str]] = {}
    for period, version in zip(window, used, strict=True):
        by_version.setdefault(version, []).append(period_label(*period, frequency))
    parts = "; ".join(f"{INDEX_NAMES[v]} for {', '.join(p)}" for v, p in by_version.items())
    return (
        f"{label} would pool years on different deprivation indices ({parts}). The indices "
        "are not comparable, so mkdeal does not pool across them: pool fewer years, or "
        "name one index (--imd-version) for every year."
    )


def _gap_row(measure_id, frequency, breakdown, version, named, pool, window, sums) -> dict:
    most, least = EXTREMES[breakdown]
    return {
        "measure_id": measure_id,
        "frequency": frequency,
        "breakdown": breakdown,
        "imd_version": version,
        "index_rule": "named index for every period"
        if named
        else "index current at the end of each period",
        "pool": pool,
        "period_start": window[0][0],
        "period_end": window[-1][1],
        "periods": _window_label(window, frequency),
        "most_deprived_numerator": sums[most][0],
        "most_deprived_denominator": sums[most][1],
        "least_deprived_numerator": sums[least][0],
        "least_deprived_denominator": sums[least][1],
    }


def _window_label(window, frequency: str) -> str:
    last = period_label(*window[-1], frequency)
    if len(window) == 1:
        return last
    return f"{_pool_words(len(window))} ending {last}"


def _pool_words(pool: int) -> str:
    return f"{pool} periods pooled" if pool > 1 else "one period"
