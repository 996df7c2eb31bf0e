"""The register of issued reports: `reports/register.jsonl` under the data folder.

One line per report file written: its month, the snapshot it was built from, the day it
was issued, the earlier report it was compared with (for the revisions note), the file
and the mkdeal version. A report is identified by (month, snapshot): building it again is
a rebuild, which reuses the recorded issue day and comparison, so it says every figure and
sentence it said the first time. The file is only ever appended to.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from mkdeal.errors import UserError

REGISTER = "register.jsonl"
FORMATS = ("html", "pdf")


@dataclass(frozen=True)
class Issued:
    month: str
    snapshot: str
    issued_on: date
    compared_with: dict | None
    mkdeal_version: str
    files: dict[str, str] = field(default_factory=dict)  # format -> file name

    @property
    def key(self) -> tuple[str, str]:
        return (self.month, self.snapshot)


def reports_dir(data_dir: Path) -> Path:
    return data_dir / "reports"


def file_name(month: str, snapshot: str, fmt: str) -> str:
    return f"mk-deal-progress-report-{month}-{snapshot}.{fmt}"


def issued(data_dir: Path) -> list[Issued]:
    """Every report issued, in the order first issued; later lines add files to a report."""
    path = reports_dir(data_dir) / REGISTER
    if not path.exists():
        return []
    reports: dict[tuple[str, str], Issued] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            entry = Issued(
                month=row["month"],
                snapshot=row["snapshot"],
                issued_on=date.fromisoformat(row["issued_on"]),
                compared_with=row.get("compared_with"),
                mkdeal_version=row["mkdeal_version"],
                files={row["format"]: row["file"]},
            )
        except (ValueError, KeyError, TypeError) as error:
            raise UserError(
                f"{path}, line {number}, is not a register entry ({error}). "
                "Mend or remove that line."
            ) from None
        known = reports.get(entry.key)
        if known is None:
            reports[entry.key] = entry
        else:
            known.files.update(entry.files)
    return list(reports.values())


def find(entries: list[Issued], month: str, snapshot: str) -> Issued | None:
    return next((e for e in entries if e.key == (month, snapshot)), None)


def earlier(entries: list[Issued], month: str, snapshot: str) -> Issued | None:
    """The report a new one is compared with: the last issued for the same month or before,
    from another snapshot."""
    candidates = [e for e in entries if e.month <= month and e.snapshot != snapshot]
    return candidates[-1] if candidates else None


def latest(entries: list[Issued], fmt: str) -> Issued | None:
    """The report partners should read: the latest month, the last issued for it."""
    with_format = [e for e in entries if fmt in e.files]
    if not with_format:
        return None
    month = max(e.month for e in with_format)
    return [e for e in with_format if e.month == month][-1]


def record(data_dir: Path, entry: Issued, fmt: str) -> None:
    row = {
        "month": entry.month,
        "snapshot": entry.snapshot,
        "issued_on": entry.issued_on.isoformat(),
        "compared_with": entry.compared_with,
        "mkdeal_version": entry.mkdeal_version,
        "format": fmt,
        "file": entry.files[fmt],
    }
    folder = reports_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    # One write of one line to a file opened for appending: concurrent writers interleave
    # whole lines.
    with open(folder / REGISTER, "a", encoding="utf-8") as register:
        register.write(json.dumps(row, sort_keys=True) + "\n")
        register.flush()
        os.fsync(register.fileno())
