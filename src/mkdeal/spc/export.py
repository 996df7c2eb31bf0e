"""`spc` results as tables and JSON-ready records, for `mkdeal spc` and other programs."""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from datetime import date

import pandas as pd

from mkdeal.spc.engine import SpcResult

POINT_COLUMNS = (
    "facet",
    "date",
    "value",
    "mean",
    "lower_process_limit",
    "upper_process_limit",
    "lower_two_sigma",
    "upper_two_sigma",
    "segment",
    "trial_limits",
    "point_type",
)


def _number(value: float) -> float | None:
    return None if value is None or math.isnan(value) else float(value)


def points_frame(result: SpcResult, dates: Sequence[date]) -> pd.DataFrame:
    """One row per point, in the result's order, dated as the input was."""
    frame = result.to_frame().rename(
        columns={
            "lower_limit": "lower_process_limit",
            "upper_limit": "upper_process_limit",
            "lower_near": "lower_two_sigma",
            "upper_near": "upper_two_sigma",
        }
    )
    frame["date"] = [d.isoformat() for d in dates]
    return frame[list(POINT_COLUMNS)]


def summary_records(
    result: SpcResult, target: float | Mapping[Hashable, float] | None = None
) -> list[dict]:
    """One record per facet: its last segment's mean and limits, and its icons."""
    records = []
    for label, summary in result.facets.items():
        facet_target = target.get(label) if isinstance(target, Mapping) else target
        records.append(
            {
                "facet": label,
                "points": summary.points,
                "mean": _number(summary.mean),
                "lower_process_limit": _number(summary.lower_limit),
                "upper_process_limit": _number(summary.upper_limit),
                "target": facet_target,
                "trial_limits": summary.trial_limits,
                "variation_icon": summary.variation_icon,
                "assurance_icon": summary.assurance_icon,
            }
        )
    return records


def point_records(result: SpcResult, dates: Sequence[date]) -> list[dict]:
    """`points_frame` as JSON-ready records: NaN becomes None."""
    frame = points_frame(result, dates).astype(object)
    frame = frame.where(pd.notna(frame), None)
    records = frame.to_dict(orient="records")
    for record in records:
        record["segment"] = int(record["segment"])
        record["trial_limits"] = bool(record["trial_limits"])
    return records
