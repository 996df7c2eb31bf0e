"""The dataset and load commands as a person uses them."""

import json
from pathlib import Path

import pyarrow.csv as pa_csv

from mkdeal.cli import main
from mkdeal.datasets import DATASETS
from mkdeal.datasets.describe import render_docs
from mkdeal.datasets.shaped import shaped_table

REPOSITORY = Path(__file__).resolve().parents[1]


def test_datasets_reference_in_docs_is_current():
    committed = (REPOSITORY / "docs" / "datasets.md").read_text(encoding="utf-8")
    assert committed == render_docs(DATASETS), (
        "docs/datasets.md is out of date: run `.venv/bin/mkdeal datasets docs` and commit it."
    )


def test_datasets_list_names_every_dataset(capsys, cli_env):
    assert main(["datasets", "list"]) == 0
    out = capsys.readouterr().out
    for name in DATASETS:
        assert name in out


def test_datasets_show_json_and_text(capsys, cli_env):
    assert main(["datasets", "show", "acute_spells", "--format", "json"]) == 0
    contract = json.loads(capsys.readouterr().out)
    assert contract["natural_key"] == ["spell_id"]
    assert {"name": "person_id", "type": "string"} in contract["warehouse_columns"]

    assert main(["datasets", "show", "acute_spells"]) == 0
    assert "admission_method" in capsys.readouterr().out


def test_datasets_show_unknown_names_the_datasets(capsys, cli_env):
    assert main(["datasets", "show", "spells"]) == 2
    err = capsys.readouterr().err
    assert "There is no dataset 'spells'" in err and "acute_spells" in err


def _spells_file(tmp_path: Path, bad_rows: int = 2) -> Path:
    table = shaped_table(DATASETS["acute_spells"], 20, seed=3)
    rows = table.to_pylist()
    for row in rows[:bad_rows]:
        row["admission_method"] = "XX"
    path = tmp_path / "spells.csv"
    pa_csv.write_csv(table.from_pylist(rows, schema=table.schema), path)
    return path


def test_load_prints_a_table_then_loads_and_quarantine_show(tmp_path, capsys, cli_env):
    path = _spells_file(tmp_path)

    assert (
        main(["--as-of", "2026-03-31", "load", "acute_spells", str(path), "--source", "RD8"]) == 0
    )
    out = capsys.readouterr().out
    load_id = out.split()[1].rstrip(":")
    assert "read         20" in out and "loaded       18" in out and "quarantined  2" in out
    assert "admission_method: is not a code in" in out

    assert main(["loads"]) == 0
    assert load_id in capsys.readouterr().out
    assert main(["quarantine", "show", load_id]) == 0
    shown = capsys.readouterr().out
    assert "row 2, admission_method: is not a code in" in shown
    assert "*** *** " in shown
    assert main(["unload", load_id]) == 0
    assert f"Unloaded {load_id}: 18 rows of acute_spells removed." in capsys.readouterr().out


def test_load_json_has_read_loaded_quarantined_and_reasons(tmp_path, capsys, cli_env):
    path = _spells_file(tmp_path)

    assert main(["load", "acute_spells", str(path), "--source", "RD8", "--format", "json"]) == 0

    result = json.loads(capsys.readouterr().out)
    assert (result["read"], result["loaded"], result["quarantined"]) == (20, 18, 2)
    assert result["reasons"][0]["rows"] == 2 and result["outcome"] == "loaded"


def test_load_bad_period_and_unknown_source_are_sentences(tmp_path, capsys, cli_env):
    path = _spells_file(tmp_path)

    assert (
        main(["load", "acute_spells", str(path), "--source", "RD8", "--period", "2025-13-01"]) == 2
    )
    assert "is not START..END" in capsys.readouterr().err
    assert main(["load", "acute_spells", str(path), "--source", "ZZZ"]) == 2
    assert "'ZZZ' is not a partner of the Deal" in capsys.readouterr().err


def test_load_in_prod_without_agreement_is_refused(tmp_path, capsys, cli_env, monkeypatch):
    monkeypatch.setenv("MKDEAL_ENV", "prod")
    path = _spells_file(tmp_path)

    assert main(["load", "acute_spells", str(path), "--source", "RD8"]) == 2
    assert "must name its data sharing agreement" in capsys.readouterr().err

    code = main(
        [
            "load",
            "acute_spells",
            str(path),
            "--source",
            "RD8",
            "--agreement",
            "DSA-042",
            "--purpose",
            "planning",
        ]
    )
    assert code == 0


def test_quarantine_show_unknown_load_is_a_sentence(capsys, cli_env):
    assert main(["quarantine", "show", "Lmissing"]) == 2
    assert "Nothing has been loaded yet." in capsys.readouterr().err


def test_datasets_sample_writes_a_file_that_loads_whole(tmp_path, capsys, cli_env):
    output = tmp_path / "sample.csv"

    assert (
        main(["datasets", "sample", "ucr_referrals", "--rows", "30", "--output", str(output)]) == 0
    )
    assert main(["load", "ucr_referrals", str(output), "--source", "RV3", "--format", "json"]) == 0

    lines = capsys.readouterr().out.splitlines()
    result = json.loads("\n".join(lines[1:]))
    assert (result["read"], result["loaded"]) == (30, 30)
