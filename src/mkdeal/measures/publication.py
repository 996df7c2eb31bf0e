"""What a snapshot holds for the measures, from the engine's results. Pure: no I/O.

For every result: the unrounded figures (`measure_results`, for analysts), the figures
under each disclosure policy (`measure_results_nhs`, `measure_results_opensafely`), and
the SPC output of every series that does not overlap (`measure_spc` per point and
`measure_spc_summary` per series), and the deprivation gaps of the measures that publish
one (`measure_gaps`, `measure_gaps_nhs` from the controlled counts, and
`measure_gap_notes` for windows left out), so that pages never recompute. SPC runs on the
unrounded values, as NHS England's Making Data Count does; pages that show a chart to
people without the analyst's permission must plot the controlled values against these
limits (a later issue: the dashboard).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from mkdeal.measures.definition import Measure
from mkdeal.measures.disclosure import control
from mkdeal.measures.gaps import EXTREMES, GAP_COLUMNS, POOLS, deprivation_gaps
from mkdeal.measures.periods import SPC_FREQ
from mkdeal.spc import spc
from mkdeal.spc.export import points_frame

SERIES_KEYS = ("measure_id", "frequency", "breakdown", "breakdown_version", "group")
PUBLISHED_POLICIES = ("nhs", "opensafely")


@dataclass(frozen=True)
class SpcSettings:
    """What SPC needs of a measure: its improvement direction and target (none when neutral)."""

    improvement: str
    target: float | None

    @classmethod
    def of(cls, measure: Measure) -> SpcSettings:
        target = None if measure.target is None else measure.target.value
        return cls(measure.improvement, None if measure.improvement == "neutral" else target)

    @classmethod
    def from_definition(cls, definition: Mapping) -> SpcSettings:
        """From a published definition row (`measure_definitions`), as reports read it."""
        target = definition.get("target")
        target = None if target is None or pd.isna(target) else float(target)
        improvement = definition["improvement"]
        return cls(improvement, None if improvement == "neutral" else target)


def spc_tables(results: pd.DataFrame, settings: Mapping[str, SpcSettings]):
    """Per-point SPC and per-series summaries of every series that does not overlap."""
    points, summaries = [], []
    usable = results[~results["overlapping"].astype(bool)]
    for (measure_id, frequency), frame in usable.groupby(["measure_id", "frequency"], sort=True):
        measure = settings.get(measure_id)
        if measure is None:
            continue
        frame = frame.sort_values(["breakdown", "breakdown_version", "group", "period_start"])
        labels = (
            frame["breakdown"] + "|" + frame["breakdown_version"] + "|" + frame["group"]
        ).tolist()
        target = measure.target
        result = spc(
            pd.to_datetime(frame["period_start"]),
            frame["value"].to_numpy(dtype=float),
            improvement=measure.improvement,
            target=target,
            facets=labels,
            freq=SPC_FREQ[frequency],
        )
        # spc keeps the order it was given, so its rows line up with `frame`'s.
        table = points_frame(result, list(frame["period_start"])).drop(columns=["facet", "date"])
        keys = frame[[*SERIES_KEYS, "period_start"]].reset_index(drop=True)
        points.append(pd.concat([keys, table.reset_index(drop=True)], axis=1))
        for label, summary in result.facets.items():
            breakdown, version, group = label.split("|", 2)
            summaries.append(
                {
                    "measure_id": measure_id,
                    "frequency": frequency,
                    "breakdown": breakdown,
                    "breakdown_version": version,
                    "group": group,
                    "points": summary.points,
                    "mean": summary.mean,
                    "lower_process_limit": summary.lower_limit,
                    "upper_process_limit": summary.upper_limit,
                    "target": target,
                    "trial_limits": summary.trial_limits,
                    "variation_icon": summary.variation_icon,
                    "assurance_icon": summary.assurance_icon,
                }
            )
    point_frame = pd.concat(points, ignore_index=True) if points else pd.DataFrame()
    return point_frame, pd.DataFrame(summaries)


def publication_tables(
    results: pd.DataFrame,
    measures: Mapping[str, Measure],
    comparators: pd.DataFrame | None = None,
) -> dict[str, pa.Table]:
    """Every measure table a snapshot holds, as Arrow tables. Official comparator values
    (already published by others, so not controlled again) go in `measure_comparators`."""
    results = results.drop(columns=["fingerprint"], errors="ignore").reset_index(drop=True)
    tables = {
        "measure_definitions": pa.Table.from_pylist(
            [_flat(measure.describe()) for measure in measures.values()]
        ),
        "measure_results": _arrow(results),
    }
    for policy in PUBLISHED_POLICIES:
        tables[f"measure_results_{policy}"] = _arrow(control(results, policy).frame)
    points, summaries = spc_tables(
        results, {measure_id: SpcSettings.of(m) for measure_id, m in measures.items()}
    )
    tables["measure_spc"] = _arrow(points)
    tables["measure_spc_summary"] = _arrow(summaries)
    gaps, notes = gap_tables(results, measures)
    tables["measure_gaps"] = _arrow(gaps)
    tables["measure_gap_notes"] = _arrow(notes)
    # The public gap is worked out from controlled pooled counts, like every public figure.
    tables["measure_gaps_nhs"] = _arrow(gap_tables(results, measures, policy="nhs")[0])
    if comparators is not None and not comparators.empty:
        tables["measure_comparators"] = _arrow(comparators)
    return tables


def gap_tables(results: pd.DataFrame, measures: Mapping[str, Measure], policy: str = "none"):
    """Every deprivation gap a measure publishes (decile and quintile, pooled over 1, 3 and
    5 periods, each period on the index current at its end), and the sentences for the
    windows left out because they would mix indices."""
    frames, notes = [], []
    for measure in measures.values():
        if not measure.deprivation_gap or results.empty:
            continue
        for breakdown in EXTREMES:
            for pool in POOLS:
                series = deprivation_gaps(
                    results,
                    measure.id,
                    frequency=measure.frequency,
                    breakdown=breakdown,
                    pool=pool,
                    policy=policy,
                )
                frames.append(series.frame)
                notes.extend(
                    {
                        "measure_id": measure.id,
                        "breakdown": breakdown,
                        "pool": pool,
                        "period_end": end,
                        "note": sentence,
                    }
                    for end, sentence in series.refused.items()
                )
    frames = [f for f in frames if not f.empty]
    gaps = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=GAP_COLUMNS)
    return gaps, pd.DataFrame(
        notes, columns=["measure_id", "breakdown", "pool", "period_end", "note"]
    )


def _flat(description: dict) -> dict:
    """Lists as text joined by "; ", so every definition has the same simple columns."""
    return {
        key: "; ".join(value) if isinstance(value, list) else value
        for key, value in description.items()
    }


def _arrow(frame: pd.DataFrame) -> pa.Table:
    return pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
