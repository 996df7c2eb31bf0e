"""One engine for every measure: any warehouse, any periods, any breakdowns.

Measures over the same units form a batch. The batch's units, joined to the person
attributes when a person breakdown is wanted, are cached in the warehouse as a temporary
table, and each breakdown is one query over it: every measure's sums by day and by that
breakdown's column. Everything else (weeks, months, quarters, financial years, rolling 12
months, zero-filling, values and intervals) is arithmetic on those small aggregates,
because numerators and denominators are sums. A median is not a sum, so a median measure
asks one query per frequency instead; a percentile sums weekly band counts the same way.
A snapshot (a census) is summed by census day and by source too, and each source's last
census of each month is picked from that small aggregate, not row by row.

Gaps and zeros (DESIGN.md, "Loads"): a period for which some source of some dataset the
measure reads has no load covering the whole period is a gap, and has no row; a covered
period with no units is a zero (a count of 0; a proportion of 0/0 has no value).

The result is one long, tidy table (`RESULT_COLUMNS`): one row per measure, frequency,
period, breakdown (with its version, for deprivation) and group.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import date, timedelta

import ibis
import numpy as np
import pandas as pd
import pyarrow as pa
from ibis.common.exceptions import TableNotFound

from mkdeal.datasets import DATASETS
from mkdeal.datasets.load import LOADS_COLUMNS
from mkdeal.errors import UserError
from mkdeal.measures import stats
from mkdeal.measures.breakdowns import (
    UNKNOWN,
    age_band_expr,
    decile_column,
    person_attributes,
    quintile,
    with_deciles,
)
from mkdeal.measures.definition import (
    FREQUENCIES,
    PERSON_BREAKDOWNS,
    UNIT_BREAKDOWNS,
    Measure,
)
from mkdeal.measures.periods import (
    candidate_periods,
    covered,
    period_starts,
    spans_from_manifests,
)

log = logging.getLogger(__name__)

LOADS_TABLE = "_loads"
DEFAULT_FREQUENCIES = ("month", "quarter", "financial_year", "rolling_12_months")
RESULT_COLUMNS = (
    "measure_id",
    "version",
    "value_type",
    "frequency",
    "period_start",
    "period_end",
    "overlapping",
    "breakdown",
    "breakdown_version",
    "group",
    "numerator",
    "denominator",
    "value",
    "lower",
    "upper",
    "multiplier",
    "load_ids",
)


class WarehouseTables(Mapping[str, ibis.Table]):
    """The dataset tables the warehouse holds (a dataset never loaded has none), each
    looked up when a measure first asks for it: listing the warehouse's tables and reading
    every dataset's schema took a query each, on every computation. `found` holds tables
    already looked up on this backend."""

    def __init__(self, backend: ibis.BaseBackend, found: dict | None = None) -> None:
        self._backend = backend
        self._found: dict[str, ibis.Table] = {} if found is None else found
        self._missing: set[str] = set()

    def __getitem__(self, name: str) -> ibis.Table:
        if name in DATASETS and name not in self._found and name not in self._missing:
            try:
                self._found[name] = self._backend.table(name)
            except TableNotFound:
                self._missing.add(name)
        return self._found[name]

    def __iter__(self) -> Iterator[str]:
        return (name for name in DATASETS if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def warehouse_tables(backend: ibis.BaseBackend) -> WarehouseTables:
    """The dataset tables the warehouse holds."""
    return WarehouseTables(backend)


# The tables found by the last computation, for the next on the same backend while the
# load manifests are unchanged: only a load creates a dataset's table, and every load
# writes a manifest. (A table not found is looked for again: it may have come since.) It
# keeps one backend object alive until a computation on another replaces it.
_last_found: tuple[ibis.BaseBackend, list[dict], dict[str, ibis.Table]] | None = None


def _tables_since(backend: ibis.BaseBackend, manifests: list[dict]) -> WarehouseTables:
    global _last_found
    if _last_found is None or _last_found[0] is not backend or _last_found[1] != manifests:
        _last_found = (backend, manifests, {})
    return WarehouseTables(backend, _last_found[2])


# The manifest columns coverage needs. The table's schema is the loads' own
# (`LOADS_COLUMNS`), so reading them needs no query for it first.
_MANIFESTS = ibis.table(ibis.schema(LOADS_COLUMNS), name=LOADS_TABLE).select(
    "load_id", "dataset", "source", "period_start", "period_end", "status"
)


def load_manifests(backend: ibis.BaseBackend) -> list[dict]:
    """Every load's manifest row (id, dataset, source, period, status); none before the
    first load. Read straight away, without listing the tables first (a query more)."""
    try:
        return backend.to_pyarrow(_MANIFESTS).to_pylist()
    except Exception:
        if LOADS_TABLE in backend.list_tables():
            raise
        return []  # nothing has been loaded yet


def compute(
    backend: ibis.BaseBackend,
    measures: Sequence[Measure],
    *,
    frequencies: Sequence[str] | None = None,
    breakdowns: Sequence[str] = (),
    start: date | None = None,
    end: date | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Every measure for every covered period of each frequency, overall and by each
    breakdown a measure supports; periods must start on or after `start` and end on or
    before `end`. One row per measure, period, breakdown and group. Without `frequencies`,
    each measure comes at the frequencies it is published at (`published_frequencies`)."""
    unknown = [f for f in frequencies or () if f not in FREQUENCIES]
    if unknown:
        raise UserError(f"The frequency {unknown[0]!r} is not known; use {', '.join(FREQUENCIES)}.")
    manifests = load_manifests(backend)
    tables = _tables_since(backend, manifests)
    spans = spans_from_manifests(manifests)
    person_wanted = any(b in PERSON_BREAKDOWNS for b in breakdowns)
    versions = _imd_versions(tables) if person_wanted else []
    people = person_attributes(tables, versions) if person_wanted else None
    ready = []
    for measure in measures:
        if any(name not in tables for name in measure.datasets):
            log.info("No data loaded for %s; it has no results.", measure.id)
        else:
            ready.append(measure)
    # Measures over the same units share one query (the handover measures are seven).
    batches: dict[tuple, list[Measure]] = {}
    for measure in ready:
        wanted = tuple(b for b in breakdowns if b in measure.breakdowns)
        if measure.additive:
            key = (measure.units, True, wanted)
        elif measure.value_type == "percentile":
            key = (measure.units, measure.bands, wanted)  # percentiles share band counts
        else:
            key = (measure.id,)
        batches.setdefault(key, []).append(measure)
    frames = []
    done = 0
    for batch in batches.values():
        done += len(batch)
        if progress:
            progress(f"[{done}/{len(ready)}] {', '.join(m.id for m in batch)}")
        wanted = [b for b in breakdowns if b in batch[0].breakdowns]
        frames.extend(
            _compute_batch(batch, tables, spans, people, versions, frequencies, wanted, start, end)
        )
    frames = [f for f in frames if not f.empty]
    if not frames:
        return pd.DataFrame({name: [] for name in RESULT_COLUMNS})
    return pd.concat(frames, ignore_index=True)[list(RESULT_COLUMNS)]


