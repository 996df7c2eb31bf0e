"""Device tokens and the sync inbox: what the sync API reads and writes (I/O, no web).

A token is scoped to one participant; only its SHA-256 is stored, so a copy of the app
database cannot be used to send data. A payload is kept unchanged as a file named by its
SHA-256, then recorded as a pending inbox row: file first, row second, so a crash leaves
at most a file with no row (harmless, and reused if the same bytes come again), never a
row without its file. The same bytes from the same participant are one row.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mkdeal.activity.consent import Choice
from mkdeal.activity.ingest import raw_path
from mkdeal.activity.participants import NotFound, Refused, _audit, _participant
from mkdeal.activity.readiness import LONDON, ParticipantState, Withdrawal
from mkdeal.appdb.models import (
    ConsentChoice,
    DeviceToken,
    Participant,
    ProgrammeWithdrawal,
    SyncInbox,
)

TOKEN_PREFIX = "amk_"
LAST_USED_EVERY = timedelta(minutes=1)  # how stale last_used_at may be: one write a minute


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(
    engine: Engine,
    reference: str,
    label: str,
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> str:
    """A new device token for a participant, returned once and never stored."""
    label = label.strip()
    if not label:
        raise Refused(["Name the device, for example 'Apple Watch' or 'loaned phone'."])
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        row = DeviceToken(
            participant_id=participant.id,
            token_hash=_hash(token),
            label=label[:100],
            issued_at=now,
            issued_by=actor,
        )
        session.add(row)
        session.flush()
        _audit(
            session,
            actor,
            "programme.token_issue",
            reference,
            {"token": row.id, "label": label},
            now,
            request_id,
        )
    return token


def revoke_token(
    engine: Engine,
    reference: str,
    token_id: int,
    *,
    actor: str,
    now: datetime,
    request_id: str | None = None,
) -> bool:
    """Revoke a token at once; False if it was already revoked."""
    with Session(engine) as session, session.begin():
        participant = _participant(session, reference)
        row = session.get(DeviceToken, token_id)
        if row is None or row.participant_id != participant.id:
            raise NotFound(f"{reference} has no device token {token_id}.")
        if row.revoked_at is not None:
            return False
        row.revoked_at, row.revoked_by = now, actor
        _audit(
            session,
            actor,
            "programme.token_revoke",
            reference,
            {"token": token_id},
            now,
            request_id,
        )
    return True


def tokens(engine: Engine, reference: str) -> list[DeviceToken]:
    with Session(engine) as session:
        participant = _participant(session, reference)
        found = list(
            session.scalars(
                select(DeviceToken)
                .where(DeviceToken.participant_id == participant.id)
                .order_by(DeviceToken.id)
            )
        )
        session.expunge_all()
        return found


@dataclass(frozen=True)
class Sender:
    participant_id: int
    token_id: int
    time_zone: str
    state: ParticipantState  # withdrawals and consent: what `accepts_data` needs


def authenticate(engine: Engine, token: str, now: datetime) -> Sender | None:
    """The participant a token speaks for, with what deciding on their data needs; None
    for an unknown or revoked token. Three small queries; last_used_at is written at most
    once a minute per token, so a burst of syncs does not queue behind writes."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    with Session(engine) as session:
        row = session.execute(
            select(
                DeviceToken.id,
                DeviceToken.participant_id,
                DeviceToken.last_used_at,
                Participant.time_zone,
            )
            .join(Participant, Participant.id == DeviceToken.participant_id)
            .where(DeviceToken.token_hash == _hash(token), DeviceToken.revoked_at.is_(None))
        ).first()
        if row is None:
            return None
        token_id, participant_id, last_used, zone = row
        withdrawals = tuple(
            Withdrawal(level, at)
            for level, at in session.execute(
                select(ProgrammeWithdrawal.level, ProgrammeWithdrawal.at).where(
                    ProgrammeWithdrawal.participant_id == participant_id
                )
            )
        )
        choices = tuple(
            Choice(*values)
            for values in session.execute(
                select(
                    ConsentChoice.version,
                    ConsentChoice.item,
                    ConsentChoice.agreed,
                    ConsentChoice.recorded_at,
                ).where(ConsentChoice.participant_id == participant_id)
            )
        )
    if last_used is None or now - last_used >= LAST_USED_EVERY:
        with Session(engine) as session, session.begin():
            session.execute(
                update(DeviceToken).where(DeviceToken.id == token_id).values(last_used_at=now)
            )
    state = ParticipantState(choices=choices, withdrawals=withdrawals)
    return Sender(participant_id, token_id, zone, state)


