"""`mkdeal report`: build, write and register a progress report, or rebuild an issued one.

A new report is built from the current snapshot (or the one named), compared with the
report issued before it, written under `reports/` in the data folder (where the dashboard
offers it to partners) and recorded in the register. Building a report that the register
already holds (the same month and snapshot) is a rebuild: it reuses the recorded issue
day and comparison, so it says exactly what the issued one said, and it is checked
against the issued file where that file is still there.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from mkdeal import __version__
from mkdeal.deal import load_deal
from mkdeal.errors import UserError
from mkdeal.measure_views import read_published
from mkdeal.reports import register
from mkdeal.reports.content import Report, build_report, parse_month
from mkdeal.reports.render import chart_images, report_html, report_pdf
from mkdeal.settings import Settings


@dataclass(frozen=True)
class Made:
    report: Report
    path: Path  # the issued copy under the data folder
    out: Path | None  # the copy asked for with --out
    rebuilt: bool
    same_as_issued: bool | None  # for a rebuild whose issued file is still there
    seconds: float


def make_report(
    settings: Settings,
    *,
    month: str | None,
    fmt: str,
    today: date,
    snapshot_id: str | None = None,
    out: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> Made:
    started = time.perf_counter()
    say = progress or (lambda _: None)
    if fmt not in register.FORMATS:
        raise UserError(f"The format must be html or pdf; got {fmt!r}.")
    data_dir = settings.data_dir
    entries = register.issued(data_dir)
    data = read_published(data_dir, snapshot_id)
    if month is None:
        known = [e for e in entries if e.snapshot == data.snapshot_id]
        if not known:
            raise UserError(
                "Say which month the report is for (--month YYYY-MM): no report has been "
                f"issued from snapshot {data.snapshot_id} to rebuild."
            )
        month = known[-1].month
    parse_month(month)
    issued = register.find(entries, month, data.snapshot_id)
    if issued is None:
        before = register.earlier(entries, month, data.snapshot_id)
        issued = register.Issued(
            month=month,
            snapshot=data.snapshot_id,
            issued_on=today,
            compared_with=None
            if before is None
            else {"month": before.month, "snapshot": before.snapshot},
            mkdeal_version=__version__,
        )
    earlier = None
    if issued.compared_with is not None:
        say(f"Comparing with the report for {issued.compared_with['month']}...")
        try:
            earlier = read_published(data_dir, issued.compared_with["snapshot"])
        except UserError as error:
            raise UserError(
                f"The report for {month} is compared with the one issued for "
                f"{issued.compared_with['month']}, whose snapshot is no longer there: {error}"
            ) from None
    say(f"Building the report for {month} from snapshot {data.snapshot_id}...")
    report = build_report(
        data,
        month,
        deal=load_deal(),
        issued_on=issued.issued_on,
        earlier=earlier,
        earlier_month=None if issued.compared_with is None else issued.compared_with["month"],
    )
    images = chart_images(report, data_dir / "cache" / "charts", progress=say)
    html = report_html(report, images)
    if fmt == "pdf":
        say("Printing the PDF...")
        body = report_pdf(html)
    else:
        body = html.encode("utf-8")

    folder = register.reports_dir(data_dir)
    name = issued.files.get(fmt) or register.file_name(month, data.snapshot_id, fmt)
    path = folder / name
    rebuilt = fmt in issued.files
    same = None
    if rebuilt and path.exists():
        same = path.read_bytes() == body
    else:
        _write(path, body)
        issued.files[fmt] = name
        register.record(data_dir, issued, fmt)
    if out is not None:
        if out.exists() and out.is_dir():
            out = out / name
        _write(out, body)
    return Made(report, path, out, rebuilt, same, time.perf_counter() - started)


def _write(path: Path, body: bytes) -> None:
    """Write whole or not at all: a temporary file beside it, then a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(body)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