def _imd_versions(tables) -> list[str]:
    if "area_deprivation" not in tables:
        return []
    areas = tables["area_deprivation"]
    return sorted(areas.select("imd_version").distinct().to_pyarrow()["imd_version"].to_pylist())


def _units(batch: Sequence[Measure], tables, people, versions, wanted: Sequence[str]) -> ibis.Table:
    """The batch's units, with the person attributes a wanted breakdown needs. Numerators,
    denominators and the day are computed in each query's aggregate, not added as columns
    first: a step fewer for ibis to compile (a millisecond) and a smaller cached table."""
    units = batch[0].units(tables)
    # A record that says where the person lived then (a child's NCMP measurement) gives
    # the decile from that LSOA, not from the residents file's.
    own_area = _own_area(units, versions)
    if people is not None and any(b in PERSON_BREAKDOWNS for b in wanted):
        if own_area:
            people = people.drop(*(decile_column(v) for v in versions))
        units = units.left_join(people, units.person_id == people.person_id)
        if "age_band" in wanted:
            units = units.mutate(_age_band=age_band_expr(_day(units), units.birth_month))
    if own_area and any(b in ("imd_decile", "imd_quintile") for b in wanted):
        units = with_deciles(units, tables["area_deprivation"], versions)
    return units


def _day(units: ibis.Table) -> ibis.Value:
    """The day a unit falls on: its `when`, a date or a local time."""
    when = units["when"]
    return when if when.type().is_date() else when.date()


