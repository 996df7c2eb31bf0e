"""Official published values of a measure, read from the files they are published in, to
show beside ours (an I/O edge: it reads files; the rest is pandas on small tables).

Two layouts are read, recognised by their headers:

- **A Fingertips indicator export** (OHID, fingertips.phe.org.uk, "Export table as CSV" or
  the API's all_data CSV): one row per indicator, area, sex, age, category and time period,
  with `Value`, `Lower CI 95.0 limit`, `Upper CI 95.0 limit`, `Count` and `Denominator`.
  Rows are chosen by `Indicator ID` (when the file holds several), `Area Code`, `Sex`
  (default Persons) and an empty `Category Type` (the whole population). A time period
  such as "2023/24" is the measure's academic or financial year; "2023" a calendar year.
- **NHS England's RTT "Incomplete Commissioner" file** (monthly Referral to Treatment
  statistics): one row per commissioner and treatment function with weekly bands and
  `Total number of incomplete pathways`, `Total within 18 weeks`, `% within 18 weeks` and
  `Average (median) waiting time (in weeks)`. The total row (treatment function IP999 or
  C_999) of the named commissioner is read for `rtt.within_18_weeks`, `rtt.waiting_list`
  or `rtt.median_wait`; the file has no period column, so the month is given.

A percentage is turned into the fraction mkdeal keeps for a proportion measured in "%".
Each comparator keeps its file's name, publisher, publication date and link.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pyarrow as pa

from mkdeal.errors import UserError
from mkdeal.measures.definition import Measure

COMPARATOR_COLUMNS = (
    "comparator_id",
    "measure_id",
    "area_code",
    "area_name",
    "frequency",
    "period_start",
    "period_end",
    "value",
    "lower",
    "upper",
    "numerator",
    "denominator",
    "source_file",
    "publisher",
    "published_on",
    "url",
)
RTT_TOTAL_FUNCTIONS = ("IP999", "C_999")
RTT_COLUMNS = {
    "rtt.within_18_weeks": ("% within 18 weeks", "Total within 18 weeks"),
    "rtt.waiting_list": ("Total number of incomplete pathways", None),
    "rtt.median_wait": ("Average (median) waiting time (in weeks)", None),
}


@dataclass(frozen=True)
class Publication:
    """Where the official figures were published."""

    publisher: str
    published_on: date
    url: str


def read_comparator(
    path: Path,
    measure: Measure,
    publication: Publication,
    *,
    area: str,
    indicator: str | None = None,
    sex: str = "Persons",
    month: date | None = None,
) -> pd.DataFrame:
    """The official values for `measure` and `area` in the file at `path`, one row per
    period, in `COMPARATOR_COLUMNS`."""
    if not path.is_file():
        raise UserError(f"There is no file {path}.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (UnicodeDecodeError, pd.errors.ParserError) as error:
        raise UserError(f"{path.name} is not a readable CSV file ({error}).") from error
    frame.columns = [c.strip() for c in frame.columns]
    if {"Indicator ID", "Area Code", "Time period", "Value"} <= set(frame.columns):
        rows = _fingertips(frame, path, measure, area, indicator, sex)
    elif {"Treatment Function Code", "Total number of incomplete pathways"} <= set(frame.columns):
        rows = _rtt_commissioner(frame, path, measure, area, month)
    else:
        raise UserError(
            f"{path.name} is neither a Fingertips indicator export (it would have the "
            "columns Indicator ID, Area Code, Time period and Value) nor NHS England's RTT "
            "Incomplete Commissioner file (Treatment Function Code, Total number of "
            f"incomplete pathways). Its first columns are: {', '.join(frame.columns[:6])}."
        )
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    rows["comparator_id"] = f"C{digest}-{measure.id}-{area}"
    rows["measure_id"] = measure.id
    rows["source_file"] = path.name
    rows["publisher"] = publication.publisher
    rows["published_on"] = publication.published_on
    rows["url"] = publication.url
    return rows[list(COMPARATOR_COLUMNS)].reset_index(drop=True)


def beside(ours: pd.DataFrame, official: pd.DataFrame) -> pd.DataFrame:
    """Our overall figures with the official ones for the same periods beside them (the
    latest publication where several give a period)."""
    ours = ours[ours["breakdown"] == "all"][
        ["measure_id", "frequency", "period_start", "period_end", "value", "numerator"]
    ]
    latest = (
        official.sort_values("published_on")
        .groupby(["measure_id", "frequency", "period_start"], as_index=False)
        .last()
    )
    merged = ours.merge(
        latest[
            [
                "measure_id",
                "frequency",
                "period_start",
                "area_code",
                "value",
                "lower",
                "upper",
                "numerator",
                "source_file",
                "published_on",
            ]
        ].rename(
            columns={
                "value": "official_value",
                "lower": "official_lower",
                "upper": "official_upper",
                "numerator": "official_numerator",
            }
        ),
        on=["measure_id", "frequency", "period_start"],
        how="outer",
    )
    return merged.sort_values(["measure_id", "frequency", "period_start"]).reset_index(drop=True)


def _fingertips(frame, path, measure, area, indicator, sex) -> pd.DataFrame:
    if indicator is not None:
        frame = frame[frame["Indicator ID"].str.strip() == str(indicator)]
    indicators = sorted(set(frame["Indicator ID"]))
    if len(indicators) != 1:
        raise UserError(
            f"{path.name} holds indicators {', '.join(indicators) or 'none'}: name the one "
            "to read with --indicator."
        )
    chosen = frame[
        (frame["Area Code"].str.strip() == area)
        & (frame["Sex"].str.strip() == sex)
        & (frame.get("Category Type", pd.Series("", index=frame.index)).str.strip() == "")
    ]
    if chosen.empty:
        raise UserError(
            f"{path.name} has no rows for area {area}, sex {sex} and the whole population "
            f"(no Category Type) in indicator {indicators[0]}."
        )
    periods = [_period(text, measure, path, line) for line, text in _lines(chosen, "Time period")]
    scale = measure.display_scale
    rows = pd.DataFrame(
        {
            "area_code": area,
            "area_name": chosen["Area Name"].str.strip().to_numpy(),
            "frequency": [p[0] for p in periods],
            "period_start": [p[1] for p in periods],
            "period_end": [p[2] for p in periods],
            "value": _numbers(chosen, "Value", path) / scale,
            "lower": _numbers(chosen, "Lower CI 95.0 limit", path) / scale,
            "upper": _numbers(chosen, "Upper CI 95.0 limit", path) / scale,
            "numerator": _numbers(chosen, "Count", path),
            "denominator": _numbers(chosen, "Denominator", path),
        }
    )
    return rows


def _rtt_commissioner(frame, path, measure, area, month) -> pd.DataFrame:
    if measure.id not in RTT_COLUMNS:
        raise UserError(
            f"NHS England's RTT Incomplete Commissioner file gives {', '.join(RTT_COLUMNS)}, "
            f"not {measure.id}."
        )
    if month is None:
        raise UserError(
            f"{path.name} has no period column: give the month it is for (--month YYYY-MM)."
        )
    code_column = next((c for c in frame.columns if c.endswith("Code") and "CCG" in c), None)
    code_column = code_column or next(c for c in frame.columns if "Commissioner" in c)
    chosen = frame[
        (frame[code_column].str.strip() == area)
        & frame["Treatment Function Code"].str.strip().isin(RTT_TOTAL_FUNCTIONS)
    ]
    if len(chosen) != 1:
        raise UserError(
            f"{path.name} has {len(chosen)} total rows (treatment function IP999 or C_999) "
            f"for commissioner {area}; it needs exactly one."
        )
    value_column, numerator_column = RTT_COLUMNS[measure.id]
    value = _numbers(chosen, value_column, path)
    denominator = _numbers(chosen, "Total number of incomplete pathways", path)
    numerator = _numbers(chosen, numerator_column, path) if numerator_column else value
    start = month.replace(day=1)
    end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    name_column = next((c for c in frame.columns if c.endswith("Name") and "CCG" in c), code_column)
    return pd.DataFrame(
        {
            "area_code": area,
            "area_name": chosen[name_column].str.strip().to_numpy(),
            "frequency": "month",
            "period_start": [start],
            "period_end": [end],
            "value": value,
            "lower": float("nan"),
            "upper": float("nan"),
            "numerator": numerator,
            "denominator": denominator if measure.id == "rtt.within_18_weeks" else float("nan"),
        }
    )


def _lines(frame: pd.DataFrame, column: str):
    # Line numbers as a person sees them in the file: the header is line 1.
    return zip((frame.index + 2).tolist(), frame[column].str.strip(), strict=True)


def _numbers(frame: pd.DataFrame, column: str, path: Path) -> pd.Series:
    if column not in frame.columns:
        raise UserError(f"{path.name} has no column {column!r}.")
    text = frame[column].str.strip().str.replace(",", "", regex=False)
    numbers = pd.to_numeric(text.replace("", None), errors="coerce")
    bad = numbers.isna() & (text != "")
    if bad.any():
        line = int(frame.index[bad.to_numpy()][0]) + 2
        raise UserError(
            f"{path.name}, line {line}, column {column!r}: {text[bad].iloc[0]!r} is not a number."
        )
    return numbers.astype(float).reset_index(drop=True)


def _period(text: str, measure: Measure, path: Path, line: int) -> tuple[str, date, date]:
    """A Fingertips time period as (frequency, start, end) for this measure."""
    split = re.fullmatch(r"(\d{4})/(\d{2})", text)
    if split:
        first = int(split.group(1))
        if measure.frequency == "academic_year":
            return "academic_year", date(first, 9, 1), date(first + 1, 8, 31)
        return "financial_year", date(first, 4, 1), date(first + 1, 3, 31)
    if re.fullmatch(r"\d{4}", text):
        year = int(text)
        return "calendar_year", date(year, 1, 1), date(year, 12, 31)
    raise UserError(
        f"{path.name}, line {line}, Time period {text!r}: mkdeal reads single years such as "
        "2023/24 or 2023; a pooled or part-year period cannot be set beside a measure."
    )


# --- Kept in the warehouse, published with the measures --------------------------------

COMPARATORS_TABLE = "_comparators"
COMPARATORS_SCHEMA = [
    ("comparator_id", "string"),
    ("measure_id", "string"),
    ("area_code", "string"),
    ("area_name", "string"),
    ("frequency", "string"),
    ("period_start", "date"),
    ("period_end", "date"),
    ("value", "float64"),
    ("lower", "float64"),
    ("upper", "float64"),
    ("numerator", "float64"),
    ("denominator", "float64"),
    ("source_file", "string"),
    ("publisher", "string"),
    ("published_on", "date"),
    ("url", "string"),
]


def save_comparator(backend, rows: pd.DataFrame) -> str:
    """Store one file's official values; the same file again replaces its own rows."""
    from mkdeal.datasets.load import WarehouseWriter

    writer = WarehouseWriter(backend)
    writer.ensure_table(COMPARATORS_TABLE, COMPARATORS_SCHEMA)
    schema = pa.schema([(n, _ARROW[t]) for n, t in COMPARATORS_SCHEMA])
    table = pa.Table.from_pandas(rows, schema=schema, preserve_index=False)
    (comparator_id,) = set(rows["comparator_id"])
    existing = backend.table(COMPARATORS_TABLE)
    before = existing.filter(existing.comparator_id == comparator_id).count().to_pyarrow().as_py()
    with writer.transaction():
        writer.execute(f"DELETE FROM {COMPARATORS_TABLE} WHERE comparator_id = ?", (comparator_id,))
        writer.append(COMPARATORS_TABLE, table)
    return "replaced" if before else "loaded"


def saved_comparators(backend) -> pd.DataFrame:
    """Every stored official value (none: an empty table with the columns)."""
    if COMPARATORS_TABLE not in backend.list_tables():
        return pd.DataFrame(columns=list(COMPARATOR_COLUMNS))
    frame = backend.table(COMPARATORS_TABLE).to_pyarrow().to_pandas()
    for column in ("period_start", "period_end", "published_on"):
        frame[column] = pd.to_datetime(frame[column]).dt.date
    return frame


_ARROW = {"string": pa.string(), "date": pa.date32(), "float64": pa.float64()}
