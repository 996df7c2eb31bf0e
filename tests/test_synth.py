"""The synthetic Milton Keynes end to end: same seed same bytes, clean files load whole,
planted faults and only those are quarantined, and the population looks like Milton Keynes."""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow.csv as pa_csv
import pytest

from mkdeal.cli import main
from mkdeal.datasets.load import load_file, quarantined_rows
from mkdeal.synth import FAULTS, GENERATORS, SOURCES, generate
from mkdeal.synth.population import build_world
from mkdeal.synth.targets import Target

SMALL = {"seed": 7, "start": date(2023, 4, 1), "end": date(2024, 3, 31), "scale": 0.02}


@pytest.fixture(scope="module")
def small_set(tmp_path_factory):
    out = tmp_path_factory.mktemp("synth")
    generate(out, **SMALL)
    return out


def test_synth_same_seed_gives_the_same_bytes(small_set, tmp_path):
    generate(tmp_path, **SMALL)

    for name in GENERATORS:
        assert (tmp_path / f"{name}.csv").read_bytes() == (
            small_set / f"{name}.csv"
        ).read_bytes(), name


def test_synth_other_seed_gives_other_people(small_set, tmp_path):
    generate(tmp_path, **{**SMALL, "seed": 8})
    assert (tmp_path / "residents.csv").read_bytes() != (small_set / "residents.csv").read_bytes()


def test_synth_is_marked_synthetic_everywhere(small_set):
    residents = pa_csv.read_csv(
        small_set / "residents.csv",
        convert_options=pa_csv.ConvertOptions(
            column_types={
                "nhs_number": "string",
                "lsoa_2021": "string",
                "gp_practice_code": "string",
            },
            strings_can_be_null=True,
        ),
    )
    areas = pa_csv.read_csv(small_set / "area_deprivation.csv")

    assert all(n.startswith("999") for n in residents["nhs_number"].to_pylist())
    assert all(
        code is None or code.startswith("E0190") for code in residents["lsoa_2021"].to_pylist()
    )
    assert all(code.startswith("Z9") for code in residents["gp_practice_code"].to_pylist())
    assert set(areas["imd_version"].to_pylist()) == {"synthetic"}


def test_synth_clean_files_load_with_nothing_quarantined(small_set, settings):
    for name, source in SOURCES.items():
        result = load_file(
            settings, name, small_set / f"{name}.csv", source=source, as_of=date(2024, 3, 31)
        )
        assert result.read > 0, name
        assert result.quarantined == 0, (name, result.reasons)


def test_synth_planted_faults_and_only_those_are_quarantined(tmp_path, settings):
    generate(tmp_path, **SMALL, with_errors=0.005)
    planted = pa_csv.read_csv(tmp_path / FAULTS).to_pylist()

    for name, source in SOURCES.items():
        result = load_file(
            settings, name, tmp_path / f"{name}.csv", source=source, as_of=date(2024, 3, 31)
        )
        got = {(row["row"], row["field"]) for row in quarantined_rows(settings, result.load_id)}
        want = {(fault["row"], fault["field"]) for fault in planted if fault["dataset"] == name}
        assert want, name
        assert got == want, name
    assert {fault["fault"] for fault in planted} == {
        "bad_check_digit",
        "unknown_code",
        "discharge_before_admission",
        "impossible_height",
        "repeated_key",
    }


def test_synth_command_makes_once_and_loads(capsys, cli_env, tmp_path):
    out = tmp_path / "mk"
    args = [
        "--as-of",
        "2024-03-31",
        "synth",
        "--start",
        "2023-10-01",
        "--scale",
        "0.01",
        "--out",
        str(out),
    ]
    main(["db", "upgrade"])

    assert main([*args, "--load"]) == 0
    assert main([*args, "--load"]) == 0

    text = capsys.readouterr().out
    assert "already holds this synthetic Milton Keynes" in text
    assert text.count("unchanged") == len(SOURCES)


@pytest.mark.slow
def test_synth_population_looks_like_milton_keynes():
    world = build_world(np.random.default_rng([0, 0]), date(2019, 4, 1), date(2026, 3, 31))
    census_day = np.datetime64("2021-03-21")
    ages = world.ages_on(census_day)
    alive = world.birth_dates <= census_day
    targets = [
        # Census 2021 first results, Milton Keynes (ONS, 28 June 2022).
        Target("under 10", 13.2, 1.5, "%", "Milton Keynes", "Census 2021 first results"),
        Target("65 and over", 13.8, 1.5, "%", "Milton Keynes", "Census 2021 first results"),
        Target("male", 49.3, 1.0, "%", "Milton Keynes", "Census 2021 first results"),
        # Census 2021 ethnic group, Milton Keynes: White 206,159 of 287,087.
        Target("White (A-C)", 71.8, 1.5, "%", "Milton Keynes", "Census 2021 TS021"),
    ]
    got = {
        "under 10": 100 * np.mean(ages[alive] < 10),
        "65 and over": 100 * np.mean(ages[alive] >= 65),
        "male": 100 * np.mean(world.sexes == "1"),
        "White (A-C)": 100 * np.mean(np.isin(world.ethnic_categories, ["A", "B", "C"])),
    }
    assert 280_000 <= world.size <= 315_000  # 287,100 at the census, plus births to 2026
    for target in targets:
        assert abs(got[target.name] - target.value) <= target.tolerance, (target, got[target.name])


def test_synthetic_targets_page_is_current():
    from pathlib import Path

    from mkdeal.synth.targets import all_targets, render_targets_markdown

    page = Path(__file__).resolve().parents[1] / "docs" / "synthetic.md"
    assert page.read_text(encoding="utf-8") == render_targets_markdown(), (
        "docs/synthetic.md is out of date: run "
        "`.venv/bin/mkdeal synth --targets docs/synthetic.md`."
    )
    assert {target.area for _, target in all_targets()} == {"Milton Keynes", "England"}
