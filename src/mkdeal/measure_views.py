"""What published measures look like to a viewer, from the published snapshot only: the
dashboard's measure cards, measure pages, their charts (Vega-Lite specs made with Altair)
and downloads, which the board report (`mkdeal.reports`) reuses.

Who sees what: a viewer with `measures.view_unsuppressed` sees the unrounded figures
(`measure_results`, `measure_gaps`); everyone else sees the `nhs` disclosure-controlled
ones (`measure_results_nhs`, `measure_gaps_nhs`) in tables, charts and downloads alike,
and groups whose denominator is suppressed are hidden. SPC limits and point colours come
from the published SPC, computed on unrounded values as Making Data Count does; the points
drawn are the values the viewer may see.

The snapshot's tables are read once per snapshot id and kept in memory, so a page is a few
pandas selections on small frames.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import altair as alt
import numpy as np
import pandas as pd

from mkdeal.measures.periods import SPC_FREQ
from mkdeal.publish import current_snapshot_id, open_snapshot
from mkdeal.spc.chart import (
    ASSURANCE_ICONS,
    AXIS_FORMAT,
    POINT_LABELS,
    VARIATION_ICONS,
    facet_chart,
)

ANNUAL = ("financial_year", "academic_year")
FREQUENCY_WORDS = {
    "day": "daily",
    "week": "weekly",
    "month": "monthly",
    "quarter": "quarterly",
    "financial_year": "financial year",
    "academic_year": "academic year",
    "rolling_12_months": "rolling 12 months",
}
ASSURANCE_WORDS = {
    "consistent_pass": "the target is consistently met",
    "consistent_fail": "the target is consistently not met",
    "hit_and_miss": "the target is not consistently met",
}
BREAKDOWN_NAMES = {
    "imd_decile": "Deprivation decile (1 is most deprived)",
    "imd_quintile": "Deprivation quintile (1 is most deprived)",
    "age_band": "Age band",
    "sex": "Sex (person stated gender code)",
    "ethnic_group": "Ethnic group",
    "pcn": "Primary Care Network",
    "site": "Hospital site",
}
_TABLES = (
    "measure_definitions",
    "measure_results",
    "measure_results_nhs",
    "measure_spc",
    "measure_spc_summary",
    "measure_gaps",
    "measure_gaps_nhs",
    "measure_comparators",
    "measure_gap_notes",
    "loads",
    "quarantine_summary",
    "deal_priorities",
)


@dataclass(frozen=True)
class Published:
    """The measure tables of one snapshot, as pandas frames."""

    snapshot_id: str
    tables: dict[str, pd.DataFrame]
    # Cards and pages already worked out: a snapshot never changes, so neither do they.
    memo: dict = field(default_factory=dict)

    def remembered(self, key: tuple, work):
        if key not in self.memo:
            self.memo[key] = work()
        return self.memo[key]

    def table(self, name: str) -> pd.DataFrame:
        return self.tables.get(name, pd.DataFrame())

    def definition(self, measure_id: str) -> dict | None:
        found = self.table("measure_definitions")
        if found.empty:
            return None
        rows = found[found["id"] == measure_id]
        return None if rows.empty else rows.iloc[0].to_dict()


_cache: dict[str, Published] = {}
_lock = threading.Lock()


def published(data_dir: Path) -> Published | None:
    """The current snapshot's measure tables (read once per snapshot), or None."""
    snapshot_id = current_snapshot_id(data_dir)
    if snapshot_id is None:
        return None
    with _lock:
        if snapshot_id not in _cache:
            read = read_published(data_dir, snapshot_id)
            _cache.clear()  # one snapshot at a time is enough
            _cache[snapshot_id] = read
        return _cache[snapshot_id]


def read_published(data_dir: Path, snapshot_id: str | None = None) -> Published:
    """The measure tables of a snapshot (the current one unless named), read afresh."""
    snapshot = open_snapshot(data_dir, snapshot_id)
    tables = {
        name: snapshot.table(name).to_pandas() for name in _TABLES if name in snapshot.table_names
    }
    return Published(snapshot.id, tables)


# --- Figures as a viewer may see them -----------------------------------------------------


