"""Synthetic participants and the `mkdeal programme` commands."""

from __future__ import annotations

import json
from collections import Counter

from sqlalchemy import text

from mkdeal.cli import main
from mkdeal.people import is_test_range, is_valid_nhs_number

SYNTH = ["programme", "synth", "--count", "120", "--scale", "0.02", "--seed", "4"]


def test_synthetic_participants_in_every_state_and_a_rerun_changes_nothing(capsys, cli_env):
    assert main(["db", "upgrade"]) == 0
    assert main(["--as-of", "2026-03-31", *SYNTH]) == 0
    assert (
        "Enrolled 120 synthetic participants; 0 were already enrolled." in capsys.readouterr().out
    )
    assert main(["--as-of", "2026-03-31", "programme", "list", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 120
    answers = Counter(row["readiness"] for row in rows)
    assert set(answers) == {"not_ready", "hold", "may_rise"}
    assert answers["may_rise"] > answers["hold"] and answers["may_rise"] > answers["not_ready"]
    reasons = " ".join(reason for row in rows for reason in row["reasons"])
    for words in ("Must consent again", "sign-off is pending", "Paused", "Withdrew"):
        assert words in reasons, words
    assert len({row["device_route"] for row in rows}) == 4

    from mkdeal.db import IDENTIFIABLE_STORE, open_store
    from mkdeal.settings import load_settings

    identifiable = open_store(IDENTIFIABLE_STORE, load_settings())
    with identifiable.connect() as connection:
        numbers = list(connection.execute(text("SELECT nhs_number FROM programme_identities")))
    identifiable.dispose()
    assert len(numbers) == 120
    assert all(is_valid_nhs_number(n) and is_test_range(n) for (n,) in numbers)

    assert main(["--as-of", "2026-03-31", *SYNTH]) == 0
    assert (
        "Enrolled 0 synthetic participants; 120 were already enrolled." in capsys.readouterr().out
    )
    assert main(["--as-of", "2026-03-31", "programme", "list", "--readiness", "hold"]) == 0
    out = capsys.readouterr().out
    assert f"{answers['hold']} participants: {answers['hold']} hold" in out


def test_practice_list_from_a_csv_with_errors_naming_row_and_field(capsys, cli_env, tmp_path):
    assert main(["db", "upgrade"]) == 0
    good = tmp_path / "practices.csv"
    good.write_text("ods_code,name\nZ90001,Synthetic practice 1\nZ90002,Synthetic two\n")
    assert main(["programme", "practices", str(good)]) == 0
    assert "has 2 practices (2 added, 0 removed)" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("ods_code,name\nZ90001,One\nZ9 0002,Two\n")
    assert main(["programme", "practices", str(bad)]) == 2
    assert f"{bad}, row 3, ods_code: 'Z9 0002' is not an ODS code." in capsys.readouterr().err
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("code,practice\nZ90001,One\n")
    assert main(["programme", "practices", str(wrong)]) == 2
    assert "has no column name, ods_code" in capsys.readouterr().err


def test_synthetic_activity_goes_through_the_sync_api_and_run_due_makes_the_days(capsys, cli_env):
    from sqlalchemy import func, select

    from mkdeal.appdb.models import ActivityDay, SyncInbox
    from mkdeal.db import open_app_database
    from mkdeal.settings import load_settings

    assert main(["db", "upgrade"]) == 0
    as_of = ["--as-of", "2026-03-31"]
    assert main([*as_of, "programme", "synth", "--count", "40", "--scale", "0.02"]) == 0
    assert main([*as_of, "programme", "synth-activity"]) == 0
    out = capsys.readouterr().out
    assert "answered 202." in out and "answered 4" not in out  # no payload refused
    assert main([*as_of, "run-due"]) == 0
    engine = open_app_database(load_settings())
    with engine.connect() as connection:
        days = connection.execute(select(func.count()).select_from(ActivityDay)).scalar()
        statuses = set(connection.execute(select(SyncInbox.status)).scalars())
        mean = connection.execute(select(func.avg(ActivityDay.steps))).scalar()
    engine.dispose()
    assert days > 1000 and statuses == {"ingested"}
    assert 3_500 < mean < 8_000
    assert main([*as_of, "programme", "synth-activity"]) == 0
    assert "Sent 0 payloads: none." in capsys.readouterr().out
