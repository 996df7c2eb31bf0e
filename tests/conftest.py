"""Shared fixtures: an isolated data folder per test, and PostgreSQL when it is there.

PostgreSQL-backed tests carry the `postgres` marker. They use MKDEAL_TEST_POSTGRES_URL
(default postgresql://postgres@127.0.0.1:5432/test) with a schema of their own per test
worker. Under CI=true a missing server fails them; elsewhere they skip with a sentence.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest

from mkdeal.settings import Settings, load_settings

POSTGRES_URL = os.environ.get(
    "MKDEAL_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
# Fixed, obviously fake keys: tests that are not about key generation stay fast and exact.
TEST_KEYS = {
    "MKDEAL_SECRET_KEY": "test-secret-key-0123456789abcdef0123456789",
    "MKDEAL_PSEUDONYMISATION_KEY": "test-pseudonymisation-key-0123456789abcdef",
    "MKDEAL_ENCRYPTION_KEY": "test-encryption-key-0123456789abcdef012345",
}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def environ(data_dir: Path) -> dict[str, str]:
    """A clean MKDEAL_ environment for `load_settings(environ)`."""
    return {"MKDEAL_DATA_DIR": str(data_dir), **TEST_KEYS}


@pytest.fixture
def settings(environ: dict[str, str], tmp_path: Path) -> Settings:
    return load_settings(environ, cwd=tmp_path)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, environ: dict[str, str], tmp_path: Path) -> Path:
    """Run CLI commands in-process against an isolated data folder; returns the folder."""
    for name in list(os.environ):
        if name.startswith("MKDEAL_"):
            monkeypatch.delenv(name)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    return Path(environ["MKDEAL_DATA_DIR"])


def _postgres_reachable() -> str | None:
    import psycopg

    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3):
            return None
    except psycopg.OperationalError as error:
        return str(error).strip().splitlines()[0]


@pytest.fixture(scope="session")
def postgres_schema(worker_id: str) -> str:
    """A schema of this test worker's own in the test PostgreSQL database."""
    problem = _postgres_reachable()
    if problem:
        message = (
            f"PostgreSQL is not reachable at {POSTGRES_URL} ({problem}). Start it "
            "(pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start) "
            "or set MKDEAL_TEST_POSTGRES_URL to run the PostgreSQL tests."
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    import psycopg

    schema = f"mkdeal_test_{worker_id}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    yield schema
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def new_postgres_url(postgres_schema: str):
    """Makes SQLAlchemy URLs, each in a fresh schema dropped after the test."""
    import psycopg

    schemas = []

    def make() -> str:
        schema = f"{postgres_schema}_{uuid.uuid4().hex[:6]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        schemas.append(schema)
        return f"{POSTGRES_URL}?options={quote(f'-csearch_path={schema}')}"

    yield make
    with psycopg.connect(POSTGRES_URL, autocommit=True) as connection:
        for schema in schemas:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(scope="session")
def spark_session(tmp_path_factory: pytest.TempPathFactory):
    """One local SparkSession for the whole test run (it takes 5-8 s to start), set so that
    engines agree and tests stay quick: UTC, two shuffle partitions, no UI, and a fresh
    warehouse folder (a leftover spark-warehouse/ makes create_table fail)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:  # pragma: no cover - the test environment has the extra
        raise RuntimeError(
            "The Spark tests need the spark extra: run `uv sync --extra spark` (make install does)."
        ) from error
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    folder = tmp_path_factory.mktemp("spark")
    session = (
        SparkSession.builder.master("local[2]")
        .appName("mkdeal-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.warehouse.dir", str(folder / "spark-warehouse"))
        .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={folder}")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()
