"""Time the Active MK nightly goals and rewards batch (issue 27's target: 10,000
participants with a year of history, each nightly batch under 60 seconds on 2 cores), on
SQLite and on PostgreSQL.

Builds the app database with the project's migrations (`mkdeal db upgrade`) in a temporary
data folder, or in a throwaway PostgreSQL database, then writes straight into it (not
timed: enrolment is not what is measured): N participants enrolled over the two weeks
before the history starts, each with a negative safety screen and consent to every item of
the version in force, a few paused or withdrawn; their reservations and a budget covering
them; voucher codes enough for every conversion; and a year of HealthKit days each (a few
missing, a few not worn). Then times each step of the batch (`set_goals`, `award`,
`issue_vouchers`, each its own transaction):

- `catch-up`: the first batch over the whole year (every goal week, every final week);
- `nightly`: the next night (nothing new is due), then the next Monday with a new week of
  days received and a few days revised after final, then that night again (idempotent:
  it must add nothing);

and prints the counts, the reconciliation of the ledger, and a summary of the batches.

As on a real night, the history's last 7 days are not yet final (day_rules.toml). The
run-in before each participant's first goal falls mostly before the history starts, so
most baselines are the rule's default; that changes the goals, not the work.

Run: .venv/bin/python benchmarks/rewards_batch.py [--participants 10000] [--days 365]
         [--backend sqlite|postgresql|both] [--keep]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import resource
import shutil
import sqlite3
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import numpy as np
import sqlalchemy
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.engine import make_url

from mkdeal.activity import consent
from mkdeal.activity import rewards as R
from mkdeal.activity.nightly import REWARD_RULE, _entry_row, award, issue_vouchers, set_goals
from mkdeal.activity.participants import records
from mkdeal.activity.programme import SCREEN_CODES
from mkdeal.activity.readiness import MAY_RISE, readiness
from mkdeal.activity.reconcile import reconcile
from mkdeal.activity.vouchers import StockProvider
from mkdeal.appdb.models import (
    ActivityDay,
    ConsentChoice,
    GoalWeek,
    Participant,
    ProgrammePause,
    ProgrammeWithdrawal,
    RewardBudget,
    RewardEntry,
    SafetyScreen,
    VoucherStock,
)
from mkdeal.db import open_app_database, upgrade
from mkdeal.settings import load_settings

KEYS = {
    "MKDEAL_SECRET_KEY": "benchmark-secret-key-0123456789abcdef0123",
    "MKDEAL_PSEUDONYMISATION_KEY": "benchmark-pseudonymisation-key-0123456789",
    "MKDEAL_ENCRYPTION_KEY": "benchmark-encryption-key-0123456789abcdef",
}
# Consent version 2.0 is in force from 1 February 2026: enrolment starts after it, so
# every participant agreed to the version in force throughout.
EARLIEST_ENROLMENT = date(2026, 2, 1)
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
COLUMNS = (
    "participant_id, source, local_date, steps, light_minutes, moderate_minutes, "
    "vigorous_minutes, wear_minutes, received_at, version, final, finalised_at, "
    "revised_after_final"
)
FINAL_AFTER_DAYS = 7  # day_rules.toml: a day is final on the 8th day after it
CHUNK = 500  # participants of days generated at a time


def timed(label: str, work):
    began = time.perf_counter()
    result = work()
    seconds = time.perf_counter() - began
    print(f"  {label}: {seconds:.2f} s", flush=True)
    return result, seconds


def peak_memory() -> str:
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"


def environment() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"Python {platform.python_version()} on {platform.platform()}; {cores} cores usable "
        f"({os.cpu_count()} in the machine); SQLAlchemy {sqlalchemy.__version__}, "
        f"SQLite {sqlite3.sqlite_version}",
        flush=True,
    )


# --- the calendar ------------------------------------------------------------------------


class Calendar:
    """The history runs from `first` to the day before `as_of` (the catch-up's "today", a
    Monday); participants enrol over the 14 days before it."""

    def __init__(self, days: int) -> None:
        earliest = EARLIEST_ENROLMENT + timedelta(days=14 + days)
        self.as_of = earliest + timedelta(days=(7 - earliest.weekday()) % 7)
        self.first = self.as_of - timedelta(days=days)
        self.days = days

    def enrolled_at(self, number: int, count: int) -> datetime:
        day = self.first - timedelta(days=14) + timedelta(days=(number - 1) * 14 // count)
        at = datetime.combine(day, clock(9), tzinfo=UTC)
        return at + timedelta(minutes=(number * 7) % 480)


def _sqlite_datetime(at: datetime | None) -> str | None:
    # As SQLAlchemy's SQLite DATETIME stores it (UTCDateTime: in UTC, without a zone).
    return None if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _day_values(rng: np.random.Generator, people: int, days: int, means: np.ndarray) -> dict:
    """Realistic days for `people` × `days`: steps 2,000 to 12,000 about each person's
    usual; 3% of days missing, 4% not worn (under 1,000 steps, so not valid), 1% without
    minutes; moderate minutes following the steps, a little vigorous activity."""
    shape = (people, days)
    steps = np.clip(rng.normal(means[:, None], 1800, shape), 2000, 12000).astype(np.int64)
    not_worn = rng.random(shape) < 0.04
    steps[not_worn] = rng.integers(0, 1000, int(not_worn.sum()))
    return {
        "present": rng.random(shape) >= 0.03,
        "steps": steps,
        "light": rng.poisson(150, shape),
        "moderate": rng.poisson(np.maximum(steps / 350 - 4, 0.5)),
        "vigorous": rng.poisson(2.0, shape) * (rng.random(shape) < 0.4),
        "no_minutes": rng.random(shape) < 0.01,
        "wear": np.where(not_worn, rng.integers(0, 300, shape), rng.integers(600, 960, shape)),
    }


def activity_chunks(
    rng: np.random.Generator, count: int, first: date, days: int, as_of: date, means: np.ndarray
):
    """Rows of activity_days as tuples of Python values, a chunk of participants at a time.
    A day is received just after midnight; it is final once `as_of` is 8 days after it."""
    dates = [first + timedelta(days=d) for d in range(days)]
    received = [
        [
            datetime.combine(d + timedelta(days=1), clock(0), tzinfo=UTC) + timedelta(minutes=m)
            for m in range(60)
        ]
        for d in dates
    ]
    final = [as_of >= d + timedelta(days=FINAL_AFTER_DAYS + 1) for d in dates]
    finalised = [
        datetime.combine(d + timedelta(days=FINAL_AFTER_DAYS + 1), clock(1), tzinfo=UTC)
        if is_final
        else None
        for d, is_final in zip(dates, final, strict=True)
    ]
    for start in range(1, count + 1, CHUNK):
        pids = np.arange(start, min(start + CHUNK, count + 1))
        v = _day_values(rng, len(pids), days, means[pids - 1])
        who, when = np.nonzero(v["present"])
        steps = v["steps"][who, when].tolist()
        light = v["light"][who, when].tolist()
        moderate = v["moderate"][who, when].tolist()
        vigorous = v["vigorous"][who, when].tolist()
        wear = v["wear"][who, when].tolist()
        no_minutes = v["no_minutes"][who, when].tolist()
        rows = []
        for i, (p, d) in enumerate(zip(pids[who].tolist(), when.tolist(), strict=True)):
            gap = no_minutes[i]
            rows.append(
                (
                    p,
                    "healthkit",
                    dates[d],
                    steps[i],
                    light[i],
                    None if gap else moderate[i],
                    None if gap else vigorous[i],
                    wear[i],
                    received[d][p % 60],
                    1,
                    final[d],
                    finalised[d],
                    False,
                )
            )
        yield rows


def _copy_text(rows) -> str:
    def text(value) -> str:
        if value is None:
            return "\\N"
        if isinstance(value, bool):
            return "t" if value else "f"
        return value.isoformat() if isinstance(value, date) else str(value)

    return "".join("\t".join(map(text, row)) + "\n" for row in rows)


def insert_days(app: Engine, chunks) -> int:
    """activity_days in bulk: COPY on PostgreSQL, one executemany transaction on SQLite."""
    written = 0
    if app.dialect.name == "postgresql":
        raw = app.raw_connection()
        try:
            with raw.driver_connection.cursor() as cursor:
                for rows in chunks:
                    with cursor.copy(f"COPY activity_days ({COLUMNS}) FROM STDIN") as copy:
                        copy.write(_copy_text(rows))
                    written += len(rows)
            raw.commit()
        finally:
            raw.close()
        return written
    sql = f"INSERT INTO activity_days ({COLUMNS}) VALUES ({', '.join('?' * 13)})"
    with app.begin() as connection:
        for rows in chunks:
            connection.exec_driver_sql(
                sql,
                [
                    (
                        *row[:2],
                        row[2].isoformat(),
                        *row[3:8],
                        _sqlite_datetime(row[8]),
                        row[9],
                        int(row[10]),
                        _sqlite_datetime(row[11]),
                        int(row[12]),
                    )
                    for row in rows
                ],
            )
            written += len(rows)
    return written


# --- set-up ------------------------------------------------------------------------------


def populate(app: Engine, calendar: Calendar, count: int, provider: StockProvider) -> dict:
    """Participants, screens, consent, pauses, withdrawals, reservations, budget, voucher
    stock and a year of days; returns a few facts for the report."""
    rng = np.random.default_rng(27)
    people, screens, choices, reserves = [], [], [], []
    version = consent.in_force(calendar.first - timedelta(days=14))
    if version is None or version != consent.in_force(calendar.as_of + timedelta(14)):
        raise SystemExit("One consent version must be in force throughout the benchmark.")
    reservation = R.reservation(REWARD_RULE, REWARD_RULE.reservation_pence)
    for number in range(1, count + 1):
        at = calendar.enrolled_at(number, count)
        people.append(
            {
                "id": number,
                "reference": f"AMK-{number:05d}",
                "person_id": hashlib.sha256(f"person {number}".encode()).hexdigest()[:32],
                "enrolled_at": at,
                "enrolled_by": "benchmark",
                "practice_code": "Z90001",
                "device_route": "apple_watch_iphone",
                "time_zone": "Europe/London",
                "eligibility": {},
                "eligibility_checked_by": "benchmark",
                "eligibility_checked_at": at,
            }
        )
        screens.append(
            {
                "participant_id": number,
                "answers": dict.fromkeys(SCREEN_CODES, False),
                "answered_at": at,
                "recorded_by": "benchmark",
            }
        )
        choices += [
            {
                "participant_id": number,
                "version": version.version,
                "item": item,
                "agreed": True,
                "recorded_at": at,
                "recorded_by": "benchmark",
            }
            for item in version.item_ids
        ]
        # As enrolment does: the caps reserved in the enrolment's own transaction.
        reserves.append(_entry_row(number, reservation, REWARD_RULE, at.date(), at))
    # 2% take a fortnight's holiday some time in the year; 0.5% withdraw from the programme.
    paused = rng.choice(np.arange(1, count + 1), size=count // 50, replace=False).tolist()
    pauses = []
    for pid in paused:
        starts = calendar.first + timedelta(days=int(rng.integers(30, calendar.days - 30)))
        pauses.append(
            {
                "participant_id": pid,
                "reason": "holiday",
                "starts_on": starts,
                "ends_on": starts + timedelta(days=13),
                "note": "",
                "recorded_at": datetime.combine(starts - timedelta(3), clock(10), tzinfo=UTC),
                "recorded_by": "benchmark",
            }
        )
    withdrawn = rng.choice(np.arange(2, count + 1), size=count // 200, replace=False).tolist()
    withdrawals = [
        {
            "participant_id": pid,
            "level": "programme",
            "at": datetime.combine(
                calendar.first + timedelta(days=int(rng.integers(30, calendar.days))),
                clock(11),
                tzinfo=UTC,
            ),
            "recorded_by": "benchmark",
            "reason": "",
        }
        for pid in withdrawn
    ]
    # The budget covers every reservation (rows of at most £10m: the column is an integer).
    wanted = count * REWARD_RULE.reservation_pence
    budget = []
    while wanted > 0:
        budget.append(
            {
                "pence": min(wanted, 1_000_000_000),
                "note": "benchmark",
                "added_at": datetime.combine(calendar.first - timedelta(30), clock(9), tzinfo=UTC),
                "added_by": "benchmark",
            }
        )
        wanted -= budget[-1]["pence"]

    def participants_part() -> None:
        with app.begin() as connection:
            for model, rows in (
                (Participant, people),
                (SafetyScreen, screens),
                (ConsentChoice, choices),
                (ProgrammePause, pauses),
                (ProgrammeWithdrawal, withdrawals),
                (RewardBudget, budget),
                (RewardEntry, reserves),
            ):
                if rows:
                    connection.execute(insert(model), rows)

    timed(
        f"{count:,} participants, screens, {len(choices):,} consent choices, "
        f"{len(pauses):,} pauses, {len(withdrawals):,} withdrawals, {len(reserves):,} "
        "reservations, the budget",
        participants_part,
    )
    # Codes enough for every conversion: a £10 voucher every second week met, and more.
    codes = count * ((calendar.days + 28) // 14 + 2)
    loaded_at = datetime.combine(calendar.first, clock(9), tzinfo=UTC)

    def stock_part() -> None:
        batch = hashlib.sha256(b"benchmark codes").hexdigest()
        with app.begin() as connection:
            for start in range(0, codes, 20_000):
                rows = []
                for n in range(start, min(start + 20_000, codes)):
                    code = f"BENCH-{n:08d}"
                    rows.append(
                        {
                            "provider": provider.name,
                            "code_hash": provider.code_hash(code),
                            "code_encrypted": provider.encrypt(code),
                            "pence": REWARD_RULE.voucher_pence,
                            "batch": batch,
                            "loaded_at": loaded_at,
                            "loaded_by": "benchmark",
                        }
                    )
                connection.execute(insert(VoucherStock), rows)

    timed(f"{codes:,} voucher codes (encrypted)", stock_part)
    means = rng.uniform(3500, 10000, count)
    days, _ = timed(
        f"{calendar.days} days of activity each, {calendar.first} to "
        f"{calendar.as_of - timedelta(1)}",
        lambda: insert_days(
            app, activity_chunks(rng, count, calendar.first, calendar.days, calendar.as_of, means)
        ),
    )
    print(f"    {days:,} activity_days rows", flush=True)
    return {"means": means, "withdrawn": withdrawn, "paused": paused}


def check_readiness(app: Engine, calendar: Calendar, withdrawn, paused) -> None:
    ordinary = next(
        n for n in range(1, len(withdrawn) + len(paused) + 2) if n not in {*withdrawn, *paused}
    )
    person = records(app, [f"AMK-{ordinary:05d}"])[0]
    answer = readiness(person.state, calendar.as_of - timedelta(1))
    print(
        f"    readiness of {person.reference} on {calendar.as_of - timedelta(1)}: {answer.answer}"
    )
    if answer.answer != MAY_RISE:
        raise SystemExit(f"Set-up is wrong: {person.reference} is {answer} (wanted may_rise).")


def new_week(app: Engine, calendar: Calendar, count: int, means: np.ndarray, on: date) -> int:
    """The days of the week before `on` (a Monday), received since the last batch."""
    rng = np.random.default_rng(on.toordinal())
    first = on - timedelta(days=7)
    return insert_days(app, activity_chunks(rng, count, first, 7, on, means))


def revise(app: Engine, calendar: Calendar, count: int, at: datetime) -> int:
    """A handful of days revised after final: 20 single days across the year, turned into
    days not worn; three whole weeks (the latest evaluated) turned into a week of nothing;
    two whole weeks turned into a very active week."""
    rng = np.random.default_rng(2027)
    newest = calendar.as_of - timedelta(days=14)  # the latest week the catch-up evaluated
    changes = []
    weeks = (newest - calendar.first).days // 7
    for pid in rng.choice(np.arange(1, count + 1), 20, replace=False).tolist():
        day = newest - timedelta(weeks=int(rng.integers(1, weeks)), days=int(rng.integers(0, 7)))
        changes.append((pid, day, 400, 0, 0))
    for n, pid in enumerate(rng.choice(np.arange(1, count + 1), 5, replace=False).tolist()):
        values = (300, 0, 0) if n < 3 else (12000, 60, 10)
        changes += [(pid, newest + timedelta(days=d), *values) for d in range(7)]
    if app.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    else:
        from sqlalchemy.dialects.sqlite import insert as upsert
    rows = [
        {
            "participant_id": pid,
            "source": "healthkit",
            "local_date": day,
            "steps": steps,
            "light_minutes": 100,
            "moderate_minutes": moderate,
            "vigorous_minutes": vigorous,
            "wear_minutes": 700,
            "received_at": at,
            "version": 2,
            "final": True,
            "finalised_at": datetime.combine(day + timedelta(8), clock(1), tzinfo=UTC),
            "revised_after_final": True,
        }
        for pid, day, steps, moderate, vigorous in changes
    ]
    statement = upsert(ActivityDay)
    statement = statement.on_conflict_do_update(
        index_elements=["participant_id", "source", "local_date"],
        set_={
            name: statement.excluded[name]
            for name in (
                "steps",
                "moderate_minutes",
                "vigorous_minutes",
                "received_at",
                "version",
                "revised_after_final",
            )
        },
    )
    with app.begin() as connection:
        connection.execute(statement, rows)
    return len(rows)


# --- measuring ---------------------------------------------------------------------------


def ledger_count(app: Engine) -> int:
    with app.connect() as connection:
        return connection.scalar(select(func.count()).select_from(RewardEntry))


def night(app: Engine, provider: StockProvider, label: str, as_of: date, now: datetime) -> float:
    print(f"{label} (as of {as_of:%a %-d %b %Y}):", flush=True)
    before = ledger_count(app)
    count, goals = timed("set_goals", lambda: set_goals(app, as_of=as_of, now=now))
    print(f"    {count:,} participant-weeks set.", flush=True)
    summary, awarding = timed("award", lambda: award(app, as_of=as_of, now=now))
    print(f"    {summary.text()}", flush=True)
    (issued, short), vouchers = timed(
        "issue_vouchers", lambda: issue_vouchers(app, provider, as_of=as_of, now=now)
    )
    print(f"    {issued:,} vouchers issued, {short:,} wait for stock.", flush=True)
    total = goals + awarding + vouchers
    added = ledger_count(app) - before
    print(f"  whole batch: {total:.2f} s; {added:,} ledger entries added", flush=True)
    return total


def counts(app: Engine, now: datetime) -> None:
    with app.connect() as connection:
        weeks = connection.execute(
            select(GoalWeek.readiness, func.count(), func.count(GoalWeek.evaluated_at))
            .group_by(GoalWeek.readiness)
            .order_by(GoalWeek.readiness)
        ).all()
        met = connection.scalar(select(func.count()).where(GoalWeek.met.is_(True)))
        kinds = dict(
            (kind, (n, pence))
            for kind, n, pence in connection.execute(
                select(RewardEntry.kind, func.count(), func.sum(RewardEntry.pence)).group_by(
                    RewardEntry.kind
                )
            )
        )
        issued = connection.scalar(select(func.count()).where(VoucherStock.issued_at.is_not(None)))
        free = connection.scalar(select(func.count()).where(VoucherStock.issued_at.is_(None)))
    total = sum(n for _, n, _ in weeks)
    print(f"  goal_weeks: {total:,} rows", end="")
    print("".join(f"; {kind} {n:,} ({done:,} evaluated)" for kind, n, done in weeks), end="")
    print(f"; {met:,} met")
    print("  ledger entries by kind:")
    for kind in R.KINDS:
        n, pence = kinds.get(kind, (0, 0))
        print(f"    {kind:9} {n:>10,}   {R.pounds(int(pence or 0)):>16}")
    print(f"  vouchers issued: {issued:,}; codes left in stock: {free:,}")
    result = reconcile(app, now=now)
    print(f"  reconcile: {'ok' if result.ok else 'NOT OK'}")
    for line in result.lines():
        print(f"    {line}" if line else "")


def run(backend: str, args) -> dict[str, float]:
    """Set up one backend and time the batches on it; returns each batch's seconds."""
    print(f"\n=== {backend}: {args.participants:,} participants, {args.days} days ===", flush=True)
    calendar = Calendar(args.days)
    folder = Path(tempfile.mkdtemp(prefix="mkdeal-rewards-"))
    environ = {"MKDEAL_DATA_DIR": str(folder / "data"), **KEYS}
    database = None
    server = make_url(args.postgres)
    if backend == "postgresql":
        import psycopg

        database = f"mkdeal_bench_{os.getpid()}"
        try:
            connection = psycopg.connect(server.render_as_string(False), autocommit=True)
        except psycopg.OperationalError as error:
            raise SystemExit(
                f"PostgreSQL is not reachable at {server.render_as_string()} "
                f"({str(error).strip().splitlines()[0]}): start it, pass --postgres, or "
                "run with --backend sqlite."
            ) from None
        with connection:
            version = connection.execute("show server_version").fetchone()[0]
            connection.execute(f'CREATE DATABASE "{database}"')
        print(f"PostgreSQL {version}, throwaway database {database}", flush=True)
        environ["MKDEAL_APP_DATABASE_URL"] = server.set(database=database).render_as_string(False)
    settings = load_settings(environ, cwd=folder)
    app = None
    seconds: dict[str, float] = {}
    try:
        print("Set-up (not timed as part of the batch):", flush=True)
        timed("mkdeal db upgrade (migrations)", lambda: upgrade(settings))
        app = open_app_database(settings)
        provider = StockProvider(b"x" * 32)
        facts, _ = timed(
            "set-up in all", lambda: populate(app, calendar, args.participants, provider)
        )
        if backend == "postgresql":
            analyse(app)
        check_readiness(app, calendar, facts["withdrawn"], facts["paused"])
        print(f"  peak memory so far: {peak_memory()}", flush=True)

        as_of = calendar.as_of
        at = datetime.combine(as_of, clock(2), tzinfo=UTC)
        seconds["catch-up"] = night(
            app, provider, "Catch-up: the first batch over the whole history", as_of, at
        )
        counts(app, at)
        print(f"  peak memory so far: {peak_memory()}", flush=True)
        if backend == "postgresql":
            analyse(app)  # as autovacuum would have by the next night

        print("Nightly:", flush=True)
        tuesday = as_of + timedelta(days=1)
        seconds["next night"] = night(
            app, provider, "Next night (no new week)", tuesday, at + timedelta(days=1)
        )
        monday = as_of + timedelta(days=7)
        received, _ = timed(
            f"(set-up) a new week of days received, {as_of} to {monday - timedelta(1)}",
            lambda: new_week(app, calendar, args.participants, facts["means"], monday),
        )
        print(f"    {received:,} activity_days rows")
        revised, _ = timed(
            "(set-up) days revised after final",
            lambda: revise(
                app, calendar, args.participants, datetime.combine(monday, clock(0), tzinfo=UTC)
            ),
        )
        print(f"    {revised} days revised")
        at = datetime.combine(monday, clock(2), tzinfo=UTC)
        seconds["next Monday"] = night(
            app, provider, "Next Monday (a new goal week, a new final week, revisions)", monday, at
        )
        seconds["same night again"] = night(
            app, provider, "The same night again (idempotent)", monday, at + timedelta(minutes=30)
        )
        print("After the nightly batches:")
        counts(app, at + timedelta(hours=1))
        print(f"  peak memory (process): {peak_memory()}", flush=True)
    finally:
        if app is not None:
            app.dispose()
        if database is not None:
            import psycopg

            with psycopg.connect(server.render_as_string(False), autocommit=True) as connection:
                connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            print(f"Dropped {database}.")
        if args.keep and backend == "sqlite":
            print(f"Kept the SQLite database: {folder / 'data' / 'app.sqlite3'}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    return seconds


def analyse(app: Engine) -> None:
    def work() -> None:
        raw = app.raw_connection()
        try:
            raw.driver_connection.autocommit = True
            raw.driver_connection.execute("VACUUM ANALYZE")
        finally:
            raw.driver_connection.autocommit = False
            raw.close()

    timed("(set-up) VACUUM ANALYZE", work)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365, help="days of history (at least 60)")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("MKDEAL_BENCH_POSTGRES_URL", POSTGRES_URL),
        help="a PostgreSQL server's URL, to make (and drop) a throwaway database on "
        f"(default {POSTGRES_URL}, or MKDEAL_BENCH_POSTGRES_URL)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the SQLite database file")
    args = parser.parse_args()
    if args.days < 60:
        parser.error("--days must be at least 60.")
    environment()
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    results = {backend: run(backend, args) for backend in backends}
    print(
        f"\nWhole batch (set_goals + award + issue_vouchers), seconds, {args.participants:,} "
        f"participants, {args.days} days; issue 27's target is a nightly batch under 60 s:"
    )
    names = ("catch-up", "next night", "next Monday", "same night again")
    print(f"  {'':12}" + "".join(f"{name:>18}" for name in names))
    for backend, seconds in results.items():
        print(f"  {backend:12}" + "".join(f"{seconds[name]:>18.2f}" for name in names))


if __name__ == "__main__":
    main()
