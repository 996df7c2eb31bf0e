"""Files of the right shape for any contract: for tests and benchmarks, not for analysis.

Each generated row is the contract's example row moved in time: every date and time in it
is shifted by the same random number of days, so the gaps the row checks look at (admission
before discharge, birth before measurement) stay as the examples have them, while the
period column spreads over a year. Keys are made unique, NHS numbers are valid numbers from
the 999 test range, and code columns that no row check looks at take random codes. The
synthetic Milton Keynes (a later issue) replaces this with calibrated data.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pyarrow as pa

from mkdeal.datasets.codes import code_list
from mkdeal.datasets.contract import Column, Dataset

_WEIGHTS = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2])
# Stems 999000000-999999999 whose modulus 11 check value is not 10: 10/11 of a million.
TEST_RANGE_SIZE = 909_091


def test_range_nhs_numbers(
    count: int, rng: np.random.Generator, *, people: int | None = None
) -> np.ndarray:
    """`count` valid NHS numbers from the 999 test range, drawn from `people` distinct ones."""
    pool_size = people or count
    if pool_size > TEST_RANGE_SIZE:
        raise ValueError(
            f"The 999 test range holds {TEST_RANGE_SIZE:,} valid NHS numbers, fewer than the "
            f"{pool_size:,} distinct people asked for."
        )
    # Nine-digit stems 999000000..999999999 whose check digit is not 10.
    stems = 999_000_000 + rng.permutation(1_000_000)[: min(pool_size * 2, 1_000_000)]
    digits = (stems[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = 11 - (digits @ _WEIGHTS) % 11
    check = np.where(check == 11, 0, check)
    keep = check != 10
    numbers = (stems[keep] * 10 + check[keep])[:pool_size]
    chosen = numbers if people is None else rng.choice(numbers, size=count)
    return np.char.mod("%010d", chosen[:count])


def shaped_table(
    dataset: Dataset, rows: int, *, seed: int = 0, start: date = date(2025, 4, 1)
) -> pa.Table:
    """`rows` rows as text, as a partner's CSV would hold them."""
    rng = np.random.default_rng(seed)
    shift = rng.integers(0, 365, size=rows)
    start_shift = (start - _example_day(dataset)).days
    checked = {name for check in dataset.row_checks for name in check.uses}
    columns = {}
    for column in dataset.columns:
        columns[column.name] = _values(column, dataset, rows, rng, shift + start_shift, checked)
    return pa.table(columns)


def _example_day(dataset: Dataset) -> date:
    if dataset.period_column is None:
        return date(2025, 4, 1)
    return _parse_day(dataset.column(dataset.period_column).example)


def _parse_day(text: str) -> date:
    return datetime.fromisoformat(text[:10]).date()


def _values(
    column: Column,
    dataset: Dataset,
    rows: int,
    rng: np.random.Generator,
    shift: np.ndarray,
    checked: set[str],
) -> pa.Array:
    example = column.example
    if column.type == "nhs_number":
        # About three rows a person, unless the number is the row's key.
        people = (
            None if column.name in dataset.natural_key else min(max(1, rows // 3), TEST_RANGE_SIZE)
        )
        return pa.array(test_range_nhs_numbers(rows, rng, people=people))
    if (
        column.name in dataset.natural_key
        and column.type in ("string", "integer")
        and not column.codes
    ):
        return pa.array(_unique(example or column.name.upper(), rows))
    if example is None:
        if column.required:
            raise ValueError(f"Column {column.name!r} of {dataset.name} needs an example.")
        return pa.nulls(rows, pa.string())
    if column.type in ("date", "timestamp", "year_month"):
        return pa.array(_shifted(example, column.type, shift))
    if column.codes and column.name not in checked:
        codes = list(code_list(column.codes).codes)
        return pa.array(np.array(codes, dtype=object)[rng.integers(0, len(codes), size=rows)])
    return pa.array([example] * rows)


def _unique(example: str, rows: int) -> np.ndarray:
    """Distinct values like the example: its last digits become a counter, so a value a
    pattern fixes in length (an LSOA code, a URN) keeps its shape where it can."""
    width = len(str(rows))
    trailing = len(example) - len(example.rstrip("0123456789"))
    prefix = example[:-width] if trailing >= width else example[: len(example) - trailing]
    counter = np.char.zfill(np.arange(1, rows + 1).astype(str), width)
    return np.char.add(prefix, counter)


def _shifted(example: str, kind: str, shift: np.ndarray) -> np.ndarray:
    if kind == "year_month":
        base = np.datetime64(example + "-01", "D")
        days = base + shift.astype("timedelta64[D]")
        return np.datetime_as_string(days, unit="M")
    if kind == "date":
        base = np.datetime64(_parse_day(example).isoformat(), "D")
        return np.datetime_as_string(base + shift.astype("timedelta64[D]"), unit="D")
    # Timestamps keep the example's clock time, written as local time without an offset.
    moment = datetime.fromisoformat(example.replace("Z", "+00:00")).replace(tzinfo=None)
    base = np.datetime64(moment.isoformat(timespec="minutes"), "m")
    values = base + (shift * 1440).astype("timedelta64[m]")
    text = np.datetime_as_string(values, unit="m")
    return np.char.replace(text.astype(str), "T", " ")