def _own_area(units: ibis.Table, versions) -> bool:
    """Whether the units carry their own LSOA and some deprivation index is loaded."""
    return "lsoa_2021" in units.columns and bool(versions)


def _as_value(value: ibis.Value) -> ibis.Value:
    # A boolean is counted where true (a null, unknown, is not met); a missing number is 0.
    return value if value.type().is_boolean() else value.fill_null(0)


def _counted(batch: Sequence[Measure], units: ibis.Table) -> ibis.Value | None:
    """Which units count: a snapshot's units hold every row of every census, and its
    `counted` column says which of them are counted there (RTT: waiting); else all."""
    return units["counted"] if batch[0].snapshot and "counted" in units.columns else None


def _total(units: ibis.Table, value: ibis.Value, where: ibis.Value | None) -> ibis.Value:
    """The sum of a number, or the count of a boolean's true rows, among `where`'s rows.
    Counting with a filter is much quicker than summing a 0 or 1 made for every row; a
    group with nothing to sum (or, on Spark, only nulls to count) gives 0, not null."""
    if value.type().is_boolean():
        return units.count(where=value if where is None else where & value).fill_null(0)
    return value.sum(where=where).fill_null(0)


def published_frequencies(measure: Measure) -> tuple[str, ...]:
    """The frequencies a measure is published at: its own list, else the defaults and its
    headline frequency (an NCMP measure is academic years only)."""
    if measure.frequencies is not None:
        return measure.frequencies
    return tuple(dict.fromkeys((*DEFAULT_FREQUENCIES, measure.frequency)))


def _covers(measure, spans, frequencies, start, end) -> dict:
    """Each frequency's covered periods for this measure, with their load ids."""
    measure_spans = [s for s in spans if s.dataset in measure.datasets]
    if not measure_spans:
        return {}
    first = min(s.start for s in measure_spans)
    last = max(s.end for s in measure_spans)
    covers = {}
    for frequency in published_frequencies(measure) if frequencies is None else frequencies:
        if frequency == "rolling_12_months" and not measure.additive:
            continue  # a median of rolling periods is not a sum of months
        if measure.snapshot and frequency != "month":
            continue  # censuses cannot be added up: months only
        if measure.frequencies is not None and frequency not in measure.frequencies:
            continue
        periods = [
            p
            for p in candidate_periods(first, last, frequency)
            if (start is None or p[0] >= start)
            and (end is None or p[1] <= end)
            and (measure.period_months is None or p[0].month in measure.period_months)
        ]
        # Reference datasets (residents) have no periods: they never decide coverage.
        dated = [d for d in measure.datasets if DATASETS[d].period_column]
        if measure.follow_up_days:
            # Outcomes are followed up after the period: the loads must cover that too.
            later = timedelta(days=measure.follow_up_days)
            extended = covered([(a, b + later) for a, b in periods], measure_spans, dated)
            cover = {(a, b - later): ids for (a, b), ids in extended.items()}
        else:
            cover = covered(periods, measure_spans, dated)
        if cover:
            covers[frequency] = cover
    return covers


def _compute_batch(batch, tables, spans, people, versions, frequencies, wanted, start, end):
    covers = [_covers(m, spans, frequencies, start, end) for m in batch]
    if not any(covers):
        return []
    units = _units(batch, tables, people, versions, wanted)
    if not wanted:
        return _compute_units(batch, units, covers, versions, people, wanted)
    # Several breakdowns read the same joined units: the warehouse keeps them as a
    # temporary table for the length of the batch instead of joining once per breakdown.
    with units.cache() as cached:
        return _compute_units(batch, cached, covers, versions, people, wanted)


