"""Dataset contracts: each record-level source described once.

A contract says, for every column, its type, meaning, allowed codes or pattern, plausible
range and caveats; and for the dataset, its natural key, the period column that places a
row in a period (none for reference datasets), row checks across columns, caveats, and
the national dataset it mirrors. The loader, the synthetic generator, the generated docs
(`docs/datasets.md`) and the tests all read the same contract.

Column types, and what a source may write for each (a blank cell is missing):

- `string`: text, trimmed.
- `integer`, `decimal`: numbers (a decimal point, never a thousands separator).
- `date`: `YYYY-MM-DD` or `DD/MM/YYYY`.
- `year_month`: `YYYY-MM` (stored as the first day of the month).
- `timestamp`: a date and time, `YYYY-MM-DD HH:MM[:SS]` (or with `T`), or `DD/MM/YYYY
  HH:MM[:SS]`; with an offset (`Z`, `+01:00`) it is taken as written, without one it is
  local time in Europe/London. Stored in UTC, with the source's offset kept beside it in
  `<column>_utc_offset_minutes`. A local time that does not exist (the spring clock change)
  is refused; an ambiguous one (the autumn change) takes its first occurrence.
- `boolean`: Y/N, yes/no, true/false, 1/0 (any case).
- `nhs_number`: an NHS number, checked with its modulus 11 check digit and replaced by
  `person_id` on load; the number itself never reaches the warehouse.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import ibis.expr.types as ir
import pyarrow as pa

ColumnType = Literal[
    "string", "integer", "decimal", "date", "year_month", "timestamp", "boolean", "nhs_number"
]
COLUMN_TYPES: tuple[str, ...] = (
    "string",
    "integer",
    "decimal",
    "date",
    "year_month",
    "timestamp",
    "boolean",
    "nhs_number",
)


@dataclass(frozen=True)
class Column:
    """One column of a source file."""

    name: str
    type: ColumnType
    meaning: str
    required: bool = True
    # The name of a code list in mkdeal.datasets.codes; values must be one of its codes.
    codes: str | None = None
    # A regular expression the whole value must match (after trimming), with its name.
    pattern: str | None = None
    pattern_name: str | None = None
    # Plausible range, inclusive; values outside are quarantined. Dates as ISO strings.
    minimum: float | str | None = None
    maximum: float | str | None = None
    caveat: str | None = None
    # A valid value as a source would write it: shown in the docs, used by generated tests.
    example: str | None = None

    def __post_init__(self) -> None:
        if self.type not in COLUMN_TYPES:
            raise ValueError(f"Column {self.name!r} has unknown type {self.type!r}.")
        if self.pattern and not self.pattern_name:
            raise ValueError(f"Column {self.name!r} has a pattern but no pattern_name.")


@dataclass(frozen=True)
class RowCheck:
    """A rule across columns, e.g. "discharge not before admission".

    `holds` receives the table of parsed, typed columns and returns a boolean expression;
    it is only asked about rows where every column in `uses` has a value. A row where it
    is false is quarantined with `field` and `reason`.
    """

    field: str
    reason: str
    uses: tuple[str, ...]
    holds: Callable[[ir.Table], ir.BooleanValue]


@dataclass(frozen=True)
class NationalSource:
    name: str
    url: str


@dataclass(frozen=True)
class Dataset:
    """A contract for one record-level source."""

    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    natural_key: tuple[str, ...]
    # The date column that places a row in a period; None for reference datasets, which
    # are replaced whole per source.
    period_column: str | None
    mirrors: tuple[NationalSource, ...]
    caveats: tuple[str, ...] = ()
    row_checks: tuple[RowCheck, ...] = field(default=())
    person_level: bool = True
    # Columns worked out once at load from the checked rows and stored with them (for
    # example a child's BMI centile): (name, ibis type, meaning), and the function that
    # adds them to an Arrow table of checked rows, after every contract column.
    derived_columns: tuple[tuple[str, str, str], ...] = ()
    derive: Callable[[pa.Table], pa.Table] | None = None
    # For a reference dataset: a column whose values split a source's rows into slices
    # replaced separately (area deprivation keeps each index version), instead of a load
    # replacing the source's whole table.
    replaces_by: str | None = None

    def __post_init__(self) -> None:
        if bool(self.derived_columns) != (self.derive is not None):
            raise ValueError(f"Dataset {self.name!r}: derived columns need a derive function.")
        names = [column.name for column in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"Dataset {self.name!r} repeats a column name.")
        for name in (*self.natural_key, *(c for check in self.row_checks for c in check.uses)):
            if name not in names:
                raise ValueError(f"Dataset {self.name!r} refers to unknown column {name!r}.")
        if self.replaces_by is not None and (
            self.period_column is not None or self.replaces_by not in names
        ):
            raise ValueError(
                f"Dataset {self.name!r}: replaces_by must name a column of a reference dataset."
            )
        if self.period_column is not None:
            period = self.column(self.period_column)
            if period.type not in ("date", "timestamp"):
                raise ValueError(f"The period column of {self.name!r} must be a date or timestamp.")
        nhs_columns = [c.name for c in self.columns if c.type == "nhs_number"]
        if len(nhs_columns) > 1:
            raise ValueError(f"Dataset {self.name!r} has more than one nhs_number column.")
        if self.person_level and not nhs_columns:
            raise ValueError(f"Person-level dataset {self.name!r} has no nhs_number column.")

    @property
    def kind(self) -> str:
        return "reference" if self.period_column is None else "event"

    @property
    def column_names(self) -> list[str]:
        return [column.name for column in self.columns]

    @property
    def nhs_number_column(self) -> str | None:
        names = [column.name for column in self.columns if column.type == "nhs_number"]
        return names[0] if names else None

    def column(self, name: str) -> Column:
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def warehouse_columns(self) -> list[tuple[str, str]]:
        """(name, ibis type) of the warehouse table, in order, after pseudonymisation."""
        columns: list[tuple[str, str]] = [("_load_id", "string"), ("_row", "int64")]
        for column in self.columns:
            if column.type == "nhs_number":
                columns.append(("person_id", "string"))
            elif column.type == "timestamp":
                columns.append((column.name, "timestamp"))
                columns.append((f"{column.name}_utc_offset_minutes", "int32"))
            else:
                columns.append((column.name, WAREHOUSE_TYPES[column.type]))
        columns.extend((name, kind) for name, kind, _ in self.derived_columns)
        return columns


WAREHOUSE_TYPES = {
    "string": "string",
    "integer": "int64",
    "decimal": "float64",
    "date": "date",
    "year_month": "date",
    "boolean": "boolean",
}
