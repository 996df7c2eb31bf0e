"""The dashboard's measure pages and downloads, from a real published snapshot: what the
public sees is disclosure-controlled, what an analyst sees is not."""

from __future__ import annotations

import csv
import io
import re

import pytest

from mkdeal.measures.refresh import refresh

from .test_measures import loaded  # noqa: F401  (a fixture)
from .test_web import client, sign_in, web  # noqa: F401  (fixtures and helpers)

MEASURE = "flow.handovers_over_30_minutes"
SMALL = {str(n) for n in range(1, 8)}


@pytest.fixture
def published(loaded, web):  # noqa: F811
    # October: 3 of 5 known handovers over 30 minutes (test_measures' golden data), so the
    # numerator is a group of 3 and the denominator 5: both hidden from the public.
    refresh(loaded)
    app, _, _ = web
    return app


def _rows(page: str) -> list[list[str]]:
    """The cells of every table row on a page."""
    return [
        re.findall(r'<td\s[^>]*class="nhsuk-table__cell"[^>]*>\s*(.*?)\s*</td>', row, re.S)
        for row in re.findall(r'<tr\s[^>]*class="nhsuk-table__row"[^>]*>(.*?)</tr>', page, re.S)
    ]


def _figure_cells(page: str) -> list[str]:
    """The numerator and denominator cells of every table row on a measure page."""
    return [cell for row in _rows(page) for cell in row[1:3]]


def test_public_sees_no_small_count_on_the_page_or_in_the_download(published):
    c = client(published)
    page = c.get(f"/measures/{MEASURE}")
    assert page.status_code == 200
    cells = _figure_cells(page.text)
    assert cells, "the page has figure tables"
    assert not SMALL & set(cells)
    # October's denominator (5) is hidden, so its row is left out altogether.
    assert "Oct 2024" not in [row[0] for row in _rows(page.text) if row]
    download = c.get(f"/measures/{MEASURE}/data.csv")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.text)))
    assert rows and {r["figures"] for r in rows} == {"nhs disclosure control"}
    for row in rows:
        for column in ("numerator", "denominator"):
            value = row[column]
            assert value == "" or float(value) == 0 or float(value) > 7, (column, row)


def test_analyst_sees_the_3(published):
    c = client(published)
    assert sign_in(c, "ann").status_code == 303
    page = c.get(f"/measures/{MEASURE}")
    cells = _figure_cells(page.text)
    assert "3" in cells and "5" in cells
    assert "Oct 2024" in [row[0] for row in _rows(page.text) if row]
    assert "unrounded figures" in page.text
    rows = list(csv.DictReader(io.StringIO(c.get(f"/measures/{MEASURE}/data.csv").text)))
    october = [r for r in rows if r["frequency"] == "month" and r["breakdown"] == "all"]
    assert (float(october[0]["numerator"]), float(october[0]["denominator"])) == (3, 5)


def test_priority_page_shows_a_card_per_measure_with_words_not_colour_alone(published):
    page = client(published).get("/priorities/system_flow")
    assert page.status_code == 200
    assert f'href="/measures/{MEASURE}"' in page.text
    # Two months of data: too few points for SPC icons, said in words.
    assert "Not enough data for SPC yet" in page.text
    assert 'class="mkdeal-chart"' in page.text


def test_methodology_lists_every_published_measure(published):
    page = client(published).get("/methodology")
    assert page.status_code == 200
    assert f'href="/measures/{MEASURE}"' in page.text
    assert "counts from 1 to 7 are hidden" in page.text


def test_data_quality_says_how_far_each_measure_can_be_trusted(published):
    c = client(published)
    assert sign_in(c, "ann").status_code == 303
    page = c.get("/loads")
    assert page.status_code == 200
    assert "How far each measure can be trusted" in page.text
    # Arrivals are loaded for October and November: November is the latest whole month.
    row = re.search(rf'href="/measures/{MEASURE}">.*?</tr>', page.text, re.S).group(0)
    assert "Nov 2024" in row
