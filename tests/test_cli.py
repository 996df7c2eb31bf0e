"""The command line as a person uses it: help everywhere, sentences for errors."""

import json

import click
import pytest

from mkdeal.cli import cli, main

from .conftest import TEST_KEYS


def _commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [(), *_commands(cli)], ids=lambda p: " ".join(p) or "mkdeal")
def test_every_command_has_help(path, capsys, cli_env):
    assert main([*path, "--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Usage: mkdeal")
    assert len(out.splitlines()) > 3


def test_config_shows_sources_and_fingerprint_but_no_secret(capsys, cli_env):
    assert main(["config"]) == 0

    out = capsys.readouterr().out
    assert "from environment MKDEAL_DATA_DIR" in out
    assert "Pseudonymisation key fingerprint: sha256:" in out
    for key in TEST_KEYS.values():
        assert key not in out


def test_prod_without_keys_stops_with_a_sentence(capsys, cli_env, monkeypatch):
    monkeypatch.setenv("MKDEAL_ENV", "prod")
    for name in TEST_KEYS:
        monkeypatch.delenv(name)

    code = main(["db", "upgrade"])

    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("Error: MKDEAL_ENV is 'prod' and no key is set for MKDEAL_SECRET_KEY")
    assert "Traceback" not in err
    assert not (cli_env / "app.sqlite3").exists()


def test_config_in_prod_without_keys_shows_settings_then_stops(capsys, cli_env, monkeypatch):
    monkeypatch.setenv("MKDEAL_ENV", "prod")
    monkeypatch.delenv("MKDEAL_ENCRYPTION_KEY")

    code = main(["config"])

    captured = capsys.readouterr()
    assert code == 2
    assert "encryption_key          MISSING" in captured.out
    assert "MKDEAL_ENCRYPTION_KEY" in captured.err


def test_deal_show_json_lists_partners_and_priorities(capsys, cli_env):
    assert main(["deal", "show", "--format", "json"]) == 0

    deal = json.loads(capsys.readouterr().out)
    assert {"RD8", "RV3", "QHG"} <= {p["ods_code"] for p in deal["partners"]}
    assert len(deal["priorities"]) == 4


def test_deal_show_text_is_readable(capsys, cli_env):
    assert main(["deal", "show"]) == 0
    assert "Milton Keynes University Hospital" in capsys.readouterr().out


def test_db_upgrade_then_run_due_dry_run(capsys, cli_env):
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "status"]) == 0
    assert main(["--as-of", "2026-03-31", "run-due", "--dry-run"]) == 0
    assert main(["run-due"]) == 0
    assert main(["runs"]) == 0

    out = capsys.readouterr().out
    assert "The app database: upgraded empty -> app_0005." in out
    assert "The app database: already up to date." in out
    # Nothing is loaded, so the measures' refresh is not due and nothing runs.
    assert "refresh-measures: nothing due" in out
    assert "No scheduled work has run yet." in out


def test_run_due_before_db_upgrade_says_what_to_do(capsys, cli_env):
    assert main(["run-due", "--dry-run"]) == 2
    assert "Run `mkdeal db upgrade` first." in capsys.readouterr().err


def test_db_status_behind_exits_non_zero(capsys, cli_env):
    assert main(["db", "status"]) == 1
    assert "behind: run `mkdeal db upgrade`" in capsys.readouterr().out


def test_bad_as_of_date_is_a_sentence(capsys, cli_env):
    assert main(["--as-of", "31/03/2026", "run-due"]) == 2
    assert "'31/03/2026' is not a date; write it as YYYY-MM-DD." in capsys.readouterr().err


def test_unexpected_error_has_no_traceback_unless_debug(capsys, cli_env, monkeypatch):
    def broken():
        raise KeyError("boom")

    monkeypatch.setattr("mkdeal.deal.load_deal", broken)

    assert main(["deal", "show"]) == 1
    err = capsys.readouterr().err
    assert "unexpected KeyError" in err and "--debug" in err
    assert "Traceback" not in err

    assert main(["--debug", "deal", "show"]) == 1
    assert "Traceback" in capsys.readouterr().err


def test_unknown_command_is_explained(capsys, cli_env):
    assert main(["no-such-command"]) == 2
    assert "No such command" in capsys.readouterr().err