def _write_once(path: Path, payload: bytes) -> None:
    """Write the bytes under their hash's name, whole or not at all."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(payload)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def receive(
    engine: Engine,
    data_dir: Path,
    participant_id: int,
    source: str,
    payload: bytes,
    *,
    now: datetime,
    token_id: int | None = None,
    entered_by: str | None = None,
) -> tuple[int, bool]:
    """Keep a payload and queue it for ingestion: (inbox id, whether it came before)."""
    digest = hashlib.sha256(payload).hexdigest()
    _write_once(raw_path(data_dir, digest), payload)
    existing = select(SyncInbox.id).where(
        SyncInbox.participant_id == participant_id, SyncInbox.content_hash == digest
    )
    # Insert straight away (a repeat is rare): the unique key turns a repeat, or the same
    # bytes sent twice at once, into "received before".
    try:
        with Session(engine) as session, session.begin():
            row = SyncInbox(
                participant_id=participant_id, token_id=token_id, entered_by=entered_by,
                source=source, content_hash=digest, size=len(payload), received_at=now,
                status="pending",
            )  # fmt: skip
            session.add(row)
            session.flush()
            return row.id, False
    except IntegrityError:
        with Session(engine) as session:
            return session.scalar(existing), True


@dataclass(frozen=True)
class DayRow:
    """A canonical day as staff see it."""

    local_date: date
    source: str
    values: dict
    version: int
    final: bool
    revised_after_final: bool
    first_received_at: datetime
    valid: bool
    why_not: str

    @property
    def latency_hours(self) -> float:
        """Hours from the end of the day (local midnight) to its first data."""
        end = datetime.combine(self.local_date + timedelta(days=1), datetime.min.time(), LONDON)
        return (self.first_received_at - end).total_seconds() / 3600


def days_of(engine: Engine, participant_id: int, first: date, last: date) -> list[DayRow]:
    """A participant's canonical days in a span, newest first, with validity under the
    rule in force and when each was first received."""
    from mkdeal.activity.adapters import VALUES
    from mkdeal.activity.days import valid_day
    from mkdeal.appdb.models import ActivityDay, ActivityDayVersion

    with Session(engine) as session:
        days = list(
            session.scalars(
                select(ActivityDay)
                .where(ActivityDay.participant_id == participant_id)
                .where(ActivityDay.local_date.between(first, last))
                .order_by(ActivityDay.local_date.desc(), ActivityDay.source)
            )
        )
        firsts = dict(
            (((source, day), at))
            for source, day, at in session.execute(
                select(
                    ActivityDayVersion.source,
                    ActivityDayVersion.local_date,
                    func.min(ActivityDayVersion.received_at),
                )
                .where(ActivityDayVersion.participant_id == participant_id)
                .where(ActivityDayVersion.local_date.between(first, last))
                .group_by(ActivityDayVersion.source, ActivityDayVersion.local_date)
            )
        )
    rows = []
    for day in days:
        values = {name: getattr(day, name) for name in VALUES}
        valid, why = valid_day(values)
        rows.append(
            DayRow(day.local_date, day.source, values, day.version, day.final,
                   day.revised_after_final, firsts[(day.source, day.local_date)], valid, why)
        )  # fmt: skip
    return rows