def results_for(data: Published, measure_id: str, unsuppressed: bool) -> pd.DataFrame:
    name = "measure_results" if unsuppressed else "measure_results_nhs"
    frame = data.table(name)
    if frame.empty:
        return frame
    frame = frame[frame["measure_id"] == measure_id].copy()
    if not unsuppressed:
        # A group whose denominator is hidden is left out altogether.
        frame = frame[~frame["denominator_suppressed"].astype(bool)]
    return frame.drop(columns=["total_of_squares"], errors="ignore")


def headline(data: Published, definition: dict, unsuppressed: bool) -> pd.DataFrame:
    """The overall series at the measure's own frequency, oldest first."""
    frame = results_for(data, definition["id"], unsuppressed)
    if frame.empty:
        return frame
    frame = frame[(frame["frequency"] == definition["frequency"]) & (frame["breakdown"] == "all")]
    return frame.sort_values("period_start").reset_index(drop=True)


def scale_of(definition: dict) -> float:
    return 100.0 if definition["unit"] == "%" else 1.0  # proportions and ratios in per cent


def shown(value, definition: dict, suppressed: bool = True) -> str:
    """A value for reading: per cent to one place, counts whole, others to 3 figures; "*"
    where disclosure control withheld it, "-" where there is none (0 of 0)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "*" if suppressed else "-"
    scaled = value * scale_of(definition)
    if definition["unit"] == "%":
        return f"{scaled:.1f}%"
    if definition["value_type"] == "count" or float(scaled).is_integer():
        return f"{scaled:,.0f}"
    return f"{scaled:,.3g}" if abs(scaled) < 1000 else f"{scaled:,.0f}"


def count_text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "*"
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"


def period_label(start: date, end: date, frequency: str) -> str:
    if frequency in ANNUAL:
        return f"{start.year}/{str(end.year)[2:]}"
    if frequency == "month":
        return start.strftime("%b %Y")
    if frequency == "quarter":
        return f"{start.strftime('%b')} to {end.strftime('%b %Y')}"
    if frequency == "rolling_12_months":
        return f"12 months to {end.strftime('%b %Y')}"
    return start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"


# --- SPC summaries -----------------------------------------------------------------------


@dataclass(frozen=True)
class SpcStatus:
    """What the SPC says about a series, in words; no icons where SPC does not apply."""

    applies: bool
    variation: str | None
    assurance: str | None
    reason: str  # why there are no icons, where there are none
    summary: str  # the sentence shown beside the chart


def spc_status(data: Published, definition: dict) -> SpcStatus:
    frequency = definition["frequency"]
    if frequency in ANNUAL:
        reason = (
            "Annual figures are shown as a plain line: a few yearly points are too few for "
            "SPC limits, so there are no SPC icons."
        )
        return SpcStatus(False, None, None, reason, reason)
    if frequency == "rolling_12_months":
        reason = "Rolling 12-month figures overlap, so SPC does not apply: a plain line, no icons."
        return SpcStatus(False, None, None, reason, reason)
    summaries = data.table("measure_spc_summary")
    rows = (
        summaries[
            (summaries["measure_id"] == definition["id"])
            & (summaries["frequency"] == frequency)
            & (summaries["breakdown"] == "all")
        ]
        if not summaries.empty
        else summaries
    )
    if rows.empty or rows.iloc[0]["variation_icon"] is None:
        points = 0 if rows.empty else int(rows.iloc[0]["points"])
        counted = f"{points} point{'' if points == 1 else 's'}"
        reason = f"Not enough data for SPC yet ({counted}; icons need 12 or more)."
        return SpcStatus(True, None, None, reason, reason)
    row = rows.iloc[0]
    variation = row["variation_icon"]
    assurance = row["assurance_icon"] if isinstance(row["assurance_icon"], str) else None
    words = VARIATION_ICONS[variation][2]
    target_words = ASSURANCE_WORDS[assurance] if assurance else "there is no target"
    return SpcStatus(True, variation, assurance, "", f"{words}; {target_words}.")


def icon(kind: str, name: str | None) -> dict | None:
    """An icon's letter, colour and caption (the caption is always shown as text)."""
    if name is None:
        return None
    table = VARIATION_ICONS if kind == "variation" else ASSURANCE_ICONS
    letter, colour, caption = table[name]
    return {"letter": letter, "colour": colour, "caption": caption, "name": name}


