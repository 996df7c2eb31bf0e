"""Time `mkdeal report` on a published data folder (the demo's `data/` after `make demo`).

The folder is copied to a temporary one first, so its register of issued reports and its
chart cache are left as they were. Prints the time of: the HTML report with an empty chart
cache (every chart rendered by vl-convert), the PDF with the cache warm, a rebuild of that
PDF from its snapshot, and the PDF's page count and size.

Run: .venv/bin/python benchmarks/report.py data [--month 2026-03]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

from mkdeal.reports.issue import make_report
from mkdeal.settings import load_settings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="a data folder with a published snapshot")
    parser.add_argument("--month", default="2026-03", help="the report's month (YYYY-MM)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        copy = Path(temporary) / "data"
        shutil.copytree(
            args.data_dir, copy, ignore=shutil.ignore_patterns("reports", "cache", "logs")
        )
        settings = replace(load_settings(), data_dir=copy)
        today = date(2026, 4, 2)
        rows = []
        for what, fmt in (
            ("HTML, empty chart cache", "html"),
            ("PDF, chart cache warm", "pdf"),
            ("PDF rebuilt from its snapshot", "pdf"),
        ):
            started = time.perf_counter()
            made = make_report(settings, month=args.month, fmt=fmt, today=today)
            rows.append((what, time.perf_counter() - started, made))
        print(f"Report for {args.month} from snapshot {made.report.snapshot_id}")
        for what, seconds, _ in rows:
            print(f"  {what:32} {seconds:6.2f} s")
        pdf = rows[-1][2].path
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        pages = next((ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages")), "?")
        print(
            f"  PDF: {pages} pages, {pdf.stat().st_size / 1024:.0f} kB; rebuild identical: "
            f"{rows[-1][2].same_as_issued}"
        )


if __name__ == "__main__":
    main()
