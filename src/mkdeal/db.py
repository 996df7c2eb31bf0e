"""The app database and the identifiable store: engines, migrations, and checks on open.

Both are SQLAlchemy databases with their own Alembic migrations (SQLite files in the data
folder by default, PostgreSQL in production). `mkdeal db upgrade` applies migrations and
records the pseudonymisation key's fingerprint in each store the first time; every command
that opens a store checks that it is up to date and was made under the same key, and says
so in a sentence when it is not.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, create_engine, event, inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from mkdeal.errors import ConfigurationError, UserError
from mkdeal.settings import Settings, mask_url

T = TypeVar("T")


@dataclass(frozen=True)
class Store:
    name: str  # as said to a person
    kind: str  # recorded in the store itself, so two stores are never swapped
    url_setting: str
    script_location: str

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.kind}"

    def url(self, settings: Settings) -> str:
        return getattr(settings, self.url_setting)


APP_DATABASE = Store("the app database", "app", "app_database_url", "mkdeal.appdb:migrations")
IDENTIFIABLE_STORE = Store(
    "the identifiable store",
    "identifiable",
    "identifiable_store_url",
    "mkdeal.identifiable:migrations",
)
STORES = (APP_DATABASE, IDENTIFIABLE_STORE)


def make_engine(url: str) -> Engine:
    """An engine for a store URL; SQLite files get their folder, foreign keys and WAL."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ConfigurationError(f"{mask_url(url)!r} is not a database URL.") from None
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed)
    if parsed.get_backend_name() == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=5000")
            # WAL lets the web server read while run-due writes; in WAL mode NORMAL
            # synchronous never corrupts the file, and saves an fsync on every commit
            # (a power cut may lose the last commits, which a device sync sends again).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

    return engine


def _alembic_config(store: Store, connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", store.script_location)
    config.attributes["connection"] = connection
    config.attributes["version_table"] = store.version_table
    return config


def head_revision(store: Store) -> str:
    config = Config()
    config.set_main_option("script_location", store.script_location)
    return ScriptDirectory.from_config(config).get_current_head()


def current_revision(store: Store, connection: Connection) -> str | None:
    context = MigrationContext.configure(connection, opts={"version_table": store.version_table})
    return context.get_current_revision()


def run_migrations_online(context, target_metadata: MetaData) -> None:
    """Called from each store's Alembic env.py with the connection mkdeal passed in."""
    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        version_table=context.config.attributes["version_table"],
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


def upgrade(settings: Settings) -> list[tuple[Store, str | None, str]]:
    """Bring every store to its newest revision; returns (store, before, after) per store."""
    settings.require_keys()

    def upgrade_one(store: Store, connection: Connection) -> tuple[Store, str | None, str]:
        before = current_revision(store, connection)
        # Check what the database already is before changing it.
        if inspect(connection).has_table("store_identity"):
            _check_identity(store, _read_identity(store, connection), settings)
        command.upgrade(_alembic_config(store, connection), "head")
        _record_identity(store, connection, settings)
        connection.commit()
        if store is APP_DATABASE:
            _sync_organisations(connection)
        return store, before, current_revision(store, connection)

    return _for_each_store(settings, upgrade_one)


def status(settings: Settings) -> list[tuple[Store, str | None, str]]:
    """(store, current revision or None, newest revision) for every store."""
    return _for_each_store(
        settings,
        lambda store, connection: (
            store,
            current_revision(store, connection),
            head_revision(store),
        ),
    )


def _for_each_store(settings: Settings, work: Callable[[Store, Connection], T]) -> list[T]:
    results = []
    for store in STORES:
        engine = make_engine(store.url(settings))
        try:
            with _connected(store, engine) as connection:
                results.append(work(store, connection))
        finally:
            engine.dispose()
    return results


def _sync_organisations(connection: Connection) -> None:
    from mkdeal.access.accounts import sync_organisations

    sync_organisations(connection.engine)


def _record_identity(store: Store, connection: Connection, settings: Settings) -> None:
    recorded = _read_identity(store, connection)
    wanted = {
        "store": store.kind,
        "pseudonymisation_key_fingerprint": settings.pseudonymisation_key_fingerprint,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    missing = [{"name": k, "value": v} for k, v in wanted.items() if k not in recorded]
    if missing:
        connection.execute(_identity_table(store).insert(), missing)


def _read_identity(store: Store, connection: Connection) -> dict[str, str]:
    table = _identity_table(store)
    return dict(connection.execute(select(table.c.name, table.c.value)).all())


def _identity_table(store: Store):
    if store is APP_DATABASE:
        from mkdeal.appdb.models import StoreIdentity
    else:
        from mkdeal.identifiable.models import StoreIdentity
    return StoreIdentity.__table__


def _check_identity(store: Store, recorded: dict[str, str], settings: Settings) -> None:
    url = mask_url(store.url(settings))
    if recorded.get("store", store.kind) != store.kind:
        raise ConfigurationError(
            f"{store.name.capitalize()} URL ({url}) points at a database made as the "
            f"{recorded['store']} store. Give each store its own database."
        )
    fingerprint = recorded.get("pseudonymisation_key_fingerprint")
    if fingerprint and fingerprint != settings.pseudonymisation_key_fingerprint:
        raise ConfigurationError(
            f"{store.name.capitalize()} ({url}) was made under the pseudonymisation key "
            f"{fingerprint}, but the key in force is {settings.pseudonymisation_key_fingerprint}. "
            "Its person_ids would not match new ones: use the original key, or point "
            "MKDEAL_DATA_DIR at a fresh folder."
        )


@contextmanager
def _connected(store: Store, engine: Engine) -> Iterator[Connection]:
    try:
        connection = engine.connect()
    except OperationalError as error:
        reason = str(error.orig).strip().splitlines()[0] if error.orig else str(error)
        raise ConfigurationError(
            f"Could not connect to {store.name} at {mask_url(str(engine.url))}: {reason}."
        ) from None
    try:
        yield connection
    finally:
        connection.close()


def open_store(store: Store, settings: Settings) -> Engine:
    """An engine for a store that is up to date and was made under the key in force."""
    settings.require_keys()
    engine = make_engine(store.url(settings))
    with _connected(store, engine) as connection:
        current, head = current_revision(store, connection), head_revision(store)
        if current != head:
            engine.dispose()
            state = "has no tables yet" if current is None else f"is at revision {current}"
            raise UserError(
                f"{store.name.capitalize()} ({mask_url(store.url(settings))}) {state}, and this "
                f"version of mkdeal needs revision {head}. Run `mkdeal db upgrade` first."
            )
        recorded = _read_identity(store, connection)
    try:
        _check_identity(store, recorded, settings)
    except ConfigurationError:
        engine.dispose()
        raise
    return engine


def open_app_database(settings: Settings) -> Engine:
    return open_store(APP_DATABASE, settings)
