"""The MK Deal progress report, built from a real published snapshot of a small synthetic
Milton Keynes (April 2023 to September 2024): the PDF's text has a section per priority
and the engine's controlled values in its summary; an issued report rebuilds exactly from
its snapshot after later loads; a corrected past month shows in the next report's
revisions note; partners download the latest report from the dashboard."""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from mkdeal.cli import main
from mkdeal.datasets import get_dataset
from mkdeal.datasets.load import load_file
from mkdeal.datasets.staging import Period
from mkdeal.deal import load_deal
from mkdeal.measure_views import period_label, shown
from mkdeal.measures import MEASURES
from mkdeal.measures.disclosure import control
from mkdeal.measures.engine import compute
from mkdeal.measures.refresh import refresh
from mkdeal.publish import current_snapshot_id
from mkdeal.reports import register
from mkdeal.reports.issue import make_report
from mkdeal.settings import load_settings
from mkdeal.synth import SOURCES, generate
from mkdeal.warehouse import open_warehouse_for_writing

from .conftest import TEST_KEYS
from .test_dashboard import published  # noqa: F401  (a fixture)
from .test_measures import loaded  # noqa: F401  (a fixture)
from .test_web import client, sign_in, web  # noqa: F401  (fixtures and helpers)

START, END = date(2023, 4, 1), date(2024, 9, 30)
DEAL_MEASURES = [m for p in load_deal().priorities for m in p.measure_ids]
CORRECTED_MONTH = "2024-06"  # the past month a corrected extract changes


def _poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{tool} (poppler-utils) is missing; .ci/run installs it.")
        pytest.skip(f"{tool} (poppler-utils) is not installed.")
    return found


def _pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(
        [_poppler("pdftotext"), "-layout", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return text.split("\f")


def _settings_in(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    return load_settings({"MKDEAL_DATA_DIR": str(folder / "data"), **TEST_KEYS}, cwd=folder)


def _load(settings, name: str, file: Path):
    dataset = get_dataset(name)
    load_file(
        settings,
        name,
        file,
        source=SOURCES[name],
        as_of=date(2024, 10, 2),
        period=Period(START, END) if dataset.period_column else None,
    )


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    """The Deal's measures published from a small synthetic Milton Keynes."""
    folder = tmp_path_factory.mktemp("report")
    settings = _settings_in(folder)
    generate(folder / "mk", seed=3, start=START, end=END, scale=0.03)
    measures = [MEASURES[m] for m in DEAL_MEASURES]
    for name in {d for m in measures for d in m.datasets} | {"residents", "area_deprivation"}:
        _load(settings, name, folder / "mk" / f"{name}.csv")
    refresh(settings, measures)
    return settings, folder


def _copy(synthetic, tmp_path: Path):
    settings, _ = synthetic
    shutil.copytree(settings.data_dir, tmp_path / "data")
    return replace(settings, data_dir=tmp_path / "data")


def _expected_latest(settings, month_end: date) -> dict[str, tuple[str, str]]:
    """Each Deal measure's latest period and value by month_end, straight from the engine
    and the `nhs` disclosure control (not through the published snapshot)."""
    expected = {}
    with open_warehouse_for_writing(settings, purpose="the report test") as backend:
        for measure_id in DEAL_MEASURES:
            measure = MEASURES[measure_id]
            frame = compute(backend, [measure], frequencies=(measure.frequency,), breakdowns=())
            frame = frame[frame["period_end"] <= month_end]
            if frame.empty:
                continue
            controlled = control(frame.reset_index(drop=True), "nhs").frame
            # A period whose denominator is withheld is left out, as on the dashboard.
            controlled = controlled[~controlled["denominator_suppressed"].astype(bool)]
            if controlled.empty:
                expected[measure_id] = ("none yet", "")
                continue
            last = controlled.sort_values("period_start").iloc[-1]
            definition = measure.describe()
            expected[measure_id] = (
                period_label(last["period_start"], last["period_end"], measure.frequency),
                shown(last["value"], definition, bool(last["value_suppressed"])),
            )
    return expected


@pytest.mark.slow
def test_pdf_has_a_section_per_priority_and_the_engines_controlled_values(synthetic, tmp_path):
    settings = _copy(synthetic, tmp_path)
    made = make_report(settings, month="2024-09", fmt="pdf", today=date(2024, 10, 2))
    pages = _pdf_pages(made.path)

    # Every priority opens a section: its name is the first line under the running header.
    for priority in load_deal().priorities:
        openings = [
            page
            for page in pages
            if re.search(rf"^\s*{re.escape(priority.name)}\s*$", page, re.M)
            and "Contents" not in page
            and "Summary" not in page.split(priority.name)[0]
        ]
        assert openings, f"no section for {priority.name}"
    assert any(re.search(r"^\s*Annex: data quality\s*$", p, re.M) for p in pages)

    summary = next(p for p in pages if re.search(r"^\s*Summary\s*$", p, re.M))
    expected = _expected_latest(settings, date(2024, 9, 30))
    assert len(expected) >= 8, expected  # most of the Deal's measures have figures
    for measure_id, (period, value) in expected.items():
        assert re.search(rf"{re.escape(period)}\s+{re.escape(value)}(\s|$)", summary, re.M), (
            measure_id,
            period,
            value,
        )
    assert f"snapshot {current_snapshot_id(settings.data_dir)}" in pages[0]


@pytest.fixture(scope="module")
def revised(synthetic, tmp_path_factory):
    """A report issued for August 2024 (HTML and PDF); then a corrected ambulance extract
    makes every June 2024 handover two hours long, and the measures are published again."""
    settings, folder = synthetic
    here = tmp_path_factory.mktemp("revised")
    shutil.copytree(settings.data_dir, here / "data")
    settings = replace(settings, data_dir=here / "data")
    for fmt in ("html", "pdf"):
        make_report(settings, month="2024-08", fmt=fmt, today=date(2024, 9, 3))
    first = current_snapshot_id(settings.data_dir)

    with (folder / "mk" / "ambulance_arrivals.csv").open(newline="", encoding="utf-8") as file:
        rows = list(csv.DictReader(file))
    changed = 0
    for row in rows:
        if row["arrived_at"].startswith(CORRECTED_MONTH) and row["handed_over_at"]:
            row["handed_over_at"] = _two_hours_later(row["arrived_at"])
            changed += 1
    corrected = here / "ambulance_arrivals_corrected.csv"
    with corrected.open("w", newline="", encoding="utf-8") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]), quoting=csv.QUOTE_ALL)
        writer.writeheader()
        writer.writerows(rows)
    _load(settings, "ambulance_arrivals", corrected)
    refresh(settings, [MEASURES[m] for m in DEAL_MEASURES])
    assert changed > 20 and current_snapshot_id(settings.data_dir) != first
    return settings, first


