"""Contracts for people and programs: JSON, terminal text, and the generated docs page.

`docs/datasets.md` is generated from the contracts by `mkdeal datasets docs` and a test
checks it is current, so the docs never drift from what the loader enforces.
"""

from __future__ import annotations

from mkdeal.datasets.codes import code_list
from mkdeal.datasets.contract import Column, Dataset

DOCS_HEADER = """\
# Datasets

Generated from the dataset contracts in `src/mkdeal/datasets/` by `mkdeal datasets docs`;
do not edit by hand (a test fails when this page is out of date).

Every file is read as text and checked column by column; a row that fails any check is
quarantined with its row number, field and reason, and loaded + quarantined = read. Types:
`date` is YYYY-MM-DD or DD/MM/YYYY; `year_month` is YYYY-MM; `timestamp` is YYYY-MM-DD
HH:MM[:SS] (or DD/MM/YYYY HH:MM[:SS]), local time in Europe/London unless it ends with an
offset (`Z`, `+01:00`), and is stored in UTC with the offset kept; `boolean` is Y/N, yes/no,
true/false or 1/0; `nhs_number` is checked with its modulus 11 check digit and replaced by
`person_id` on load.
"""


def column_as_dict(column: Column) -> dict:
    return {
        "name": column.name,
        "type": column.type,
        "required": column.required,
        "meaning": column.meaning,
        "codes": column.codes,
        "pattern": column.pattern,
        "pattern_name": column.pattern_name,
        "minimum": column.minimum,
        "maximum": column.maximum,
        "caveat": column.caveat,
    }


def dataset_as_dict(dataset: Dataset) -> dict:
    return {
        "name": dataset.name,
        "title": dataset.title,
        "kind": dataset.kind,
        "description": dataset.description,
        "natural_key": list(dataset.natural_key),
        "period_column": dataset.period_column,
        "person_level": dataset.person_level,
        "mirrors": [{"name": m.name, "url": m.url} for m in dataset.mirrors],
        "caveats": list(dataset.caveats),
        "columns": [column_as_dict(column) for column in dataset.columns],
        "row_checks": [
            {"field": check.field, "reason": check.reason, "uses": list(check.uses)}
            for check in dataset.row_checks
        ],
        "warehouse_columns": [
            {"name": name, "type": kind} for name, kind in dataset.warehouse_columns()
        ],
    }


def _allowed(column: Column) -> str:
    parts = []
    if column.codes:
        parts.append(f"codes: {code_list(column.codes).title} (`{column.codes}`)")
    if column.pattern_name:
        parts.append(column.pattern_name)
    if column.minimum is not None or column.maximum is not None:
        parts.append(
            f"range {column.minimum if column.minimum is not None else ''}"
            f"–{column.maximum if column.maximum is not None else ''}"
        )
    return "; ".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_dataset_markdown(dataset: Dataset) -> str:
    lines = [f"## {dataset.title} (`{dataset.name}`)", "", dataset.description, ""]
    lines.append(
        f"- Kind: {dataset.kind}"
        + (" (replaced whole per source)" if dataset.kind == "reference" else "")
    )
    lines.append(f"- Natural key: {', '.join(f'`{k}`' for k in dataset.natural_key)}")
    if dataset.period_column:
        lines.append(f"- Period column: `{dataset.period_column}`")
    lines.append("- Mirrors: " + "; ".join(f"[{m.name}]({m.url})" for m in dataset.mirrors))
    lines += [
        "",
        "| column | type | required | meaning | allowed | caveat |",
        "|---|---|---|---|---|---|",
    ]
    for column in dataset.columns:
        lines.append(
            f"| `{column.name}` | {column.type} | {'yes' if column.required else 'no'} | "
            f"{_cell(column.meaning)} | {_cell(_allowed(column))} | {_cell(column.caveat or '')} |"
        )
    if dataset.row_checks:
        lines += ["", "Row checks:", ""]
        lines += [f"- `{check.field}` {check.reason}" for check in dataset.row_checks]
    if dataset.derived_columns:
        lines += ["", "Derived when loaded (stored with the load, not sent by partners):", ""]
        lines += [
            f"- `{name}` ({kind}): {meaning}" for name, kind, meaning in dataset.derived_columns
        ]
    if dataset.caveats:
        lines += ["", "Caveats:", ""]
        lines += [f"- {caveat}" for caveat in dataset.caveats]
    return "\n".join(lines) + "\n"


def render_docs(datasets: dict[str, Dataset]) -> str:
    sections = [DOCS_HEADER]
    index = ["| dataset | name | kind | natural key | period column |", "|---|---|---|---|---|"]
    index += [
        f"| {d.title} | `{d.name}` | {d.kind} | {', '.join(d.natural_key)} | "
        f"{d.period_column or '—'} |"
        for d in datasets.values()
    ]
    sections.append("\n".join(index))
    sections += [render_dataset_markdown(d) for d in datasets.values()]
    return "\n\n".join(section.rstrip("\n") for section in sections) + "\n"


def render_dataset_text(dataset: Dataset) -> str:
    lines = [f"{dataset.title} ({dataset.name}, {dataset.kind})", "", dataset.description, ""]
    lines.append(f"Natural key: {', '.join(dataset.natural_key)}")
    lines.append(f"Period column: {dataset.period_column or 'none (replaced whole per source)'}")
    for mirror in dataset.mirrors:
        lines.append(f"Mirrors: {mirror.name} <{mirror.url}>")
    lines += ["", "Columns:"]
    for column in dataset.columns:
        allowed = _allowed(column)
        lines.append(
            f"  {column.name:<28} {column.type:<11} {'required' if column.required else 'optional'}"
        )
        lines.append(f"      {column.meaning}")
        if allowed:
            lines.append(f"      Allowed: {allowed}")
        if column.caveat:
            lines.append(f"      Caveat: {column.caveat}")
    if dataset.row_checks:
        lines += ["", "Row checks:"] + [f"  {c.field} {c.reason}" for c in dataset.row_checks]
    if dataset.caveats:
        lines += ["", "Caveats:"] + [f"  - {caveat}" for caveat in dataset.caveats]
    return "\n".join(lines)
