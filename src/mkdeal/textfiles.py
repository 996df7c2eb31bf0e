"""Reading partner CSV files as text, so nothing is lost to type guessing."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pa_csv

from mkdeal.errors import UserError


def csv_header(path: Path) -> list[str]:
    """The header row's names (trimmed), or a sentence saying why there is none."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
    except FileNotFoundError:
        raise UserError(f"There is no file {path}.") from None
    except UnicodeDecodeError:
        raise UserError(f"{path} is not UTF-8 text; save it as CSV (UTF-8).") from None
    if not header:
        raise UserError(f"{path} is empty; a CSV file with a header row is needed.")
    return [name.strip() for name in header]


def read_csv_as_text(path: Path, header: list[str]) -> pa.Table:
    """Every column as text, empty cells as empty strings, in file order."""
    try:
        table = pa_csv.read_csv(
            path,
            read_options=pa_csv.ReadOptions(encoding="utf8"),
            convert_options=pa_csv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as error:
        # Arrow's message can quote the row, which may hold personal data: keep its first clause.
        reason = str(error).split(": ", 1)[0]
        raise UserError(f"{path} could not be read as CSV: {reason}.") from None
    return table.rename_columns(header)