def _compute_units(batch, units, covers, versions, people, wanted):
    own_area = _own_area(units, versions)
    breakdowns = list(_breakdown_groups(wanted, versions, people is not None, own_area))
    if batch[0].value_type == "percentile":
        cover = covers[0].get("month")  # percentiles are of monthly censuses only
        if not cover:
            return []
        tables = _percentiles(batch, units, breakdowns, cover)
        return [_finish(table, measure) for measure, table in zip(batch, tables, strict=True)]
    if not batch[0].additive:
        (measure,), (cover,) = batch, covers
        rows = [
            _median_by_period(units, frequency, periods, breakdown, version).assign(
                breakdown=breakdown, breakdown_version=version
            )
            for breakdown, version, _, _ in breakdowns
            for frequency, periods in cover.items()
        ]
        return [_finish(pd.concat(rows, ignore_index=True), measure)] if rows else []
    # Per breakdown, one query: every measure's sums by day and by the breakdown's column,
    # so the warehouse (not pandas) does the heavy grouping, whatever the data's size.
    counted = _counted(batch, units)
    sums = {}
    for i, measure in enumerate(batch):
        value = _as_value(measure.numerator(units))
        sums[f"_n{i}"] = _total(units, value, counted)
        if measure.denominator:
            sums[f"_d{i}"] = _total(units, _as_value(measure.denominator(units)), counted)
        if measure.value_type == "mean":
            square = value if value.type().is_boolean() else value * value  # a boolean's is itself
            sums[f"_q{i}"] = _total(units, square, counted)
    value_columns = list(sums)
    results = [[] for _ in batch]
    frequencies_used = {f for cover in covers for f in cover}
    for breakdown, version, column, groups in breakdowns:
        keys, aggregates, counts = {column: units[column]} if column else {}, dict(sums), None
        if counted is not None and column:
            aggregates["_counted"], counts = units.count(where=counted), "_counted"
        fine = _fine(units, batch[0], keys, aggregates, counts)
        group = groups(fine).to_numpy()
        labels = sorted(set(group[fine["_day"].notna().to_numpy()]), key=_natural) or ["all"]
        for frequency in frequencies_used:
            monthly = "month" if frequency == "rolling_12_months" else frequency
            starts = period_starts(fine["_day"], monthly).to_numpy()
            # Two deciles make a quintile, so labels are summed again after relabelling.
            # (Grouping by arrays, not Series, is a third quicker.)
            by_period = fine[value_columns].groupby([starts, group]).sum()
            by_period.index = by_period.index.set_levels(
                by_period.index.levels[0].date, level=0
            ).set_names(["period_start", "group"])
            for i in range(len(batch)):
                cover = covers[i].get(frequency)
                if not cover:
                    continue
                mine = pd.DataFrame(
                    {
                        "numerator": by_period[f"_n{i}"],
                        "denominator": by_period.get(f"_d{i}", 0),
                        "total_of_squares": by_period.get(f"_q{i}", 0),
                    }
                )
                table = _by_period(mine, frequency, cover, labels)
                table["breakdown"] = breakdown
                table["breakdown_version"] = version
                results[i].append(table)
    return [
        _finish(pd.concat(tables_, ignore_index=True), measure)
        for measure, tables_ in zip(batch, results, strict=True)
        if tables_
    ]


def _fine(
    units: ibis.Table,
    measure: Measure,
    keys: dict[str, ibis.Value],
    aggregates: dict[str, ibis.Value],
    counts: str | None = None,
) -> pd.DataFrame:
    """The aggregates by day and `keys`, from the warehouse.

    A snapshot keeps only the last census of each month, found for each source apart
    (`Measure.census_by`, so the aggregate is by source too), and among all its censuses,
    even one at which nothing is counted; then a group whose `counts` aggregate (the rows
    counted) is 0 is dropped, as a group with no units would never have had a row."""
    by = measure.census_by if measure.snapshot else ()
    keys = {"_day": _day(units), **{c: units[c] for c in by}, **keys}
    table = units.group_by(**keys).aggregate(**aggregates).to_pyarrow()
    # Days become datetimes in Arrow: pandas would first make a Python date of each.
    day = table.schema.get_field_index("_day")
    fine = table.set_column(day, "_day", table.column(day).cast(pa.timestamp("ns"))).to_pandas()
    if measure.snapshot:
        month = fine["_day"].dt.to_period("M")
        last = fine.groupby([month, *(fine[c] for c in by)], dropna=False)["_day"].transform("max")
        fine = fine[fine["_day"] == last]
        if counts:
            fine = fine[fine[counts] > 0]
    return fine


