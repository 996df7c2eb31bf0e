"""The users commands."""

import re

from mkdeal.cli import main


def test_users_add_list_grant_revoke_disable(capsys, cli_env, monkeypatch):
    assert main(["db", "upgrade"]) == 0
    monkeypatch.setattr("sys.stdin", __import__("io").StringIO("a long enough password\n"))

    assert (
        main(
            [
                "users",
                "add",
                "Ann",
                "--name",
                "Ann Analyst",
                "--organisation",
                "RD8",
                "--role",
                "analyst",
                "--password-stdin",
            ]
        )
        == 0
    )
    assert main(["users", "grant", "ann", "flow_lead"]) == 0
    assert main(["users", "grant", "ann", "flow_lead"]) == 0
    assert main(["users", "revoke", "ann", "analyst"]) == 0
    assert main(["users", "disable", "ann"]) == 0
    assert main(["users", "list"]) == 0

    out = capsys.readouterr().out
    assert "Added ann with roles: analyst." in out
    assert "ann already has flow_lead." in out
    assert re.search(r"ann\s+disabled\s+Ann Analyst\s+orgs: RD8; roles: flow_lead", out)


def test_users_add_refuses_unknown_role_organisation_and_short_password(capsys, cli_env):
    main(["db", "upgrade"])
    capsys.readouterr()

    assert (
        main(
            [
                "users",
                "add",
                "x",
                "--name",
                "X",
                "--organisation",
                "RD8",
                "--role",
                "wizard",
                "--generate-password",
            ]
        )
        == 2
    )
    assert "There is no role 'wizard'" in capsys.readouterr().err
    assert (
        main(["users", "add", "x", "--name", "X", "--organisation", "ZZZ", "--generate-password"])
        == 2
    )
    assert "There is no organisation 'ZZZ'" in capsys.readouterr().err


def test_users_generate_password_shows_it_once_and_exist_ok(capsys, cli_env):
    main(["db", "upgrade"])
    args = [
        "users",
        "add",
        "demo",
        "--name",
        "Demo",
        "--organisation",
        "QHG",
        "--role",
        "administrator",
    ]

    assert main([*args, "--generate-password", "--exist-ok"]) == 0
    assert main([*args, "--generate-password", "--exist-ok"]) == 0
    assert main(["users", "set-password", "demo", "--generate-password"]) == 0

    out = capsys.readouterr().out
    assert out.count("Their password (shown once):") == 2
    assert "User demo already exists; nothing changed." in out
