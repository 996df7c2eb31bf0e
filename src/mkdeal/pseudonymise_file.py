"""Pseudonymise a CSV file: NHS numbers out, `person_id` in, bad rows quarantined.

For a partner who must share a person-level list without NHS numbers, and the place the
dataset loads (a later issue) reuse for their person key. Work is set-based in an
in-memory DuckDB: validity is checked by an ibis expression over the whole file, and the
keyed hash is computed once per distinct number. Nothing is lost: read = written +
quarantined, and a quarantined row keeps every other field with its number masked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import ibis
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from mkdeal.errors import UserError
from mkdeal.people import (
    Pseudonymiser,
    mask_nhs_number,
    nhs_number_is_valid_expr,
    nhs_number_problem,
    normalise_nhs_number_expr,
    pseudonymise_column,
)
from mkdeal.textfiles import csv_header, read_csv_as_text

log = logging.getLogger(__name__)
ROW = "_mkdeal_row"


@dataclass(frozen=True)
class PseudonymiseSummary:
    read: int
    written: int
    quarantined: int
    people: int
    output: Path
    quarantine: Path
    key_fingerprint: str


def pseudonymise_csv(
    source: Path,
    column: str,
    output: Path,
    quarantine: Path,
    pseudonymiser: Pseudonymiser,
) -> PseudonymiseSummary:
    """Write `output` (the file with `column` replaced by person_id) and `quarantine`."""
    table = _read_all_text(source)
    if column not in table.column_names:
        raise UserError(
            f"{source} has no column {column!r}; its columns are "
            f"{', '.join(table.column_names)}. Name the NHS number column with --column."
        )
    if "person_id" in table.column_names:
        raise UserError(
            f"{source} already has a person_id column; it may be pseudonymised already."
        )
    # Row 1 is the header, so the first record is row 2, as a spreadsheet shows it.
    table = table.append_column(ROW, pa.array(range(2, table.num_rows + 2), pa.int64()))
    log.info("Read %d rows from %s.", table.num_rows, source)

    connection = ibis.duckdb.connect()
    try:
        records = connection.create_table("records", table)
        valid = nhs_number_is_valid_expr(normalise_nhs_number_expr(records[column]))
        good = pseudonymise_column(records.filter(valid), column, pseudonymiser)
        good = good.order_by(ROW).drop(ROW).to_pyarrow()
        bad = records.filter(~valid).order_by(ROW).to_pyarrow()
    finally:
        connection.disconnect()

    quarantined = _quarantine_rows(bad, column)
    output.parent.mkdir(parents=True, exist_ok=True)
    quarantine.parent.mkdir(parents=True, exist_ok=True)
    pa_csv.write_csv(good, output)
    pa_csv.write_csv(quarantined, quarantine)
    if good.num_rows + quarantined.num_rows != table.num_rows:
        raise AssertionError("Rows were lost while pseudonymising; nothing should be.")
    log.info(
        "Wrote %d rows to %s and quarantined %d in %s.",
        good.num_rows,
        output,
        quarantined.num_rows,
        quarantine,
    )
    return PseudonymiseSummary(
        read=table.num_rows,
        written=good.num_rows,
        people=len(pc.unique(good["person_id"])),
        quarantined=quarantined.num_rows,
        output=output,
        quarantine=quarantine,
        key_fingerprint=pseudonymiser.fingerprint,
    )


def _read_all_text(source: Path) -> pa.Table:
    """Every column as text, so NHS numbers keep their leading zeros and spacing."""
    header = csv_header(source)
    if len(set(header)) != len(header):
        raise UserError(f"{source} repeats a column name in its header: {', '.join(header)}.")
    return read_csv_as_text(source, header)


def _quarantine_rows(bad: pa.Table, column: str) -> pa.Table:
    """Bad rows with their number masked, their row number, and the reason, in words."""
    values = bad[column].to_pylist()
    reasons = [f"{column} {nhs_number_problem(value)}" for value in values]
    masked = pa.array([mask_nhs_number(value) for value in values], pa.string())
    bad = bad.set_column(bad.column_names.index(column), column, masked)
    rows = bad[ROW]
    bad = bad.drop_columns([ROW])
    return bad.add_column(0, "row", rows).add_column(1, "reason", pa.array(reasons, pa.string()))
