"""Benchmark NHS number validation and pseudonymisation (mkdeal.people).

Generates ROWS valid NHS numbers from the 999 test range (about a fifth of the rows repeat
an earlier number) into an in-memory DuckDB table, then times:

1. validation in Python, one value at a time (`is_valid_nhs_number`);
2. validation set-based in DuckDB (`nhs_number_is_valid_expr` over
   `normalise_nhs_number_expr`), counted in the engine;
3. `pseudonymise_column` end to end, materialised as a DuckDB table (and, on their own,
   its first two parts: fetching the distinct normalised numbers, and checking them and
   computing their person_ids in Python).

It prints figures and asserts nothing about time. The 999 range holds 909,091 valid
numbers, so above about 1.14 million rows the share of repeats grows; the distinct count
is printed.

    .venv/bin/python benchmarks/pseudonymise.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import time

import ibis
import numpy as np
import pyarrow as pa

from mkdeal.people import (
    Pseudonymiser,
    is_valid_nhs_number,
    nhs_number_is_valid_expr,
    normalise_nhs_number_expr,
    pseudonymise_column,
)

_WEIGHTS = np.array([10, 9, 8, 7, 6, 5, 4, 3, 2], dtype=np.int64)


def valid_test_range_numbers() -> np.ndarray:
    """Every valid NHS number starting 999, as int64, in ascending order."""
    bodies = np.arange(999_000_000, 1_000_000_000, dtype=np.int64)
    powers = 10 ** np.arange(8, -1, -1, dtype=np.int64)
    digits = (bodies[:, None] // powers) % 10
    check = 11 - (digits @ _WEIGHTS) % 11
    check[check == 11] = 0
    keep = check != 10
    return bodies[keep] * 10 + check[keep]


def generate(rows: int, repeat_share: float, seed: int) -> tuple[pa.Table, int]:
    """ROWS numbers as text, about `repeat_share` of them repeats; and the distinct count."""
    rng = np.random.default_rng(seed)
    pool = valid_test_range_numbers()
    distinct = min(len(pool), max(1, round(rows * (1 - repeat_share))))
    chosen = rng.choice(pool, size=distinct, replace=False)
    repeats = rng.choice(chosen, size=rows - distinct, replace=True)
    numbers = np.concatenate([chosen, repeats])
    rng.shuffle(numbers)
    text = pa.array(numbers).cast(pa.string())
    table = pa.table({"row": pa.array(np.arange(rows, dtype=np.int64)), "nhs_number": text})
    return table, distinct


def timed(label: str, rows: int, action, repeat: int) -> object:
    """Run `action` `repeat` times; print the best time and its rows per second."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        result = action()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<48} {best:8.2f} s  {rows / best:>12,.0f} rows/s")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows to generate")
    parser.add_argument("--repeats", type=float, default=0.2, help="share of repeated rows")
    parser.add_argument("--seed", type=int, default=20260331, help="random seed")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each step; best shown")
    args = parser.parse_args()

    source, distinct = generate(args.rows, args.repeats, args.seed)
    con = ibis.duckdb.connect()
    table = con.create_table("numbers", source)
    values = source["nhs_number"].to_pylist()
    threads = con.raw_sql("SELECT current_setting('threads')").fetchone()[0]
    print(f"rows {args.rows:,}, distinct numbers {distinct:,}, DuckDB threads {threads}")

    valid = timed(
        "1. Python is_valid_nhs_number, per value",
        args.rows,
        lambda: sum(map(is_valid_nhs_number, values)),
        args.repeat,
    )
    assert valid == args.rows, "every generated number should be valid"

    expr = nhs_number_is_valid_expr(normalise_nhs_number_expr(table.nhs_number))
    counted = timed(
        "2. ibis expression in DuckDB, set-based",
        args.rows,
        lambda: con.execute(table.select(ok=expr.cast("int64")).ok.sum()),
        args.repeat,
    )
    assert counted == args.rows, "the engine should agree that every number is valid"

    # The parts of step 3, timed on their own to show where its time goes.
    distinct_query = table.select(key=normalise_nhs_number_expr(table.nhs_number)).distinct()
    distinct_values = timed(
        "   3a. distinct normalised numbers to Python",
        args.rows,
        lambda: distinct_query.to_pyarrow()["key"].to_pylist(),
        args.repeat,
    )
    pseudonymiser = Pseudonymiser(os.urandom(32))
    timed(
        "   3b. person_ids (check + HMAC), per distinct",
        len(distinct_values),
        lambda: pseudonymiser.person_ids(distinct_values),
        args.repeat,
    )
    result = timed(
        "3. pseudonymise_column, end to end",
        args.rows,
        lambda: con.create_table(
            "pseudonymised",
            pseudonymise_column(table, "nhs_number", pseudonymiser),
            overwrite=True,
        ),
        args.repeat,
    )
    people = con.execute(result.person_id.nunique())
    nulls = con.execute(result.person_id.isnull().sum())
    print(f"person_ids {people:,} distinct, {nulls:,} null, {con.execute(result.count()):,} rows")
    con.disconnect()


if __name__ == "__main__":
    main()