# --- Charts --------------------------------------------------------------------------------


def spec_json(chart: alt.TopLevelMixin, description: str = "") -> str:
    """The chart's Vega-Lite spec as JSON safe inside a <script> element. The description
    becomes the drawn chart's accessible name."""
    spec = chart.to_dict()
    if description:
        spec["description"] = description
    text = json.dumps(spec, separators=(",", ":"), allow_nan=False, default=str)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def sparkline(series: pd.DataFrame, definition: dict) -> str:
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(series["period_start"]).dt.strftime("%Y-%m-%d"),
            "value": series["value"].to_numpy(float) * scale_of(definition),
        }
    ).dropna()
    chart = (
        alt.Chart(frame)
        .mark_line(color="#005eb8", strokeWidth=2)
        .encode(
            x=alt.X("date:T", axis=None), y=alt.Y("value:Q", axis=None, scale=alt.Scale(zero=False))
        )
        .properties(width=220, height=48)
        .configure_view(stroke=None)
    )
    return spec_json(chart)


def measure_chart(
    data: Published, definition: dict, series: pd.DataFrame, status: SpcStatus
) -> str:
    """The measure's chart: the MDC SPC chart where SPC applies, else a plain line; the
    official comparator values, where loaded, as their own series."""
    scale = scale_of(definition)
    unit = "%" if definition["unit"] == "%" else definition["unit"]
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(series["period_start"]).dt.strftime("%Y-%m-%d"),
            "value": series["value"].to_numpy(float) * scale,
        }
    )
    target = definition.get("target")
    target = None if target is None or pd.isna(target) else float(target) * scale
    frequency = definition["frequency"]
    # Rolling 12-month figures end each month, so they are dated by month.
    axis_format = AXIS_FORMAT.get(
        SPC_FREQ.get(frequency, "M" if frequency == "rolling_12_months" else "Y")[0], "%Y"
    )
    if status.applies:
        spc = data.table("measure_spc")
        spc = spc[
            (spc["measure_id"] == definition["id"])
            & (spc["frequency"] == frequency)
            & (spc["breakdown"] == "all")
        ].copy()
        spc["date"] = pd.to_datetime(spc["period_start"]).dt.strftime("%Y-%m-%d")
        # Limits and point types from the unrounded SPC; the values drawn are the viewer's.
        frame = frame.merge(
            spc[
                [
                    "date",
                    "mean",
                    "lower_process_limit",
                    "upper_process_limit",
                    "segment",
                    "point_type",
                ]
            ],
            on="date",
            how="left",
        )
        for column in ("mean", "lower_process_limit", "upper_process_limit"):
            frame[column] = frame[column] * scale
        frame = frame.rename(
            columns={"lower_process_limit": "lower_limit", "upper_process_limit": "upper_limit"}
        )
        frame["segment"] = frame["segment"].fillna(0).astype(int)
        frame["line"] = 0
        frame["type"] = frame["point_type"].map(POINT_LABELS).fillna(POINT_LABELS["common_cause"])
        chart = facet_chart(
            frame.drop(columns=["point_type"]),
            title="",
            value_title=unit,
            target=target,
            axis_format=axis_format,
            neutral=definition["improvement"] == "neutral",
        )
    else:
        # A year's points are labelled by their year ("2023/24"), not by dated ticks.
        frame["period"] = [
            period_label(s, e, frequency)
            for s, e in zip(series["period_start"], series["period_end"], strict=True)
        ]
        x = (
            alt.X("period:O", title=None, sort=None, axis=alt.Axis(labelAngle=0))
            if frequency in ANNUAL
            else alt.X("date:T", title=None, axis=alt.Axis(format=axis_format, labelAngle=-45))
        )
        y = alt.Y("value:Q", title=unit, scale=alt.Scale(zero=False))
        chart = (
            alt.Chart(frame)
            .mark_line(color="#005eb8", point=True, invalid="break-paths-filter-domains")
            .encode(x=x, y=y, tooltip=[alt.Tooltip("period:N"), alt.Tooltip("value:Q")])
        )
        if target is not None:
            rule = alt.Chart(pd.DataFrame({"target": [target]})).mark_rule(
                color="#d5281b", strokeDash=[2, 2]
            )
            chart = alt.layer(chart, rule.encode(y="target:Q"))
    official = comparators_for(data, definition)
    if not official.empty:
        points = pd.DataFrame(
            {
                "date": pd.to_datetime(official["period_start"]).dt.strftime("%Y-%m-%d"),
                "period": [
                    period_label(s, e, frequency)
                    for s, e in zip(official["period_start"], official["period_end"], strict=True)
                ],
                "official": official["value"].to_numpy(float) * scale,
                "source": "Official: " + official["source_file"].astype(str),
            }
        )
        x = "period:O" if frequency in ANNUAL and not status.applies else "date:T"
        layer = (
            alt.Chart(points)
            .mark_point(shape="diamond", size=90, filled=True, color="#212b32")
            .encode(x=x, y="official:Q", tooltip=["source:N", "official:Q"])
        )
        chart = alt.layer(chart, layer)
    return spec_json(chart.properties(width=560, height=280), status.summary)


