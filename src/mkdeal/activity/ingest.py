"""`run-due` steps for activity data: ingest the sync inbox into canonical days, and make
days final after the cut-off.

Ingestion reads every pending payload (the raw file the API stored), parses it with its
source's adapter in the participant's time zone, and in one app-database transaction adds
the new day versions, updates the canonical days and marks the payloads ingested (or
rejected, with the sentence why). Intraday step buckets go to the warehouse first,
replacing any earlier values for the same participant, source and interval, so a run
killed at any point and run again ends in the same state.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Engine, delete, select, update
from sqlalchemy.orm import Session

from mkdeal.activity.adapters import VALUES, PayloadError, parse
from mkdeal.activity.days import day_rules, is_final, next_version
from mkdeal.appdb.models import (
    ActivityDataDeletion,
    ActivityDay,
    ActivityDayVersion,
    GoalWeek,
    Participant,
    ProgrammeWithdrawal,
    SyncInbox,
)
from mkdeal.scheduling import Step, StepContext
from mkdeal.warehouse import open_warehouse_for_writing

log = logging.getLogger(__name__)
BUCKETS_TABLE = "activity_buckets"
BUCKETS_SCHEMA = pa.schema(
    [
        ("person_id", pa.string()),
        ("source", pa.string()),
        ("local_date", pa.date32()),
        ("bucket_start", pa.timestamp("us")),  # UTC, stored without a zone
        ("minutes", pa.int32()),
        ("steps", pa.int64()),
    ]
)


def raw_path(data_dir: Path, content_hash: str) -> Path:
    """Where the API keeps a payload, named by its SHA-256."""
    return data_dir / "raw" / "activity" / content_hash[:2] / f"{content_hash}.json"


@dataclass
class Ingested:
    payloads: int = 0
    rejected: int = 0
    versions: int = 0
    revisions_after_final: int = 0
    unchanged: int = 0
    buckets: int = 0
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{self.payloads} payloads ingested, {self.rejected} rejected; {self.versions} day "
            f"versions ({self.revisions_after_final} after a day was final), "
            f"{self.unchanged} readings that changed nothing; {self.buckets} step buckets."
        )


def pending_ids(app: Engine) -> list[int]:
    with Session(app) as session:
        query = select(SyncInbox.id).where(SyncInbox.status == "pending").order_by(SyncInbox.id)
        return list(session.scalars(query))


def ingest(
    app: Engine,
    data_dir: Path,
    *,
    as_of: date,
    now: datetime,
    write_buckets: Callable[[pa.Table], int] | None = None,
) -> Ingested:
    """Ingest every pending payload, oldest received first."""
    done = Ingested()
    final_after = day_rules().final_after_days
    with Session(app) as session, session.begin():
        inbox = list(
            session.scalars(
                select(SyncInbox)
                .where(SyncInbox.status == "pending")
                .order_by(SyncInbox.received_at, SyncInbox.id)
            )
        )
        if not inbox:
            return done
        ids = sorted({row.participant_id for row in inbox})
        people = {
            p.id: p for p in session.scalars(select(Participant).where(Participant.id.in_(ids)))
        }
        readings = []
        for row in inbox:
            try:
                payload = raw_path(data_dir, row.content_hash).read_bytes()
                parsed = parse(row.source, payload, people[row.participant_id].time_zone)
            except (OSError, PayloadError) as error:
                problem = (
                    str(error) if isinstance(error, PayloadError) else "The raw file is missing."
                )
                row.status, row.problem, row.ingested_at = "rejected", problem, now
                done.rejected += 1
                continue
            readings.extend((row, day) for day in parsed.days)
            row.status, row.ingested_at = "ingested", now
            done.payloads += 1
        days = {
            (d.participant_id, d.source, d.local_date): d
            for d in session.scalars(select(ActivityDay).where(ActivityDay.participant_id.in_(ids)))
        }
        buckets = []
        for row, reading in readings:
            key = (row.participant_id, row.source, reading.local_date)
            day = days.get(key)
            current = None if day is None else {name: getattr(day, name) for name in VALUES}
            change = next_version(
                current,
                0 if day is None else day.version,
                bool(day and day.final),
                reading.values(),
            )
            buckets.extend(
                (people[row.participant_id].person_id, row.source, reading.local_date, b)
                for b in reading.buckets
            )
            if change is None:
                done.unchanged += 1
                continue
            session.add(
                ActivityDayVersion(
                    participant_id=row.participant_id,
                    source=row.source,
                    local_date=reading.local_date,
                    version=change.version,
                    **change.values,
                    detail=reading.detail,
                    received_at=row.received_at,
                    inbox_id=row.id,
                    after_final=change.after_final,
                )
            )
            done.versions += 1
            done.revisions_after_final += change.after_final
            if day is None:
                final = is_final(reading.local_date, as_of, final_after)
                day = ActivityDay(
                    participant_id=row.participant_id,
                    source=row.source,
                    local_date=reading.local_date,
                    final=final,
                    finalised_at=now if final else None,
                    revised_after_final=False,
                )
                session.add(day)
                days[key] = day
            for name, value in change.values.items():
                setattr(day, name, value)
            day.version, day.received_at = change.version, row.received_at
            day.revised_after_final = day.revised_after_final or change.after_final
        # The warehouse first: its write replaces by key, so a kill before the commit
        # below leaves the inbox pending, and the next run writes the same buckets again.
        if buckets and write_buckets is not None:
            done.buckets = write_buckets(_buckets_table(buckets))
    return done


def _buckets_table(rows) -> pa.Table:
    return pa.table(
        {
            "person_id": [r[0] for r in rows],
            "source": [r[1] for r in rows],
            "local_date": [r[2] for r in rows],
            "bucket_start": [r[3].start.astimezone(UTC).replace(tzinfo=None) for r in rows],
            "minutes": [r[3].minutes for r in rows],
            "steps": [r[3].steps for r in rows],
        },
        schema=BUCKETS_SCHEMA,
    )


def write_buckets(backend, table: pa.Table) -> int:
    """Replace the warehouse's buckets for the same person, source and interval start."""
    if BUCKETS_TABLE not in backend.list_tables():
        backend.create_table(BUCKETS_TABLE, schema=BUCKETS_SCHEMA)
    # Last one wins within the batch too (a later payload for the same interval).
    keys = ["person_id", "source", "bucket_start"]
    numbered = table.append_column("_row", pa.array(range(table.num_rows), pa.int64()))
    last = numbered.group_by(keys, use_threads=False).aggregate([("_row", "max")])
    rows = last.column("_row_max")
    table = table.take(pc.take(rows, pc.sort_indices(rows)))
    backend.create_table("_new_buckets", table, temp=True, overwrite=True)
    backend.raw_sql(
        f"DELETE FROM {BUCKETS_TABLE} WHERE (person_id, source, bucket_start) IN "
        "(SELECT person_id, source, bucket_start FROM _new_buckets)"
    )
    backend.raw_sql(f"INSERT INTO {BUCKETS_TABLE} SELECT * FROM _new_buckets")
    backend.drop_table("_new_buckets", force=True)
    return table.num_rows


