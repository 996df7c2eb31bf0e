"""What the MK Deal progress report says, from one published snapshot. Pure: no I/O.

A report is for a calendar month. It shows every period that had ended by the month's
last day, so a report for an earlier month built from a later snapshot does not show
later periods. The SPC of each headline series is worked out again on the series as cut
(the same `spc_tables` the publication uses, on the unrounded values), so the icons say
what the series said at the month's end; on a series the cut leaves whole, they are the
published ones.

Every figure is the `nhs` disclosure-controlled one (DESIGN.md, "Publishing figures"): the
pack goes to the board and the Joint Leadership Team and may be shared further. Groups
whose denominator is withheld are left out, as on the dashboard.

The report's measures are the Deal's: each priority's `measure_ids`, as published in the
snapshot's `deal_priorities` table (the Deal as it was when the snapshot was published).
A snapshot published before that table existed falls back to the Deal passed in.

Revisions: when an earlier report was issued, the periods it showed are compared with the
same periods now; every headline value that reads differently (including one that had no
value then, or has none now) is listed with its old and new value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from datetime import date, timedelta

import altair as alt
import pandas as pd

from mkdeal.deal.model import Deal, priorities_rows
from mkdeal.errors import UserError
from mkdeal.measure_views import (
    Published,
    headline,
    measure_card,
    measure_page,
    period_label,
    shown,
    trusted_periods,
)
from mkdeal.measures.gaps import INDEX_NAMES
from mkdeal.measures.publication import SpcSettings, spc_tables

UNSUPPRESSED = False  # the report is a public-facing figure set: `nhs` control throughout
RECENT_PERIODS = 13  # a year of months and the same month a year before
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CUT_TABLES = (
    "measure_results",
    "measure_results_nhs",
    "measure_gaps",
    "measure_gaps_nhs",
    "measure_gap_notes",
    "measure_comparators",
)
NO_VALUE = "no value"


def parse_month(text: str) -> tuple[date, date]:
    """The first and last day of a month written YYYY-MM; a sentence if it is not one."""
    found = MONTH.match(text.strip())
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise UserError(f"The month must be written YYYY-MM, such as 2026-03; got {text!r}.")
    start = date(int(found.group(1)), int(found.group(2)), 1)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return start, following - timedelta(days=1)


def month_words(text: str) -> str:
    return parse_month(text)[0].strftime("%B %Y")


def as_at(data: Published, end: date) -> Published:
    """The snapshot's figures as they stood for periods ending by `end`, with the headline
    series' SPC worked out again on the series so cut."""
    tables = dict(data.tables)
    for name in _CUT_TABLES:
        frame = data.table(name)
        if not frame.empty and "period_end" in frame.columns:
            ends = pd.to_datetime(frame["period_end"]).dt.date
            tables[name] = frame[ends <= end].reset_index(drop=True)
    definitions = data.table("measure_definitions")
    results = tables.get("measure_results", pd.DataFrame())
    if not definitions.empty and not results.empty:
        own = results.merge(
            definitions[["id", "frequency"]].rename(columns={"id": "measure_id"}),
            on=["measure_id", "frequency"],
        )
        own = own[own["breakdown"] == "all"].sort_values(["measure_id", "period_start"])
        settings = {d["id"]: SpcSettings.from_definition(d) for d in definitions.to_dict("records")}
        points, summaries = spc_tables(own, settings)
        tables["measure_spc"], tables["measure_spc_summary"] = points, summaries
    return Published(data.snapshot_id, tables)


# --- What a report holds --------------------------------------------------------------------


@dataclass(frozen=True)
class MeasureSection:
    id: str
    title: str
    card: dict | None  # None: the measure is linked in the Deal but not published
    definition: dict | None
    chart: dict | None = None  # a Vega-Lite spec
    recent: list[list[str]] = field(default_factory=list)
    gap_chart: dict | None = None
    gaps: list[list[str]] = field(default_factory=list)
    gap_index: str = ""


@dataclass(frozen=True)
class PrioritySection:
    id: str
    name: str
    description: str
    lead: str
    steering_group: str
    measures: tuple[MeasureSection, ...]


