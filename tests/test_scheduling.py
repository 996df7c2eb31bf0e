"""Scheduled work: order, idempotency, failure, a lock, and a step killed half-way."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from datetime import date

import pytest
from sqlalchemy import text

from mkdeal.db import open_app_database, upgrade
from mkdeal.errors import LockHeldError
from mkdeal.locking import exclusive_lock, lock_path
from mkdeal.scheduling import Step, StepContext, StepRegistry, plan, recent_runs, run_due

AS_OF = date(2026, 3, 31)


def _step(name, calls, *, keys=("k1",), after=(), fail=False):
    def run(context, key):
        calls.append((name, key))
        if fail:
            raise RuntimeError(f"{name} could not finish")
        return f"{name} did {key}"

    return Step(name=name, description=name, due=lambda context: keys, run=run, after=after)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def app_settings(request, settings):
    """Settings whose app database is SQLite, or PostgreSQL in a fresh schema."""
    if request.param == "sqlite":
        return settings
    new_postgres_url = request.getfixturevalue("new_postgres_url")
    return dataclasses.replace(
        settings, app_database_url=new_postgres_url(), identifiable_store_url=new_postgres_url()
    )


@pytest.fixture
def context(app_settings):
    upgrade(app_settings)
    engine = open_app_database(app_settings)
    yield StepContext(as_of=AS_OF, settings=app_settings, app_engine=engine)
    engine.dispose()


def test_registry_orders_steps_after_what_they_follow():
    registry = StepRegistry()
    calls = []
    registry.register(_step("publish", calls, after=("refresh",)))
    registry.register(_step("load", calls))
    registry.register(_step("refresh", calls, after=("load",)))

    assert [step.name for step in registry.ordered()] == ["load", "refresh", "publish"]


def test_registry_refuses_unknown_steps_cycles_and_duplicates():
    calls = []
    registry = StepRegistry()
    registry.register(_step("a", calls, after=("missing",)))
    with pytest.raises(ValueError, match="unknown step"):
        registry.ordered()

    registry = StepRegistry()
    registry.register(_step("a", calls, after=("b",)))
    registry.register(_step("b", calls, after=("a",)))
    with pytest.raises(ValueError, match="circle"):
        registry.ordered()
    with pytest.raises(ValueError, match="already registered"):
        registry.register(_step("a", calls))


def test_run_due_runs_steps_in_declared_order_once(context, data_dir):
    calls = []
    registry = StepRegistry()
    registry.register(_step("refresh", calls, keys=("2026-03",), after=("load",)))
    registry.register(_step("load", calls, keys=("2026-02", "2026-03")))

    first = run_due(registry, context, data_dir=data_dir)
    second = run_due(registry, context, data_dir=data_dir)

    assert calls == [("load", "2026-02"), ("load", "2026-03"), ("refresh", "2026-03")]
    assert [r.outcome for r in first] == ["succeeded"] * 3
    assert second == []
    assert all(not work.keys for work in plan(registry, context))


def test_dry_run_plan_does_nothing(context):
    calls = []
    registry = StepRegistry()
    registry.register(_step("load", calls, keys=("a", "b")))

    planned = plan(registry, context)

    assert [(work.step, work.keys) for work in planned] == [("load", ("a", "b"))]
    assert calls == []
    assert recent_runs(context.app_engine) == []


def test_failed_step_is_retried_and_its_followers_wait(context, data_dir):
    calls = []
    registry = StepRegistry()
    registry.register(_step("load", calls, fail=True))
    registry.register(_step("refresh", calls, after=("load",)))

    results = run_due(registry, context, data_dir=data_dir)

    assert [(r.step, r.outcome) for r in results] == [("load", "failed"), ("refresh", "skipped")]
    assert "load could not finish" in results[0].summary
    assert calls == [("load", "k1")]
    assert [r.outcome for r in recent_runs(context.app_engine)] == ["failed"]
    assert [work.keys for work in plan(registry, context)] == [("k1",), ("k1",)]


def test_second_run_due_is_refused(context, data_dir):
    registry = StepRegistry()
    with exclusive_lock(lock_path(data_dir, "run-due"), what="run-due", purpose="run-due"):
        with pytest.raises(LockHeldError, match=r"^Run-due is in use by process \d+"):
            run_due(registry, context, data_dir=data_dir)


# A step that writes 100 rows one commit at a time, keyed so that writing them again is
# harmless. With PAUSE set, it stops after row 50 to be killed there.
HALF_WAY_SCRIPT = """
import os, sys, time
from datetime import date
from pathlib import Path
from sqlalchemy import text
from mkdeal.db import open_app_database
from mkdeal.scheduling import Step, StepContext, StepRegistry, run_due
from mkdeal.settings import load_settings

settings = load_settings()
engine = open_app_database(settings)
pause_file = os.environ.get("PAUSE_FILE")

def due(context):
    return ["batch-2026-03-31"]

def write_rows(context, key):
    with context.app_engine.begin() as connection:
        connection.execute(text(
            "CREATE TABLE IF NOT EXISTS test_output (n INTEGER PRIMARY KEY, square INTEGER)"))
    for n in range(1, 101):
        with context.app_engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO test_output (n, square) VALUES (:n, :sq) "
                "ON CONFLICT (n) DO UPDATE SET square = excluded.square"), {"n": n, "sq": n * n})
        if n == 50 and pause_file:
            Path(pause_file).write_text("half way")
            time.sleep(120)
    return "wrote 100 rows"

registry = StepRegistry()
registry.register(Step("write_rows", "writes rows", due, write_rows))
results = run_due(registry, StepContext(date(2026, 3, 31), settings, engine),
                  data_dir=settings.data_dir)
print([(r.step, r.outcome) for r in results])
"""


def _run_script(environ, **extra):
    return subprocess.Popen(
        [sys.executable, "-c", HALF_WAY_SCRIPT],
        env={**environ, **extra, "PATH": os.environ.get("PATH", "")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _state(settings):
    engine = open_app_database(settings)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT n, square FROM test_output ORDER BY n")).all()
        runs = [(run.step, run.outcome) for run in reversed(recent_runs(engine))]
    finally:
        engine.dispose()
    return [tuple(row) for row in rows], runs


@pytest.mark.slow
def test_step_killed_half_way_reruns_to_the_same_state(app_settings, environ, tmp_path):
    settings = app_settings
    environ = {
        **environ,
        "MKDEAL_APP_DATABASE_URL": settings.app_database_url,
        "MKDEAL_IDENTIFIABLE_STORE_URL": settings.identifiable_store_url,
    }
    upgrade(settings)
    pause = tmp_path / "half-way"

    killed = _run_script(environ, PAUSE_FILE=str(pause))
    deadline = time.monotonic() + 60
    while not pause.exists():
        assert killed.poll() is None, killed.stderr.read()
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(killed.pid, signal.SIGKILL)
    killed.communicate()
    rows_at_kill, runs_at_kill = _state(settings)
    rerun = _run_script(environ)
    rerun_output = rerun.communicate(timeout=120)
    rows_after, runs_after = _state(settings)

    assert len(rows_at_kill) == 50
    assert runs_at_kill == [("write_rows", "running")]
    assert rerun.returncode == 0, rerun_output[1]
    assert rows_after == [(n, n * n) for n in range(1, 101)]
    assert runs_after == [("write_rows", "abandoned"), ("write_rows", "succeeded")]
    # A third run finds nothing due and changes nothing.
    third = _run_script(environ)
    assert third.communicate(timeout=120)[0].strip() == "[]"
    assert _state(settings) == (rows_after, runs_after)