def _finish(result: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    if measure.per_day:
        # Means over every calendar day of the period, weekends included.
        days = (
            pd.to_datetime(result["period_end"]) - pd.to_datetime(result["period_start"])
        ).dt.days.to_numpy(dtype=float) + 1
        result["numerator"] = result["numerator"] / days
        result["denominator"] = (
            days if measure.value_type == "daily_mean" else (result["denominator"] / days)
        )
    result["measure_id"] = measure.id
    result["version"] = measure.version
    result["value_type"] = measure.value_type
    result["frequency"] = result["frequency"].astype(str)
    result["overlapping"] = result["frequency"] == "rolling_12_months"
    result["multiplier"] = measure.multiplier
    return _with_values(result, measure)


def _breakdown_groups(wanted, versions, has_people, own_area=False):
    """(breakdown, version, the units' column it groups by (None for all), and a function
    from an aggregate holding that column to each row's group label)."""
    yield "all", "", None, lambda fine: pd.Series("all", index=fine.index)
    for breakdown in wanted:
        if breakdown in UNIT_BREAKDOWNS or (
            has_people and breakdown in ("sex", "ethnic_group", "pcn")
        ):
            yield breakdown, "", breakdown, lambda fine, c=breakdown: _text(fine[c])
        elif breakdown == "age_band" and has_people:
            yield breakdown, "", "_age_band", lambda fine: _text(fine["_age_band"])
        elif breakdown in ("imd_decile", "imd_quintile") and (has_people or own_area):
            for version in versions:
                column = decile_column(version)
                relabel = quintile if breakdown == "imd_quintile" else None
                yield (
                    breakdown,
                    version,
                    column,
                    lambda fine, c=column, r=relabel: _text(fine[c], r),
                )


def _natural(label: str) -> tuple:
    """Sort key putting "7-13" before "14-20" and "2" before "10"; Unknown last."""
    parts = re.split(r"(\d+)", label)
    return (label == UNKNOWN, [int(p) if p.isdigit() else p for p in parts])


def _label(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _text(values: pd.Series, relabel=None) -> pd.Series:
    """Group labels as text (a missing value is Unknown), worked out once per distinct
    value rather than once per row."""
    codes, uniques = pd.factorize(values)
    labels = [_label(u) for u in uniques]
    if relabel is not None:
        labels = [relabel(label) for label in labels]
    table = np.asarray([*labels, UNKNOWN], dtype=object)  # code -1 (missing) -> Unknown
    return pd.Series(table[codes], index=values.index)


def _by_period(sums: pd.DataFrame, frequency: str, cover: dict, labels) -> pd.DataFrame:
    """Covered periods from sums by (period start, group): a group with no units in a
    covered period is a zero; an uncovered period is dropped (a gap)."""
    if frequency == "rolling_12_months":
        return _rolling(sums, cover, labels)
    starts = [p[0] for p in cover]
    index = pd.MultiIndex.from_product([starts, labels], names=["period_start", "group"])
    values = sums.reindex(index, fill_value=0)
    # The index runs period by period: each period's start, end and loads repeat once
    # for each label.
    n = len(labels)
    return pd.DataFrame(
        {
            "period_start": np.repeat(np.array(starts, object), n),
            "group": np.tile(np.array(labels, object), len(starts)),
            **{column: values[column].to_numpy() for column in values.columns},
            "period_end": np.repeat(np.array([p[1] for p in cover], object), n),
            "load_ids": np.repeat(np.array([" ".join(i) for i in cover.values()], object), n),
            "frequency": frequency,
        }
    )


def _rolling(monthly: pd.DataFrame, cover: dict, labels) -> pd.DataFrame:
    """Rolling 12-month sums from monthly sums. Every month of a covered rolling period is
    covered, so a month with no row there is a zero."""
    first = min(p[0] for p in cover)
    last = max(p[1] for p in cover)
    months = list(pd.period_range(first, last, freq="M").start_time.date)
    index = pd.MultiIndex.from_product([months, labels], names=["period_start", "group"])
    wide = monthly.reindex(index, fill_value=0).unstack("group")
    rolled = wide.rolling(12).sum()
    ends = {pd.Timestamp(p[1]).to_period("M").start_time.date(): p for p in cover}
    picked = rolled.loc[list(ends)].stack("group", future_stack=True).reset_index()
    picked["period_start"], picked["period_end"] = zip(
        *(ends[m] for m in picked["period_start"]), strict=True
    )
    picked["load_ids"] = picked["period_start"].map(
        {p[0]: " ".join(ids) for p, ids in cover.items()}
    )
    picked["frequency"] = "rolling_12_months"
    return picked


def _period_start_expr(day: ibis.Value, frequency: str) -> ibis.Value:
    """The period start of a date, in ibis (for the median path)."""
    if frequency == "day":
        return day
    if frequency == "week":
        return day - day.day_of_week.index().as_interval("D")
    if frequency == "month":
        return day.truncate("M")
    if frequency == "quarter":
        return day.truncate("Q")
    first = 9 if frequency == "academic_year" else 4  # September, else April
    year = ibis.ifelse(day.month() >= first, day.year(), day.year() - 1)
    return ibis.date(year, first, 1)


def _median_by_period(units, frequency, cover, breakdown, version) -> pd.DataFrame:
    if breakdown != "all":
        raise UserError(f"Medians by {breakdown} are not built yet; ask for them overall.")
    counted = units.filter(units._den > 0)
    grouped = (
        counted.mutate(_period=_period_start_expr(counted._day, frequency).cast("date"))
        .group_by("_period")
        .aggregate(
            numerator=counted._num.median(),
            denominator=counted._den.sum(),
            records=counted.count(),
        )
        .to_pandas()
    )
    grouped["_period"] = pd.to_datetime(grouped["_period"]).dt.date
    by_start = grouped.set_index("_period")
    rows = []
    for (first, last), ids in cover.items():
        found = by_start.loc[first] if first in by_start.index else None
        rows.append(
            {
                "period_start": first,
                "period_end": last,
                "group": "all",
                "numerator": np.nan,
                "_median": np.nan if found is None else float(found["numerator"]),
                "denominator": 0 if found is None else int(found["denominator"]),
                "records": 0 if found is None else int(found["records"]),
                "total_of_squares": np.nan,
                "load_ids": " ".join(ids),
                "frequency": frequency,
            }
        )
    return pd.DataFrame(rows)


def _percentiles(batch, units, breakdowns, cover) -> list[pd.DataFrame]:
    """Percentiles of each period and group, estimated from weekly band counts.

    As NHS England's RTT statistics estimate the median and 92nd percentile wait: within
    the band where the cumulative count first reaches p x N, interpolate linearly, taking
    the units as spread evenly across the band. Band k spans weeks k to k+1, so the result
    is in weeks; a percentile inside band 0 is p x N / n0 weeks. The measures of a batch
    share one set of band counts.
    """
    band = batch[0].bands(units)
    counted = _counted(batch, units)
    ends = {p[0]: p[1] for p in cover}
    load_ids = {p[0]: " ".join(ids) for p, ids in cover.items()}
    tables: list[list[pd.DataFrame]] = [[] for _ in batch]
    for breakdown, version, column, groups in breakdowns:
        keys = {"_band": band, **({column: units[column]} if column else {})}
        records = {"records": units.count(where=counted)}
        fine = _fine(units, batch[0], keys, records, "records")
        starts = pd.Categorical(period_starts(fine["_day"], "month").dt.date)
        keys = [starts, pd.Categorical(groups(fine)), fine["_band"].to_numpy()]
        sums = fine["records"].groupby(keys, observed=True).sum()
        sums.index.names = ["period_start", "group", "_band"]
        wide = sums.unstack("_band", fill_value=0)
        labels = sorted(set(wide.index.get_level_values("group")), key=_natural) or ["all"]
        index = pd.MultiIndex.from_product([list(ends), labels], names=["period_start", "group"])
        wide = wide.reindex(index, fill_value=0)
        counts = wide.to_numpy(dtype=float)
        bands = wide.columns.to_numpy(dtype=float)
        for i, measure in enumerate(batch):
            table = wide.index.to_frame(index=False)
            table["records"] = counts.sum(axis=1)
            value = _band_percentile(counts, bands, measure.percentile, measure.percentile_rank)
            if measure.open_band is not None:
                # Inside the open top band there is no width to interpolate across.
                value = np.where(value >= measure.open_band, np.nan, value)
            table["_percentile"] = value
            table["numerator"] = np.nan
            table["denominator"] = table["records"]
            table["total_of_squares"] = np.nan
            table["period_end"] = table["period_start"].map(ends)
            table["load_ids"] = table["period_start"].map(load_ids)
            table["frequency"] = "month"
            table["breakdown"] = breakdown
            table["breakdown_version"] = version
            tables[i].append(table)
    return [pd.concat(parts, ignore_index=True) for parts in tables]


def _band_percentile(
    counts: np.ndarray, bands: np.ndarray, p: float, rank: str = "pN"
) -> np.ndarray:
    """Row-wise linear interpolation inside the band where the cumulative count reaches
    the rank (rows: periods and groups; columns: bands in order). The rank is p x N, or
    p x (N + 1) with ``rank="p(N+1)"`` (NHS England's median: see `mkdeal.measures.waits`)."""
    if counts.size == 0:
        return np.full(len(counts), np.nan)
    total = counts.sum(axis=1)
    target = p * (total + 1) if rank == "p(N+1)" else p * total
    cumulative = np.cumsum(counts, axis=1)
    k = np.argmax(cumulative >= target[:, None], axis=1)
    rows = np.arange(len(counts))
    before = np.where(k > 0, cumulative[rows, np.maximum(k - 1, 0)], 0.0)
    within = counts[rows, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = bands[k] + (target - before) / within
    return np.where(total > 0, value, np.nan)


def _with_values(result: pd.DataFrame, measure: Measure) -> pd.DataFrame:
    """Value and 95% interval for each row, by the measure's value type."""
    num = result["numerator"].to_numpy(dtype=float)
    den = result["denominator"].to_numpy(dtype=float)
    kind = measure.value_type
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == "proportion":
            value = np.where(den > 0, num / den, np.nan)
            lower, upper = stats.wilson(num, den)
        elif kind == "count":
            value = num
            lower, upper = stats.exact_poisson(num)
            result["denominator"] = np.nan
        elif kind == "rate":
            value = np.where(den > 0, num / den * measure.multiplier, np.nan)
            lower, upper = stats.exact_poisson(num, den, measure.multiplier)
        elif kind == "mean":
            value = np.where(den > 0, num / den, np.nan)
            lower, upper = stats.mean_interval(
                num, result["total_of_squares"].to_numpy(dtype=float), den
            )
        elif kind == "ratio":  # a ratio of daily means: no interval
            value = np.where(den > 0, num / den, np.nan)
            lower = upper = np.full(len(result), np.nan)
        elif kind == "daily_mean":
            value = num
            lower = upper = np.full(len(result), np.nan)
        elif kind == "percentile":
            value = result["_percentile"].to_numpy(dtype=float)
            lower = upper = np.full(len(result), np.nan)
        else:  # median (its numerator is the median) or total: no interval
            value = num if kind == "total" else result["_median"].to_numpy(dtype=float)
            lower = upper = np.full(len(result), np.nan)
    result["value"] = value
    result["lower"] = lower
    result["upper"] = upper
    return result


def breakdown_choices(measures: Iterable[Measure]) -> list[str]:
    """Every breakdown at least one of `measures` supports."""
    seen: list[str] = []
    for measure in measures:
        seen.extend(b for b in measure.breakdowns if b not in seen)
    return seen