@dataclass(frozen=True)
class Revision:
    measure_id: str
    title: str
    period: str
    old: str
    new: str


@dataclass(frozen=True)
class SourceRow:
    dataset: str
    source: str
    periods: str
    loads: int
    last_loaded: str
    read: int
    loaded: int
    quarantined: int
    reasons: str


@dataclass(frozen=True)
class Report:
    month: str
    month_label: str
    snapshot_id: str
    issued_on: date
    deal_version: str
    priorities: tuple[PrioritySection, ...]
    revisions: tuple[Revision, ...]
    compared_with: dict | None  # {"month", "snapshot"} of the earlier report, if any
    sources: tuple[SourceRow, ...]
    trusted: tuple[dict, ...]

    @property
    def measures(self) -> list[MeasureSection]:
        return [m for p in self.priorities for m in p.measures]


# --- Building it ------------------------------------------------------------------------------


def build_report(
    data: Published,
    month: str,
    *,
    deal: Deal,
    issued_on: date,
    earlier: Published | None = None,
    earlier_month: str | None = None,
) -> Report:
    """The report for `month` from the snapshot `data`; `earlier` is the snapshot of the
    report issued before it (for the revisions note), with the month that report was for."""
    _, end = parse_month(month)
    cut = as_at(data, end)
    priorities = _priorities(data, deal)
    sections = tuple(
        PrioritySection(
            id=p["id"],
            name=p["name"],
            description=p["description"],
            lead=p["jlt_lead"],
            steering_group=p["steering_group"],
            measures=tuple(_measure(cut, m) for m in _ids(p["measure_ids"])),
        )
        for p in priorities
    )
    measure_ids = [m.id for s in sections for m in s.measures]
    found = []
    if earlier is not None and earlier_month is not None:
        found = revisions(earlier, data, measure_ids, up_to=parse_month(earlier_month)[1])
    wanted = set(measure_ids)
    return Report(
        month=month,
        month_label=month_words(month),
        snapshot_id=data.snapshot_id,
        issued_on=issued_on,
        deal_version=str(priorities[0]["deal_version"]) if priorities else deal.version,
        priorities=sections,
        revisions=tuple(found),
        compared_with=(
            None if earlier is None else {"month": earlier_month, "snapshot": earlier.snapshot_id}
        ),
        sources=tuple(_sources(data)),
        trusted=tuple(t for t in trusted_periods(cut) if t["id"] in wanted),
    )


def _ids(text) -> list[str]:
    return [part.strip() for part in str(text or "").split(";") if part.strip()]


def _priorities(data: Published, deal: Deal) -> list[dict]:
    published = data.table("deal_priorities")
    if published.empty:
        return priorities_rows(deal)
    return published.sort_values("position").to_dict("records")


def _measure(cut: Published, measure_id: str) -> MeasureSection:
    definition = cut.definition(measure_id)
    if definition is None:
        return MeasureSection(measure_id, measure_id, None, None)
    card = measure_card(cut, measure_id, UNSUPPRESSED)
    page = measure_page(cut, measure_id, UNSUPPRESSED)
    section = MeasureSection(
        id=measure_id,
        title=definition["title"],
        card=card,
        definition=definition,
        chart=json.loads(page["chart"]) if page["chart"] else None,
        recent=page["periods"][-RECENT_PERIODS:],
    )
    if definition.get("deprivation_gap"):
        section = replace(section, **_gap(cut, measure_id))
    return section


