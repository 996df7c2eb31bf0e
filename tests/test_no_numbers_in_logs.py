"""Person-level data never reaches a log: NHS numbers go in, none come out."""

import csv
import logging

from mkdeal.cli import main
from mkdeal.logs import RedactNumbers, redact

VALID = ["9434765919", "9990000018", "4010232137"]
INVALID = ["9434765918", "999000001", "943476591X"]


def _digits(value):
    return "".join(ch for ch in value if ch.isdigit())


def test_pseudonymise_command_logs_no_nhs_number(tmp_path, capsys, cli_env):
    source = tmp_path / "people.csv"
    with source.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["nhs_number", "note"])
        for number in VALID + INVALID:
            writer.writerow([number, "x"])
        writer.writerow(["943 476 5919", "spaced"])
    output = tmp_path / "out.csv"

    code = main(["--debug", "people", "pseudonymise", str(source), "--output", str(output)])

    captured = capsys.readouterr()
    log_text = (cli_env / "logs" / "mkdeal.log").read_text()
    quarantine = (tmp_path / "out.quarantine.csv").read_text()
    assert code == 0
    assert "Read 7 rows: wrote 4 (3 people)" in captured.out
    assert "quarantined 3" in captured.out
    assert "Read 7 rows" in log_text
    for number in VALID + INVALID:
        for text in (captured.out, captured.err, log_text, output.read_text(), quarantine):
            assert number not in text
            assert _digits(number) not in _digits_runs(text)


def _digits_runs(text):
    # Every run of 9 or more digits (spaces and hyphens removed) that the text holds.
    runs, current = [], ""
    for ch in text + "\n":
        if ch.isdigit():
            current += ch
        elif ch in " -" and current:
            continue
        else:
            if len(current) >= 9:
                runs.append(current)
            current = ""
    return runs


def test_pseudonymise_quarantine_names_row_field_and_reason(tmp_path, capsys, cli_env):
    source = tmp_path / "people.csv"
    source.write_text("nhs_number,note\n9434765919,ok\n9434765918,typo\n")
    output = tmp_path / "out.csv"

    assert main(["people", "pseudonymise", str(source), "--output", str(output)]) == 0

    with (tmp_path / "out.quarantine.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows == [
        {
            "row": "3",
            "reason": "nhs_number fails the modulus 11 check digit",
            "nhs_number": "*** *** 5918",
            "note": "typo",
        }
    ]


def test_pseudonymise_again_gives_the_same_files(tmp_path, capsys, cli_env):
    source = tmp_path / "people.csv"
    source.write_text("nhs_number\n9434765919\n9990000018\n123\n")
    output = tmp_path / "out.csv"

    main(["people", "pseudonymise", str(source), "--output", str(output)])
    first = output.read_bytes(), (tmp_path / "out.quarantine.csv").read_bytes()
    main(["people", "pseudonymise", str(source), "--output", str(output)])

    assert (output.read_bytes(), (tmp_path / "out.quarantine.csv").read_bytes()) == first


def test_pseudonymise_missing_column_names_file_and_columns(tmp_path, capsys, cli_env):
    source = tmp_path / "people.csv"
    source.write_text("nhs_no,note\n9434765919,x\n")

    code = main(["people", "pseudonymise", str(source), "--output", str(tmp_path / "o.csv")])

    assert code == 2
    assert f"{source} has no column 'nhs_number'; its columns are nhs_no, note." in (
        capsys.readouterr().err
    )


def test_redact_filter_catches_numbers_in_any_message():
    record = logging.LogRecord(
        "mkdeal.x", logging.ERROR, __file__, 1, "bad %s", ("943 476 5919",), None
    )

    RedactNumbers().filter(record)

    assert record.getMessage() == "bad [redacted number]"
    assert redact("row 12 of 4010232137") == "row 12 of [redacted number]"
