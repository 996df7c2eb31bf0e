import dataclasses

import pytest
from sqlalchemy import inspect, select

from mkdeal.appdb.models import StoreIdentity
from mkdeal.db import (
    APP_DATABASE,
    IDENTIFIABLE_STORE,
    open_app_database,
    open_store,
    status,
    upgrade,
)
from mkdeal.errors import ConfigurationError, UserError
from mkdeal.settings import load_settings


def _upgrade_and_check(settings):
    first = upgrade(settings)
    second = upgrade(settings)

    assert [(store.kind, before, after) for store, before, after in first] == [
        ("app", None, "app_0005"),
        ("identifiable", None, "identifiable_0002"),
    ]
    _models_match_migrations(settings)
    assert all(before == after for _, before, after in second)
    engine = open_app_database(settings)
    try:
        tables = set(inspect(engine).get_table_names())
        assert {"scheduled_runs", "store_identity", "alembic_version_app"} <= tables
        with engine.connect() as connection:
            recorded = dict(
                connection.execute(select(StoreIdentity.name, StoreIdentity.value)).all()
            )
        assert (
            recorded["pseudonymisation_key_fingerprint"]
            == settings.pseudonymisation_key_fingerprint
        )
        assert recorded["store"] == "app"
    finally:
        engine.dispose()


def _models_match_migrations(settings) -> None:
    """The migrations build exactly the tables the models describe (no drift either way)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from mkdeal.appdb.models import AppBase
    from mkdeal.identifiable.models import IdentifiableBase

    for store, base in ((APP_DATABASE, AppBase), (IDENTIFIABLE_STORE, IdentifiableBase)):
        engine = open_store(store, settings)
        try:
            with engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                differences = [
                    d
                    for d in compare_metadata(context, base.metadata)
                    if not (d[0] == "remove_table" and d[1].name.startswith("alembic_version"))
                ]
        finally:
            engine.dispose()
        assert differences == [], f"{store.name}: {differences}"


def test_upgrade_sqlite_creates_tables_and_is_idempotent(settings):
    _upgrade_and_check(settings)
    assert (settings.data_dir / "app.sqlite3").exists()
    assert (settings.data_dir / "identifiable.sqlite3").exists()


@pytest.mark.postgres
def test_upgrade_postgres_creates_tables_and_is_idempotent(settings, new_postgres_url):
    settings = dataclasses.replace(
        settings, app_database_url=new_postgres_url(), identifiable_store_url=new_postgres_url()
    )
    _upgrade_and_check(settings)


def test_open_store_behind_says_run_db_upgrade(settings):
    with pytest.raises(UserError, match=r"has no tables yet.*Run `mkdeal db upgrade` first"):
        open_app_database(settings)
    assert [current for _, current, _ in status(settings)] == [None, None]


def test_open_store_under_another_key_is_refused(settings, environ, tmp_path):
    upgrade(settings)
    other = load_settings(
        {**environ, "MKDEAL_PSEUDONYMISATION_KEY": "another-key-" + "x" * 30}, cwd=tmp_path
    )

    with pytest.raises(ConfigurationError, match="made under the pseudonymisation key sha256:"):
        open_store(IDENTIFIABLE_STORE, other)
    with pytest.raises(ConfigurationError, match="person_ids would not match"):
        upgrade(other)


def test_stores_pointing_at_one_database_are_refused(settings):
    same = dataclasses.replace(settings, identifiable_store_url=settings.app_database_url)
    with pytest.raises(ConfigurationError, match="made as the app store"):
        upgrade(same)


def test_unreachable_database_is_a_sentence(settings):
    broken = dataclasses.replace(settings, app_database_url="postgresql://nobody@127.0.0.1:1/none")
    with pytest.raises(ConfigurationError, match="Could not connect to the app database"):
        open_store(APP_DATABASE, broken)