def finalise(app: Engine, *, as_of: date, now: datetime) -> int:
    """Make final every day past the cut-off on `as_of`; one statement, however many."""
    last = _last_final_date(as_of)
    with Session(app) as session, session.begin():
        result = session.execute(
            update(ActivityDay)
            .where(ActivityDay.final.is_(False), ActivityDay.local_date <= last)
            .values(final=True, finalised_at=now)
        )
        return result.rowcount


# --- run-due steps ----------------------------------------------------------------------


def _ingest_due(context: StepContext) -> list[str]:
    """Due while payloads wait; the key names the newest one, so new payloads make new
    work and a run that succeeded is never repeated for the same ones."""
    waiting = pending_ids(context.app_engine)
    return [f"inbox-up-to-{waiting[-1]}"] if waiting else []


def _ingest_run(context: StepContext, key: str) -> str:
    del key
    settings = context.settings
    now = datetime.now(UTC)  # when it was ingested: a record, not a rule input

    def store(table: pa.Table) -> int:
        with open_warehouse_for_writing(settings, purpose="store activity step buckets") as backend:
            return write_buckets(backend, table)

    return ingest(
        context.app_engine, settings.data_dir, as_of=context.as_of, now=now, write_buckets=store
    ).summary()


def _last_final_date(as_of: date) -> date:
    """The last local date that is final on `as_of`."""
    return date.fromordinal(as_of.toordinal() - day_rules().final_after_days - 1)


def _finalise_due(context: StepContext) -> list[str]:
    """Due on a day when some day has passed its cut-off and is not yet final."""
    with Session(context.app_engine) as session:
        waiting = session.scalar(
            select(ActivityDay.local_date)
            .where(
                ActivityDay.final.is_(False),
                ActivityDay.local_date <= _last_final_date(context.as_of),
            )
            .limit(1)
        )
    return [context.as_of.isoformat()] if waiting else []


def _finalise_run(context: StepContext, key: str) -> str:
    count = finalise(context.app_engine, as_of=date.fromisoformat(key), now=datetime.now(UTC))
    return f"{count} activity days became final."