def _two_hours_later(stamp: str) -> str:
    moment = datetime.strptime(stamp, "%Y-%m-%d %H:%M") + timedelta(hours=2)
    return moment.strftime("%Y-%m-%d %H:%M")


@pytest.mark.slow
def test_an_issued_report_rebuilds_exactly_from_its_snapshot(revised, tmp_path, monkeypatch):
    settings, first = revised
    monkeypatch.setenv("MKDEAL_DATA_DIR", str(settings.data_dir))
    for name, value in TEST_KEYS.items():
        monkeypatch.setenv(name, value)
    issued = register.find(register.issued(settings.data_dir), "2024-08", first)
    assert issued is not None and set(issued.files) == {"html", "pdf"}

    for fmt in ("html", "pdf"):
        out = tmp_path / f"rebuilt.{fmt}"
        # The month comes from the register; "today" differs, and must not matter.
        args = ["--as-of", "2025-01-15", "report", "--snapshot", first]
        code = main([*args, "--format", fmt, "--out", str(out)])
        assert code == 0
        original = register.reports_dir(settings.data_dir) / issued.files[fmt]
        assert out.read_bytes() == original.read_bytes(), fmt
    text = _pdf_pages(tmp_path / "rebuilt.pdf")
    assert "August 2024" in text[0] and "3 September 2024" in text[0]
    assert any("This is the first report issued" in page for page in text)


@pytest.mark.slow
def test_a_corrected_past_month_shows_in_the_next_reports_revisions(revised):
    settings, first = revised
    made = make_report(settings, month="2024-09", fmt="html", today=date(2024, 10, 2))
    assert made.report.compared_with == {"month": "2024-08", "snapshot": first}
    revisions = {(r.measure_id, r.period): (r.old, r.new) for r in made.report.revisions}
    old, new = revisions[("flow.handovers_over_30_minutes", "Jun 2024")]
    assert new == "100.0%" and old != new
    # Nothing else the August report showed changed.
    assert set(revisions) == {("flow.handovers_over_30_minutes", "Jun 2024")}
    html = made.path.read_text(encoding="utf-8")
    section = html.split('id="revisions"')[1].split("</section>")[0]
    assert "Ambulance handovers taking over 30 minutes" in section
    assert re.search(rf"Jun 2024</td><td class=\"num\">{re.escape(old)}</td>", section)
    assert "100.0%" in section


def test_partners_download_the_latest_report_and_the_public_cannot(published):  # noqa: F811
    app = published
    data_dir = app.state.settings.data_dir
    made = make_report(app.state.settings, month="2024-11", fmt="html", today=date(2024, 12, 2))
    name = made.path.name
    assert made.path.parent == data_dir / "reports"

    public = client(app)
    assert public.get("/reports").status_code == 303  # to sign in
    assert public.get(f"/reports/{name}").status_code == 303

    partner = client(app)
    assert sign_in(partner, "r-partner-viewer").status_code == 303
    listing = partner.get("/reports")
    assert listing.status_code == 200 and "November 2024" in listing.text
    download = partner.get(f"/reports/{name}")
    assert download.status_code == 200
    assert download.headers["content-disposition"].startswith("attachment")
    assert download.content == made.path.read_bytes()
    # Only files the register names are served.
    assert partner.get("/reports/register.jsonl").status_code == 404