def comparators_for(data: Published, definition: dict) -> pd.DataFrame:
    frame = data.table("measure_comparators")
    if frame.empty:
        return frame
    return frame[
        (frame["measure_id"] == definition["id"]) & (frame["frequency"] == definition["frequency"])
    ]


# --- Cards and pages -------------------------------------------------------------------------


def measure_card(data: Published, measure_id: str, unsuppressed: bool) -> dict | None:
    return data.remembered(
        ("card", measure_id, unsuppressed), lambda: _card(data, measure_id, unsuppressed)
    )


def _card(data: Published, measure_id: str, unsuppressed: bool) -> dict | None:
    definition = data.definition(measure_id)
    if definition is None:
        return None
    series = headline(data, definition, unsuppressed)
    status = spc_status(data, definition)
    card = {
        "id": measure_id,
        "title": definition["title"],
        "frequency": FREQUENCY_WORDS[definition["frequency"]],
        "status": status,
        "variation": icon("variation", status.variation),
        "assurance": icon("assurance", status.assurance),
        "target": None,
        "latest": None,
        "sparkline": None,
    }
    target = definition.get("target")
    if target is not None and not pd.isna(target):
        card["target"] = shown(float(target), definition)
    if not series.empty:
        last = series.iloc[-1]
        card["latest"] = {
            "value": shown(last["value"], definition, _withheld(last)),
            "period": period_label(
                last["period_start"], last["period_end"], definition["frequency"]
            ),
        }
        card["sparkline"] = sparkline(series, definition)
    return card


def measure_page(data: Published, measure_id: str, unsuppressed: bool) -> dict | None:
    return data.remembered(
        ("page", measure_id, unsuppressed), lambda: _page(data, measure_id, unsuppressed)
    )


def _page(data: Published, measure_id: str, unsuppressed: bool) -> dict | None:
    card = measure_card(data, measure_id, unsuppressed)
    if card is None:
        return None
    definition = data.definition(measure_id)
    series = headline(data, definition, unsuppressed)
    frequency = definition["frequency"]
    page = {
        "card": card,
        "definition": definition,
        "chart": None,
        "periods": [],
        "breakdowns": [],
        "gaps": [],
        "official": [],
    }
    if series.empty:
        return page
    page["chart"] = measure_chart(data, definition, series, card["status"])
    page["periods"] = [
        [
            period_label(r.period_start, r.period_end, frequency),
            count_text(r.numerator),
            count_text(r.denominator) if definition["value_type"] != "count" else "",
            shown(r.value, definition, _withheld(r)),
            _interval(r.lower, r.upper, definition),
        ]
        for r in series.itertuples()
    ]
    page["breakdowns"] = _breakdowns(data, definition, unsuppressed, series.iloc[-1])
    page["gaps"] = _gaps(data, definition, unsuppressed)
    page["official"] = [
        [
            period_label(r.period_start, r.period_end, frequency),
            shown(r.value, definition),
            f"{r.source_file}, {r.publisher}, published {r.published_on}",
            r.url,
        ]
        for r in comparators_for(data, definition).itertuples()
    ]
    return page


