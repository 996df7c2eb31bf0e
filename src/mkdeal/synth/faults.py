"""Realistic faults planted in synthetic files, so quarantine has something true to show.

Each planted fault is listed (dataset, row as a spreadsheet numbers it, field, fault), and
the loader must quarantine exactly those rows for exactly those fields. Kinds: an NHS
number with a wrong check digit, an unknown code, a discharge before its admission, an
impossible height (metres typed for centimetres), and a repeated key (a row sent twice).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from mkdeal.datasets import DATASETS


def _kinds(name: str) -> list[tuple[str, str]]:
    """(fault, field) kinds that apply to a dataset, in a fixed order."""
    dataset = DATASETS[name]
    kinds = []
    if dataset.nhs_number_column:
        kinds.append(("bad_check_digit", dataset.nhs_number_column))
    coded = [c.name for c in dataset.columns if c.codes and c.required]
    if coded:
        kinds.append(("unknown_code", coded[0]))
    if name == "acute_spells":
        kinds.append(("discharge_before_admission", "discharged_at"))
    if name == "child_measurements":
        kinds.append(("impossible_height", "height_cm"))
    kinds.append(("repeated_key", ", ".join(dataset.natural_key)))
    return kinds


def plant_faults(
    name: str, table: pa.Table, rate: float, rng: np.random.Generator
) -> tuple[pa.Table, list[dict]]:
    """`table` with about `rate` of its rows faulty (at least one of each kind that applies)."""
    rows = table.num_rows
    kinds = _kinds(name)
    if rows < len(kinds) * 2:
        return table, []
    count = max(len(kinds), round(rate * rows))
    chosen = np.sort(rng.choice(rows, size=min(count, rows // 2), replace=False))
    columns = {column: table[column].to_pylist() for column in table.column_names}
    faults, repeats = [], []
    for position, row in enumerate(chosen):
        fault, field = kinds[position % len(kinds)]
        if fault == "bad_check_digit":
            number = columns[field][row]
            if number is None:
                continue
            columns[field][row] = number[:9] + str((int(number[9]) + 1) % 10)
        elif fault == "unknown_code":
            columns[field][row] = "ZZ"
        elif fault == "discharge_before_admission":
            admitted = columns["admitted_at"][row]
            day_before = str(np.datetime64(admitted[:10]) - np.timedelta64(1, "D"))
            columns[field][row] = f"{day_before}{admitted[10:]}"
        elif fault == "impossible_height":
            columns[field][row] = "1.1"
        elif fault == "repeated_key":
            repeats.append(row)
            continue
        # Row 1 is the header, so data row i is spreadsheet row i + 2.
        faults.append({"dataset": name, "row": int(row) + 2, "field": field, "fault": fault})
    faulty = pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()})
    if repeats:
        copies = faulty.take(pa.array(repeats))
        for offset, _ in enumerate(repeats):
            key = ", ".join(DATASETS[name].natural_key)
            faults.append(
                {"dataset": name, "row": rows + offset + 2, "field": key, "fault": "repeated_key"}
            )
        faulty = pa.concat_tables([faulty, copies])
    return faulty, faults
