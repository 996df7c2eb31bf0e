"""Tables of the app database (SQLAlchemy 2). Each change needs a migration."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mkdeal.dbtypes import UTCDateTime


class AppBase(DeclarativeBase):
    pass


class StoreIdentity(AppBase):
    """Facts fixed when the store was created, such as the pseudonymisation key's fingerprint.

    A store of `person_id`s made under one key is refused under another, so a lost or
    changed key can never silently split people in two.
    """

    __tablename__ = "store_identity"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class ScheduledRun(AppBase):
    """One attempt of one scheduled step on one piece of work (its idempotency key)."""

    __tablename__ = "scheduled_runs"
    __table_args__ = (Index("ix_scheduled_runs_step_key", "step", "idempotency_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    step: Mapped[str] = mapped_column(String(100))
    idempotency_key: Mapped[str] = mapped_column(String(200))
    as_of: Mapped[str] = mapped_column(String(10))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # running, succeeded, failed, or abandoned (its process ended before it finished)
    outcome: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str | None] = mapped_column(Text)


class Organisation(AppBase):
    """A partner organisation of the Deal, by its ODS code (ONS code where it has none)."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    partner_id: Mapped[str] = mapped_column(String(64), unique=True)


class User(AppBase):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(100), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserOrganisation(AppBase):
    __tablename__ = "user_organisations"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)


class UserRole(AppBase):
    """A role granted to a user; roles and their permissions are data (access/roles.toml)."""

    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    role: Mapped[str] = mapped_column(String(50), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_by: Mapped[str] = mapped_column(String(100))


class WebSession(AppBase):
    """A signed-in session. Only a hash of the session token is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SignInFailure(AppBase):
    """Failed sign-ins counted per account and per address, in a window."""

    __tablename__ = "sign_in_failures"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    failures: Mapped[int] = mapped_column()


class AuditEvent(AppBase):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(100))  # a username, or "public", or "cli:<user>"
    action: Mapped[str] = mapped_column(String(50))
    target: Mapped[str | None] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(40))


# --- Active MK: the programme (issue 25) -------------------------------------------------
# Participants are held by person_id; their names, NHS numbers and contact details are in
# the identifiable store (`mkdeal.identifiable.models.ProgrammeIdentity`).


class ProgrammePractice(AppBase):
    """A Milton Keynes GP practice whose patients may enrol (`mkdeal programme practices`)."""

    __tablename__ = "programme_practices"

    ods_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Participant(AppBase):
    """One person enrolled in Active MK, with the eligibility check that let them in."""

    __tablename__ = "participants"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(12), unique=True)  # AMK-00001
    person_id: Mapped[str] = mapped_column(String(32), unique=True)
    enrolled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    enrolled_by: Mapped[str] = mapped_column(String(100))
    practice_code: Mapped[str] = mapped_column(String(10))
    device_route: Mapped[str] = mapped_column(String(40))
    time_zone: Mapped[str] = mapped_column(String(64))  # the study day is their local date
    # The eligibility answers (no date of birth: that stays in the identifiable store).
    eligibility: Mapped[dict] = mapped_column(JSON)
    eligibility_checked_by: Mapped[str] = mapped_column(String(100))
    eligibility_checked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SafetyScreen(AppBase):
    """One exercise-safety screen: a yes or no to each question (programme.SCREEN_QUESTIONS)."""

    __tablename__ = "safety_screens"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    answers: Mapped[dict] = mapped_column(JSON)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))


class ScreenSignOff(AppBase):
    """A clinician's decision on a positive screen, with any limits on the plan."""

    __tablename__ = "screen_sign_offs"

    id: Mapped[int] = mapped_column(primary_key=True)
    screen_id: Mapped[int] = mapped_column(ForeignKey("safety_screens.id"), index=True)
    decision: Mapped[str] = mapped_column(String(30))
    max_weekly_active_minutes: Mapped[int | None] = mapped_column()
    max_daily_steps: Mapped[int | None] = mapped_column()
    no_vigorous: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    signed_by: Mapped[str] = mapped_column(String(100))


class ConsentChoice(AppBase):
    """One answer to one item of one consent version; never changed, only added to."""

    __tablename__ = "consent_choices"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    version: Mapped[str] = mapped_column(String(10))
    item: Mapped[str] = mapped_column(String(50))
    agreed: Mapped[bool] = mapped_column(Boolean)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))


class ProgrammePause(AppBase):
    """A pause from `starts_on` to `ends_on` (the last day paused; open while null)."""

    __tablename__ = "programme_pauses"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    reason: Mapped[str] = mapped_column(String(30))
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))
    ended_by: Mapped[str | None] = mapped_column(String(100))


class ProgrammeWithdrawal(AppBase):
    """A withdrawal at one level; a participant reaches each level at most once."""

    __tablename__ = "programme_withdrawals"
    __table_args__ = (UniqueConstraint("participant_id", "level"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    level: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text)