INGEST_STEP = Step(
    name="ingest-activity",
    description="Turn the activity payloads received into canonical days.",
    due=_ingest_due,
    run=_ingest_run,
)
FINALISE_STEP = Step(
    name="finalise-activity-days",
    description="Make activity days final once their cut-off has passed.",
    due=_finalise_due,
    run=_finalise_run,
    after=("ingest-activity",),
)


# --- withdrawal of data -----------------------------------------------------------------


def deletions_due(app: Engine) -> list[int]:
    """Participants who withdrew their data and whose activity data is not yet deleted."""
    with Session(app) as session:
        deleted = select(ActivityDataDeletion.participant_id)
        query = (
            select(ProgrammeWithdrawal.participant_id)
            .where(ProgrammeWithdrawal.level == "data")
            .where(ProgrammeWithdrawal.participant_id.not_in(deleted))
            .order_by(ProgrammeWithdrawal.participant_id)
        )
        return list(session.scalars(query))


def delete_withdrawn_data(
    app: Engine, data_dir: Path, participant_id: int, *, now: datetime, delete_buckets=None
) -> ActivityDataDeletion:
    """Delete a participant's activity data: canonical days, every version, inbox rows
    and their raw files, intraday buckets, and the goal weeks derived from them; keep only
    a record of how much. The reward ledger stays (financial audit needs it). The
    warehouse and the files go first, the rows and the record last, so a run stopped
    half-way finds the rest still to do and does it."""
    with Session(app) as session:
        person_id = session.scalar(
            select(Participant.person_id).where(Participant.id == participant_id)
        )
        mine = select(SyncInbox.content_hash).where(SyncInbox.participant_id == participant_id)
        # A file is named by its content: another participant may have sent the same bytes.
        shared = select(SyncInbox.content_hash).where(
            SyncInbox.participant_id != participant_id, SyncInbox.content_hash.in_(mine)
        )
        hashes = set(session.scalars(mine)) - set(session.scalars(shared))
    buckets = delete_buckets(person_id) if delete_buckets is not None else 0
    for content_hash in hashes:
        raw_path(data_dir, content_hash).unlink(missing_ok=True)
    with Session(app, expire_on_commit=False) as session, session.begin():
        counts = {}
        for name, model in (
            ("versions", ActivityDayVersion),
            ("days", ActivityDay),
            ("payloads", SyncInbox),
            ("goal_weeks", GoalWeek),  # goals and results are derived from the days
        ):
            counts[name] = session.execute(
                delete(model).where(model.participant_id == participant_id)
            ).rowcount
        record = ActivityDataDeletion(
            participant_id=participant_id, deleted_at=now, buckets=buckets, **counts
        )
        session.add(record)
    return record


def delete_person_buckets(backend, person_id: str) -> int:
    if BUCKETS_TABLE not in backend.list_tables():
        return 0
    table = backend.table(BUCKETS_TABLE)
    count = table.filter(table.person_id == person_id).count().to_pyarrow().as_py()
    backend.raw_sql(f"DELETE FROM {BUCKETS_TABLE} WHERE person_id = '{_safe_id(person_id)}'")
    return count


def _safe_id(person_id: str) -> str:
    # A person_id is 32 hex characters; anything else never reaches SQL text.
    if len(person_id) != 32 or any(c not in "0123456789abcdef" for c in person_id):
        raise ValueError("Not a person_id.")
    return person_id


def _deletions_due(context: StepContext) -> list[str]:
    return [f"participant-{pid}" for pid in deletions_due(context.app_engine)]


def _deletion_run(context: StepContext, key: str) -> str:
    participant_id = int(key.removeprefix("participant-"))

    def buckets(person_id: str) -> int:
        with open_warehouse_for_writing(
            context.settings, purpose="delete a withdrawn participant's step buckets"
        ) as backend:
            return delete_person_buckets(backend, person_id)

    record = delete_withdrawn_data(
        context.app_engine,
        context.settings.data_dir,
        participant_id,
        now=datetime.now(UTC),
        delete_buckets=buckets,
    )
    return (
        f"Deleted {record.days} days, {record.versions} versions, {record.payloads} payloads, "
        f"{record.goal_weeks} goal weeks and {record.buckets} step buckets of a participant "
        "who withdrew their data."
    )


DELETION_STEP = Step(
    name="delete-withdrawn-activity-data",
    description="Delete the activity data of participants who withdrew it.",
    due=_deletions_due,
    run=_deletion_run,
    after=("ingest-activity",),
)
