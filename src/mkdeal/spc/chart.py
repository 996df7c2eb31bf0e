"""Making Data Count charts of `spc` results, as Altair (Vega-Lite) specifications.

One chart serves the web pages, the PDF board report and `mkdeal spc`: Altair builds
the specification, and vl-convert renders it to SVG or PNG offline (no browser, no
network). The style is NHS England's Making Data Count: grey common-cause points, blue
improvement, orange concern, purple neutral; a black mean, dashed grey process limits, a
red target line; the variation and assurance icons beside the chart, drawn as MDC's
lettered circles (H/L for high and low variation, P/F/? for assurance).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping

import altair as alt
import numpy as np
import pandas as pd
import vl_convert

from mkdeal.errors import UserError
from mkdeal.spc.engine import SpcResult

GREY = "#a6a6a6"
LIMIT_GREY = "#7f7f7f"
BLUE = "#00b0f0"
ORANGE = "#e46c0a"
PURPLE = "#490092"
RED = "#d5281b"
BLACK = "#000000"

POINT_COLOURS = {
    "common_cause": GREY,
    "special_cause_improvement": BLUE,
    "special_cause_concern": ORANGE,
    "special_cause_neutral_high": PURPLE,
    "special_cause_neutral_low": PURPLE,
}
POINT_LABELS = {
    "common_cause": "Common cause",
    "special_cause_improvement": "Special cause: improvement",
    "special_cause_concern": "Special cause: concern",
    "special_cause_neutral_high": "Special cause: neutral, high",
    "special_cause_neutral_low": "Special cause: neutral, low",
}
# Icon: (letter, colour, caption). Common cause has no letter in MDC; "~" stands for it.
VARIATION_ICONS = {
    "common_cause": ("~", GREY, "Common cause variation"),
    "improvement_high": ("H", BLUE, "Improvement: high"),
    "improvement_low": ("L", BLUE, "Improvement: low"),
    "concern_high": ("H", ORANGE, "Concern: high"),
    "concern_low": ("L", ORANGE, "Concern: low"),
    "neutral_high": ("H", PURPLE, "Special cause: high"),
    "neutral_low": ("L", PURPLE, "Special cause: low"),
}
ASSURANCE_ICONS = {
    "consistent_pass": ("P", BLUE, "Consistently passing the target"),
    "consistent_fail": ("F", ORANGE, "Consistently failing the target"),
    "hit_and_miss": ("?", GREY, "Hit and miss the target"),
}
AXIS_FORMAT = {"D": "%d %b %Y", "W": "%d %b %Y", "M": "%b %Y", "Q": "%b %Y", "Y": "%Y"}
MAX_FACETS = 60  # beyond this a picture is unreadable; use JSON or CSV


def _facet_frame(result: SpcResult, label: Hashable) -> pd.DataFrame:
    mask = np.asarray([f == label for f in result.facet], dtype=bool)
    frame = result.to_frame()[mask].sort_values("period")
    ordinal = frame["period"].array.asi8
    # A new line starts after a missing period, a blank value or a rebase.
    broken = (
        (np.diff(ordinal, prepend=ordinal[:1] - 1) > 1)
        | np.isnan(frame["value"].to_numpy())
        | (np.diff(frame["segment"].to_numpy(), prepend=frame["segment"].iloc[:1]) != 0)
    )
    frame["line"] = np.cumsum(broken)
    frame["date"] = frame["period"].dt.start_time.dt.strftime("%Y-%m-%d")
    frame["type"] = frame["point_type"].map(POINT_LABELS)
    return frame.drop(columns=["period", "facet"])


def _icons(variation: str | None, assurance: str | None, reason: str) -> alt.LayerChart:
    if variation is None:
        icons = [("", GREY, reason)]
    else:
        icons = [VARIATION_ICONS[variation]]
        icons.append(ASSURANCE_ICONS[assurance] if assurance else ("", "#d8dde0", "No target"))
    data = pd.DataFrame(
        [
            {"y": i, "letter": letter, "colour": colour, "caption": caption}
            for i, (letter, colour, caption) in enumerate(icons)
        ]
    )
    base = alt.Chart(data).encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=[0, 1]), axis=None),
        y=alt.Y("y:O", axis=None),
    )
    circle = (
        base.transform_calculate(x="0.2")
        .transform_filter("datum.letter != ''")
        .mark_point(shape="circle", size=1600, strokeWidth=4, filled=False)
        .encode(color=alt.Color("colour:N", scale=None))
    )
    letter = (
        base.transform_calculate(x="0.2")
        .mark_text(fontSize=20, fontWeight="bold")
        .encode(text="letter:N", color=alt.Color("colour:N", scale=None))
    )
    caption = (
        base.transform_calculate(x="0.42")
        .mark_text(align="left", fontSize=11, lineBreak=": ", limit=150)
        .encode(text="caption:N")
    )
    return alt.layer(circle, letter, caption).properties(width=160, height=60 * len(icons))


def facet_chart(
    frame: pd.DataFrame,
    *,
    title: str,
    value_title: str,
    target: float | None,
    axis_format: str,
    neutral: bool,
) -> alt.LayerChart:
    base = alt.Chart(frame).encode(
        x=alt.X("date:T", title=None, axis=alt.Axis(format=axis_format, labelAngle=-45))
    )
    y = alt.Y("value:Q", title=value_title, scale=alt.Scale(zero=False))
    line = base.mark_line(color=GREY, strokeWidth=1.5).encode(y=y, detail="line:N")
    limits = [
        base.mark_line(color=LIMIT_GREY, strokeDash=[6, 4], strokeWidth=1.2).encode(
            y=alt.Y(f"{column}:Q"), detail="segment:N"
        )
        for column in ("lower_limit", "upper_limit")
    ]
    mean = base.mark_line(color=BLACK, strokeWidth=1.5).encode(
        y=alt.Y("mean:Q"), detail="segment:N"
    )
    shown = [t for t in POINT_LABELS if ("neutral" in t) == neutral or t == "common_cause"]
    points = (
        base.transform_filter("isValid(datum.value)")
        .mark_point(filled=True, size=50, opacity=1)
        .encode(
            y=y,
            color=alt.Color(
                "type:N",
                title=None,
                scale=alt.Scale(
                    domain=[POINT_LABELS[t] for t in shown],
                    range=[POINT_COLOURS[t] for t in shown],
                ),
                legend=alt.Legend(orient="bottom"),
            ),
            tooltip=[
                alt.Tooltip("date:T", format=axis_format, title="Period"),
                alt.Tooltip("value:Q", title=value_title),
                alt.Tooltip("type:N", title="Point"),
                alt.Tooltip("mean:Q", format=".4~g", title="Mean"),
            ],
        )
    )
    layers = [*limits, mean, line, points]
    if target is not None:
        layers.append(
            alt.Chart(pd.DataFrame({"target": [target]}))
            .mark_rule(color=RED, strokeWidth=1.5, strokeDash=[2, 2])
            .encode(y="target:Q")
        )
    return alt.layer(*layers).properties(title=title, width=520, height=260)


def spc_chart(
    result: SpcResult,
    *,
    improvement: str,
    title: str = "",
    value_title: str = "Value",
    target: float | Mapping[Hashable, float] | None = None,
) -> alt.VConcatChart:
    """The MDC chart of every facet of ``result``, one row each, icons to the right."""
    if len(result.facets) > MAX_FACETS:
        raise UserError(
            f"There are {len(result.facets)} facets; a chart can show at most {MAX_FACETS}. "
            "Ask for JSON or CSV, or chart fewer facets."
        )
    axis_format = AXIS_FORMAT.get(result.period.freqstr[0], "%d %b %Y")
    rows = []
    for label, summary in result.facets.items():
        facet_target = target.get(label) if isinstance(target, Mapping) else target
        heading = title if label is None else f"{title}: {label}" if title else str(label)
        if summary.trial_limits:
            heading = f"{heading} (trial limits: too few points for icons)".strip()
        chart = facet_chart(
            _facet_frame(result, label),
            title=heading,
            value_title=value_title,
            target=facet_target,
            axis_format=axis_format,
            neutral=improvement == "neutral",
        )
        reason = "Trial limits: no icons" if summary.trial_limits else "No points"
        rows.append(
            alt.hconcat(chart, _icons(summary.variation_icon, summary.assurance_icon, reason))
        )
    return alt.vconcat(*rows).configure(font="Liberation Sans").configure_view(stroke=None)


def to_svg(chart: alt.TopLevelMixin) -> str:
    """The chart as SVG text, rendered offline by vl-convert."""
    return vl_convert.vegalite_to_svg(chart.to_dict())


def to_png(chart: alt.TopLevelMixin, scale: float = 2) -> bytes:
    """The chart as PNG bytes (``scale`` 2 for print), rendered offline by vl-convert."""
    return vl_convert.vegalite_to_png(chart.to_dict(), scale=scale)
