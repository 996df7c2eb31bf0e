"""`mkdeal spc` on the shipped examples and on bad files; the MDC chart's specification."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from mkdeal.cli import main
from mkdeal.errors import UserError
from mkdeal.spc import spc
from mkdeal.spc.chart import BLUE, ORANGE, PURPLE, RED, spc_chart, to_svg
from mkdeal.spc.series_file import read_series_csv

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "spc"
HANDOVERS = [
    str(EXAMPLES / "handovers.csv"),
    "--date-col",
    "month",
    "--value-col",
    "percent_over_30_minutes",
    "--improvement",
    "decrease",
]
QUINTILES = [
    str(EXAMPLES / "handovers_by_quintile.csv"),
    "--date-col",
    "month",
    "--value-col",
    "percent_over_30_minutes",
    "--facet-col",
    "imd_quintile",
    "--improvement",
    "decrease",
]


def write(tmp_path: Path, text: str, name: str = "series.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def monthly(values, start_year=2023) -> str:
    lines = ["month,value"]
    for i, value in enumerate(values):
        lines.append(f"{start_year + i // 12}-{i % 12 + 1:02d}-01,{value}")
    return "\n".join(lines) + "\n"


def run_json(capsys, args) -> dict:
    assert main(["spc", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


# --- the shipped examples, every format -------------------------------------------------


def test_example_json_has_points_and_summary(capsys, cli_env):
    document = run_json(capsys, [*HANDOVERS, "--target", "15", "--rebase", "2025-04-01"])

    assert len(document["points"]) == 36
    first = document["points"][0]
    assert {"date", "value", "mean", "lower_process_limit", "upper_process_limit"} <= set(first)
    assert first["date"] == "2023-04-01"
    assert first["point_type"] in ("common_cause", "special_cause_concern")
    (summary,) = document["summary"]
    assert summary["trial_limits"] is False
    assert summary["variation_icon"] is not None
    assert summary["assurance_icon"] == "hit_and_miss"
    # The rebase starts a second segment with its own mean.
    segments = {p["segment"]: p["mean"] for p in document["points"]}
    assert set(segments) == {0, 1} and segments[0] != segments[1]


def test_example_json_matches_the_engine(capsys, cli_env):
    document = run_json(capsys, HANDOVERS)
    with (EXAMPLES / "handovers.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    direct = spc(
        [r["month"] for r in rows],
        [float(r["percent_over_30_minutes"]) for r in rows],
        improvement="decrease",
    )
    np.testing.assert_allclose([p["mean"] for p in document["points"]], direct.mean)
    np.testing.assert_allclose(
        [p["upper_process_limit"] for p in document["points"]], direct.upper_limit
    )
    assert [p["point_type"] for p in document["points"]] == list(direct.point_type)


def test_example_faceted_json_has_a_summary_per_facet(capsys, cli_env):
    document = run_json(capsys, QUINTILES)

    assert [s["facet"] for s in document["summary"]] == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert len(document["points"]) == 120
    # Q1's local scheme lowers the last eight months: a shift, so special cause.
    assert document["summary"][0]["variation_icon"] == "improvement_low"


def test_example_csv(tmp_path, cli_env):
    out = tmp_path / "handovers.csv"
    assert main(["spc", *HANDOVERS, "--out", str(out)]) == 0

    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 36
    assert list(rows[0])[:5] == [
        "date",
        "value",
        "mean",
        "lower_process_limit",
        "upper_process_limit",
    ]
    assert "point_type" in rows[0]


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_example_charts(tmp_path, cli_env, capsys, fmt):
    out = tmp_path / f"chart.{fmt}"
    assert main(["spc", *HANDOVERS, "--target", "15", "--format", fmt, "--out", str(out)]) == 0

    data = out.read_bytes()
    if fmt == "png":
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
    else:
        text = data.decode()
        assert text.startswith("<svg")
        # Concern points (the 2023-24 run above the mean) and improvement ones are drawn.
        assert BLUE in text and ORANGE in text and RED in text
    assert f"Wrote {fmt.upper()} of 36 points" in capsys.readouterr().err


def test_faceted_svg_to_stdout(capsys, cli_env):
    assert main(["spc", *QUINTILES, "--format", "svg"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("<svg")
    assert all(f"handovers by quintile: Q{q}" in out for q in range(1, 6))


def test_format_from_suffix_and_unknown_suffix(tmp_path, cli_env, capsys):
    out = tmp_path / "points.json"
    assert main(["spc", *HANDOVERS, "--out", str(out)]) == 0
    assert json.loads(out.read_text())["points"]

    assert main(["spc", *HANDOVERS, "--out", str(tmp_path / "chart.pdf")]) == 2
    assert "cannot be told from chart.pdf" in capsys.readouterr().err


def test_plotthedots_mode_and_run_length(capsys, cli_env):
    mdc = run_json(capsys, HANDOVERS)
    ptd = run_json(capsys, [*HANDOVERS, "--mode", "plotthedots", "--run-length", "6"])
    assert ptd["settings"]["mode"] == "plotthedots" and ptd["settings"]["run_length"] == 6
    assert len(ptd["points"]) == len(mdc["points"])


# --- bad input: a sentence naming the file, line and column; no output --------------------


def error_of(capsys, args) -> str:
    assert main(["spc", *args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "Traceback" not in captured.err
    return captured.err


def args_for(path: Path, *extra: str) -> list[str]:
    return [
        str(path),
        "--date-col",
        "month",
        "--value-col",
        "value",
        "--improvement",
        "increase",
        *extra,
    ]


def test_non_numeric_value_names_the_lines(tmp_path, capsys, cli_env):
    path = write(tmp_path, monthly([1, 2, "n/a", 4, "5%"]))
    err = error_of(capsys, args_for(path))
    assert "the 'value' column on lines 4, 6 is not a number (for example 'n/a')" in err
    assert str(path) in err


def test_duplicate_dates_within_a_facet_name_both_lines(tmp_path, capsys, cli_env):
    path = write(tmp_path, "month,value\n2024-01-01,1\n2024-02-01,2\n2024-01-31,3\n")
    err = error_of(capsys, args_for(path))
    assert "lines 2, 4 give values for the same month (2024-01)" in err
    mid_month = write(tmp_path, "month,value\n2024-01-01,1\n2024-02-01,2\n2024-01-15,3\n")
    err = error_of(capsys, args_for(mid_month, "--freq", "month"))
    assert "lines 2, 4 give values for the same month (2024-01)" in err


def test_same_date_in_two_facets_is_fine(tmp_path, capsys, cli_env):
    text = "month,area,value\n" + "".join(
        f"2024-{m:02d}-01,{area},{m}\n" for m in range(1, 13) for area in ("North", "South")
    )
    path = write(tmp_path, text)
    document = run_json(capsys, [*args_for(path), "--facet-col", "area"])
    assert [s["facet"] for s in document["summary"]] == ["North", "South"]

    bad = write(tmp_path, text + "2024-03-01,South,9\n", "bad.csv")
    err = error_of(capsys, [*args_for(bad), "--facet-col", "area"])
    assert "for area 'South'" in err and "lines 7, 26" in err


def test_unsorted_input_is_sorted_and_said(tmp_path, capsys, cli_env):
    values = list(range(1, 15))
    lines = monthly(values).splitlines()
    shuffled = write(tmp_path, "\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    in_order = write(tmp_path, "\n".join(lines) + "\n", "ordered.csv")

    sorted_doc = run_json(capsys, args_for(shuffled))
    assert "not in date order; they have been sorted" in " ".join(sorted_doc["notes"])
    ordered_doc = run_json(capsys, args_for(in_order))
    assert sorted_doc["points"] == ordered_doc["points"]
    assert not any("sorted" in note for note in ordered_doc["notes"])


def test_missing_column_lists_the_columns(tmp_path, capsys, cli_env):
    path = write(tmp_path, "when,value\n2024-01-01,1\n")
    err = error_of(capsys, args_for(path))
    assert "has no column 'month'; its columns are when, value." in err


def test_target_with_neutral_direction_is_refused(tmp_path, capsys, cli_env):
    path = write(tmp_path, monthly(range(12)))
    args = args_for(path, "--target", "3")
    args[args.index("increase")] = "neutral"
    assert "A target needs an improvement direction" in error_of(capsys, args)


def test_bad_date_blank_date_and_empty_files(tmp_path, capsys, cli_env):
    err = error_of(capsys, args_for(write(tmp_path, "month,value\n2024-01-01,1\n13/02/2024,2\n")))
    assert "the 'month' column on line 3 does not hold a date (for example '13/02/2024')" in err
    err = error_of(capsys, args_for(write(tmp_path, "month,value\n2024-01-01,1\n,2\n")))
    assert "the 'month' column is empty on line 3" in err
    assert "header but no rows" in error_of(capsys, args_for(write(tmp_path, "month,value\n")))
    assert "is empty" in error_of(capsys, args_for(write(tmp_path, "")))
    assert "There is no file" in error_of(capsys, args_for(tmp_path / "absent.csv"))


def test_single_date_needs_freq(tmp_path, capsys, cli_env):
    path = write(tmp_path, "month,value\n2024-01-01,1\n")
    assert "give --freq" in error_of(capsys, args_for(path))
    document = run_json(capsys, args_for(path, "--freq", "month"))
    assert document["summary"][0]["trial_limits"] is True


def test_blank_value_is_a_gap(tmp_path, capsys, cli_env):
    values = [10, 11, 12, "", 10, 11, 12, 10, 11, 12, 10, 11, 12, 11]
    document = run_json(capsys, args_for(write(tmp_path, monthly(values))))
    assert "Line 5 have no value and are shown as gaps." in document["notes"]
    gap = document["points"][3]
    assert gap["value"] is None and gap["point_type"] is None
    assert document["summary"][0]["points"] == 13


# --- reading and charting, below the command ---------------------------------------------


def test_weekly_dates_are_inferred(tmp_path):
    text = "week,value\n" + "".join(f"2024-01-{d:02d},{d}\n" for d in (1, 8, 15, 22, 29))
    series = read_series_csv(write(tmp_path, text), date_col="week", value_col="value")
    assert series.freq == "week"
    with pytest.raises(UserError, match="typically 3 days apart, which is not a day"):
        read_series_csv(
            write(tmp_path, "d,v\n2024-01-02,1\n2024-01-05,2\n"), date_col="d", value_col="v"
        )
    for dates, freq in [
        (("2024-01-31", "2024-02-29", "2024-03-31"), "month"),
        (("2024-04-01", "2024-07-01", "2024-10-01", "2025-04-01"), "quarter"),
        (("2023-03-31", "2024-03-31", "2026-03-31"), "year"),
        (("2024-01-15", "2024-02-15", "2024-03-15"), "month"),
        (("2024-01-02", "2024-01-03", "2024-01-05"), "day"),
    ]:
        text = "d,v\n" + "".join(f"{d},1\n" for d in dates)
        path = write(tmp_path, text, "inferred.csv")
        assert read_series_csv(path, date_col="d", value_col="v").freq == freq, dates


def _spec_colours(spec) -> set[str]:
    found = set()
    if isinstance(spec, dict):
        for key, value in spec.items():
            if key in ("color", "range") or isinstance(value, dict | list):
                found |= _spec_colours(value)
            if key == "color" and isinstance(value, str):
                found.add(value)
    elif isinstance(spec, list):
        for item in spec:
            found |= _spec_colours(item) if isinstance(item, dict | list) else {item}
    return {c for c in found if isinstance(c, str) and c.startswith("#")}


def test_chart_legend_and_colours_follow_the_direction():
    y = [10, 11, 10, 12, 11, 10, 11, 12, 10, 11, 30, 11, 10]
    dates = [f"2024-{m:02d}-01" for m in range(1, 13)] + ["2025-01-01"]
    neutral = spc_chart(spc(dates, y, improvement="neutral"), improvement="neutral").to_dict()
    directed = spc_chart(
        spc(dates, y, improvement="increase", target=20), improvement="increase", target=20
    ).to_dict()
    assert PURPLE in _spec_colours(neutral) and BLUE not in _spec_colours(neutral)
    assert {BLUE, ORANGE, RED} <= _spec_colours(directed) and PURPLE not in _spec_colours(directed)
    svg = to_svg(spc_chart(spc(dates, y, improvement="increase"), improvement="increase"))
    assert BLUE in svg  # the 30 is beyond the upper limit: improvement


def test_chart_refuses_too_many_facets():
    facets = [f"f{i}" for i in range(61) for _ in range(3)]
    dates = [f"2024-0{m}-01" for _ in range(61) for m in (1, 2, 3)]
    result = spc(dates, np.arange(len(dates), dtype=float), improvement="increase", facets=facets)
    with pytest.raises(UserError, match="at most 60"):
        spc_chart(result, improvement="increase")


def test_rebase_outside_the_series_is_said(capsys, cli_env):
    document = run_json(capsys, [*HANDOVERS, "--rebase", "2023-04-20"])
    assert any("rebase date 2023-04-20" in note for note in document["notes"])
    assert {p["segment"] for p in document["points"]} == {0}