def _withheld(row) -> bool:
    """Whether disclosure control withheld this row's value (unrounded rows: never)."""
    if isinstance(row, pd.Series):
        return bool(row.get("value_suppressed", False))
    return bool(getattr(row, "value_suppressed", False))


def _interval(lower, upper, definition) -> str:
    if lower is None or upper is None or pd.isna(lower) or pd.isna(upper):
        return ""
    return f"{shown(lower, definition)} to {shown(upper, definition)}"


def _breakdowns(data, definition, unsuppressed, last) -> list[dict]:
    frame = results_for(data, definition["id"], unsuppressed)
    frame = frame[
        (frame["frequency"] == definition["frequency"])
        & (frame["period_start"] == last["period_start"])
        & (frame["breakdown"] != "all")
    ]
    out = []
    for (breakdown, version), rows in frame.groupby(["breakdown", "breakdown_version"], sort=True):
        name = BREAKDOWN_NAMES.get(breakdown, breakdown.replace("_", " ").capitalize())
        if version:
            name = f"{name}, index {version}"
        out.append(
            {
                "name": name,
                "period": period_label(
                    last["period_start"], last["period_end"], definition["frequency"]
                ),
                "rows": [
                    [
                        r.group,
                        count_text(r.numerator),
                        count_text(r.denominator) if definition["value_type"] != "count" else "",
                        shown(r.value, definition, _withheld(r)),
                    ]
                    for r in rows.itertuples()
                ],
            }
        )
    return out


def _gaps(data, definition, unsuppressed) -> list[list[str]]:
    frame = data.table("measure_gaps" if unsuppressed else "measure_gaps_nhs")
    if frame.empty:
        return []
    frame = frame[frame["measure_id"] == definition["id"]].sort_values(
        ["breakdown", "pool", "period_end"]
    )
    rows = []
    for r in frame.itertuples():
        has_gap = not pd.isna(r.gap)
        rows.append(
            [
                r.periods,
                "decile" if r.breakdown == "imd_decile" else "quintile",
                r.imd_version,
                f"{r.gap:+.1f}" if has_gap else "*",
                f"{r.lower:+.1f} to {r.upper:+.1f}" if has_gap else "",
            ]
        )
    return rows


def measure_csv(data: Published, measure_id: str, unsuppressed: bool) -> str:
    """Every published figure of a measure as the viewer may see it, as CSV."""
    return data.remembered(
        ("csv", measure_id, unsuppressed), lambda: _csv(data, measure_id, unsuppressed)
    )


def _csv(data: Published, measure_id: str, unsuppressed: bool) -> str:
    frame = results_for(data, measure_id, unsuppressed)
    columns = [
        "measure_id",
        "version",
        "frequency",
        "period_start",
        "period_end",
        "breakdown",
        "breakdown_version",
        "group",
        "numerator",
        "denominator",
        "value",
        "lower",
        "upper",
    ]
    frame = frame[[c for c in columns if c in frame.columns]].copy()
    frame["figures"] = "unrounded" if unsuppressed else "nhs disclosure control"
    return frame.replace({np.nan: None}).to_csv(index=False, lineterminator="\n")


def trusted_periods(data: Published) -> list[dict]:
    """For each measure, the latest period it can be trusted for: the engine publishes a
    period only when every source of every dataset it reads has a load covering all of it."""
    return data.remembered(("trusted",), lambda: _trusted(data))


def _trusted(data: Published) -> list[dict]:
    definitions = data.table("measure_definitions")
    results = data.table("measure_results")
    if definitions.empty:
        return []
    out = []
    for d in definitions.sort_values("id").to_dict("records"):
        rows = (
            results[
                (results["measure_id"] == d["id"])
                & (results["frequency"] == d["frequency"])
                & (results["breakdown"] == "all")
            ]
            if not results.empty
            else results
        )
        latest = None
        if not rows.empty:
            last = rows.sort_values("period_start").iloc[-1]
            latest = period_label(last["period_start"], last["period_end"], d["frequency"])
        out.append(
            {
                "id": d["id"],
                "title": d["title"],
                "frequency": FREQUENCY_WORDS[d["frequency"]],
                "datasets": d["datasets"],
                "latest": latest,
            }
        )
    return out