def _gap(cut: Published, measure_id: str) -> dict:
    """The latest gap of each kind (decile, quintile; pooled over 1, 3 and 5 periods), and
    a chart of the single-period decile gap with its interval over time."""
    frame = cut.table("measure_gaps_nhs")
    if frame.empty:
        return {}
    frame = frame[frame["measure_id"] == measure_id]
    if frame.empty:
        return {}
    latest = frame.sort_values("period_end").groupby(["breakdown", "pool"], sort=True).tail(1)
    rows = [
        [
            "decile" if r.breakdown == "imd_decile" else "quintile",
            f"{int(r.pool)}",
            r.periods,
            f"{r.gap:+.1f}" if not pd.isna(r.gap) else "*",
            f"{r.lower:+.1f} to {r.upper:+.1f}" if not pd.isna(r.gap) else "",
        ]
        for r in latest.sort_values(["breakdown", "pool"]).itertuples()
    ]
    indices = sorted(frame["imd_version"].dropna().unique())
    single = frame[(frame["breakdown"] == "imd_decile") & (frame["pool"] == 1)].dropna(
        subset=["gap"]
    )
    chart = None
    if not single.empty:
        points = pd.DataFrame(
            {
                "period": single["periods"].astype(str),
                "gap": single["gap"].astype(float),
                "lower": single["lower"].astype(float),
                "upper": single["upper"].astype(float),
            }
        )
        base = alt.Chart(points).encode(x=alt.X("period:O", title=None, sort=None))
        chart = (
            alt.layer(
                base.mark_rule(color="#425563").encode(
                    y=alt.Y("lower:Q", title="Gap, percentage points"), y2="upper:Q"
                ),
                base.mark_point(filled=True, color="#005eb8", size=60).encode(y="gap:Q"),
                alt.Chart(pd.DataFrame({"zero": [0.0]}))
                .mark_rule(color="#768692", strokeDash=[2, 2])
                .encode(y="zero:Q"),
            )
            .properties(width=520, height=200)
            .to_dict()
        )
    return {
        "gaps": rows,
        "gap_chart": chart,
        "gap_index": "; ".join(INDEX_NAMES.get(i, i) for i in indices),
    }


def revisions(
    earlier: Published, now: Published, measure_ids: list[str], *, up_to: date
) -> list[Revision]:
    """Every headline value of a period ending by `up_to` that reads differently now."""
    before, after = as_at(earlier, up_to), as_at(now, up_to)
    found = []
    for measure_id in measure_ids:
        definition = after.definition(measure_id) or before.definition(measure_id)
        if definition is None:
            continue
        old, new = _readings(before, definition), _readings(after, definition)
        for start in sorted(set(old) | set(new)):
            label, was = old.get(start, (None, NO_VALUE))
            label_now, is_now = new.get(start, (label, NO_VALUE))
            if was != is_now:
                found.append(Revision(measure_id, definition["title"], label_now, was, is_now))
    return found


def _readings(data: Published, definition: dict) -> dict:
    """Period start -> (period label, the value as the report shows it)."""
    if data.definition(definition["id"]) is None:
        return {}
    series = headline(data, definition, UNSUPPRESSED)
    return {
        r.period_start: (
            period_label(r.period_start, r.period_end, definition["frequency"]),
            shown(r.value, definition, bool(getattr(r, "value_suppressed", False))),
        )
        for r in series.itertuples()
    }


def _sources(data: Published) -> list[SourceRow]:
    """The active loads by dataset and source, with the reasons rows were quarantined."""
    loads = data.table("loads")
    if loads.empty:
        return []
    loads = loads[loads["status"] == "active"]
    reasons = data.table("quarantine_summary")
    out = []
    for (dataset, source), rows in loads.groupby(["dataset", "source"], sort=True):
        starts, ends = rows["period_start"].dropna(), rows["period_end"].dropna()
        periods = f"{min(starts)} to {max(ends)}" if len(starts) else "whole dataset"
        why = ""
        if not reasons.empty:
            mine = reasons[reasons["load_id"].isin(rows["load_id"])]
            mine = mine.groupby(["field", "reason"], sort=True)["rows"].sum()
            mine = mine.sort_values(ascending=False, kind="stable")
            why = "; ".join(f"{reason} ({fld}): {n:,}" for (fld, reason), n in mine.items())
        out.append(
            SourceRow(
                dataset=dataset,
                source=source,
                periods=periods,
                loads=len(rows),
                last_loaded=str(pd.to_datetime(rows["loaded_at"]).max().date()),
                read=int(rows["read"].sum()),
                loaded=int(rows["loaded"].sum()),
                quarantined=int(rows["quarantined"].sum()),
                reasons=why,
            )
        )
    return out
