"""The report as HTML (one self-contained file) and as a PDF printed from that HTML.

Charts are the dashboard's Vega-Lite specs rendered to SVG offline by vl-convert (no
browser, no network) and kept in a cache folder named by the hash of the spec and the
vl-convert version, so a rebuild or the next format of the same report renders nothing
again. The PDF is WeasyPrint's print of the same HTML, laid out for A4 by the report's
print stylesheet: running header, page numbers, a table of contents with page numbers,
each priority on a new page.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import jinja2
import vl_convert

from mkdeal import __version__
from mkdeal.measure_views import FREQUENCY_WORDS, icon
from mkdeal.reports.content import Report

TEMPLATES = files("mkdeal.reports") / "templates"


def chart_svg(spec: dict, cache_dir: Path) -> str:
    """The SVG of a Vega-Lite spec, from the cache when this spec was rendered before."""
    canonical = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    key = hashlib.sha256(f"{vl_convert.__version__}\n{canonical}".encode()).hexdigest()
    path = cache_dir / f"{key}.svg"
    if path.exists():
        return path.read_text(encoding="utf-8")
    svg = vl_convert.vegalite_to_svg(spec)
    cache_dir.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        out.write(svg)
    os.replace(temporary, path)
    return svg


def chart_images(
    report: Report, cache_dir: Path, progress: Callable[[str], None] | None = None
) -> dict[str, str]:
    """Every chart of the report as a data: URI of its SVG, by "<measure id>" for the
    measure's chart and "<measure id>#gap" for its deprivation gap chart."""
    images = {}
    wanted = [(m.id, m.chart) for m in report.measures] + [
        (f"{m.id}#gap", m.gap_chart) for m in report.measures
    ]
    wanted = [(key, spec) for key, spec in wanted if spec is not None]
    for done, (key, spec) in enumerate(wanted, start=1):
        svg = chart_svg(spec, cache_dir)
        images[key] = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
        if progress:
            progress(f"Charts: {done} of {len(wanted)}")
    return images


def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals.update(icon=icon, frequency_words=FREQUENCY_WORDS)
    return environment


def report_html(report: Report, images: dict[str, str]) -> str:
    environment = _environment()
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    return environment.get_template("report.jinja").render(
        report=report, images=images, css=css, mkdeal_version=__version__
    )


def report_pdf(html: str) -> bytes:
    """The HTML printed to PDF. WeasyPrint is imported here: only PDFs need it (and the
    system's Pango)."""
    import weasyprint

    return weasyprint.HTML(string=html).write_pdf()
