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


# --- Active MK: activity data (issue 26) ------------------------------------------------


class DeviceToken(AppBase):
    """A token the phone app sends with every sync, scoped to one participant. Only its
    SHA-256 is stored; the token itself is shown once, when staff issue it."""

    __tablename__ = "device_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SyncInbox(AppBase):
    """One payload received, kept unchanged as a file named by its SHA-256 under the data
    folder; `run-due` ingests it. A payload received twice is one row."""

    __tablename__ = "sync_inbox"
    __table_args__ = (UniqueConstraint("participant_id", "content_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("device_tokens.id"))
    entered_by: Mapped[str | None] = mapped_column(String(100))  # staff, for manual entry
    source: Mapped[str] = mapped_column(String(20))  # healthkit, fhir, manual
    content_hash: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    status: Mapped[str] = mapped_column(String(12), index=True)  # pending, ingested, rejected
    ingested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    problem: Mapped[str | None] = mapped_column(Text)


class ActivityDay(AppBase):
    """The canonical day: one per participant, source and local date, at its newest
    version. Every version is kept in `activity_day_versions`."""

    __tablename__ = "activity_days"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(20), primary_key=True)
    local_date: Mapped[date] = mapped_column(Date, primary_key=True)
    steps: Mapped[int | None] = mapped_column()
    light_minutes: Mapped[int | None] = mapped_column()
    moderate_minutes: Mapped[int | None] = mapped_column()
    vigorous_minutes: Mapped[int | None] = mapped_column()
    wear_minutes: Mapped[int | None] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column()
    final: Mapped[bool] = mapped_column(Boolean)
    finalised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revised_after_final: Mapped[bool] = mapped_column(Boolean)


class ActivityDayVersion(AppBase):
    """Every version of every canonical day, with the payload it came from."""

    __tablename__ = "activity_day_versions"
    __table_args__ = (UniqueConstraint("participant_id", "source", "local_date", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    source: Mapped[str] = mapped_column(String(20))
    local_date: Mapped[date] = mapped_column(Date)
    version: Mapped[int] = mapped_column()
    steps: Mapped[int | None] = mapped_column()
    light_minutes: Mapped[int | None] = mapped_column()
    moderate_minutes: Mapped[int | None] = mapped_column()
    vigorous_minutes: Mapped[int | None] = mapped_column()
    wear_minutes: Mapped[int | None] = mapped_column()
    detail: Mapped[dict] = mapped_column(JSON)  # per-source sums and the like, for audit
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    inbox_id: Mapped[int] = mapped_column(ForeignKey("sync_inbox.id"))
    after_final: Mapped[bool] = mapped_column(Boolean)


class ActivityDataDeletion(AppBase):
    """The record that a participant's activity data was deleted at their withdrawal of
    data: how much, when, and nothing else."""

    __tablename__ = "activity_data_deletions"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), unique=True)
    deleted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    days: Mapped[int] = mapped_column()
    versions: Mapped[int] = mapped_column()
    payloads: Mapped[int] = mapped_column()
    buckets: Mapped[int] = mapped_column()
    goal_weeks: Mapped[int] = mapped_column(default=0)


# --- Active MK: goals and rewards (issue 27) --------------------------------------------


class GoalWeek(AppBase):
    """One participant's week: the goal set for it (or why there is none), with the rule
    version and inputs it came from, and, once its days are final, how the week did."""

    __tablename__ = "goal_weeks"

    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), primary_key=True)
    week_start: Mapped[date] = mapped_column(Date, primary_key=True)  # a Monday, local
    rule: Mapped[str] = mapped_column(String(60))
    readiness: Mapped[str] = mapped_column(String(12))  # not_ready: no goal that week
    active_minutes: Mapped[int | None] = mapped_column()
    daily_steps: Mapped[int | None] = mapped_column()
    plan_week: Mapped[int | None] = mapped_column()
    held: Mapped[bool] = mapped_column(Boolean)
    inputs: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    met: Mapped[bool | None] = mapped_column(Boolean)
    result: Mapped[dict | None] = mapped_column(JSON)
    evaluated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RewardBudget(AppBase):
    """Money put into the programme's reward budget; only ever added to."""

    __tablename__ = "reward_budget"

    id: Mapped[int] = mapped_column(primary_key=True)
    pence: Mapped[int] = mapped_column()
    note: Mapped[str] = mapped_column(Text)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
    added_by: Mapped[str] = mapped_column(String(100))


class VoucherStock(AppBase):
    """One voucher code of the built-in stock provider, encrypted (codes are cash); its
    keyed hash stops a code being loaded twice. `issued_at` is set once, when issued."""

    __tablename__ = "voucher_stock"
    __table_args__ = (Index("ix_voucher_stock_free", "pence", "issued_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    code_encrypted: Mapped[str] = mapped_column(Text)
    pence: Mapped[int] = mapped_column()
    batch: Mapped[str] = mapped_column(String(64))  # the loaded file's SHA-256
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[str] = mapped_column(String(100))
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RewardEntry(AppBase):
    """The append-only reward ledger. One entry per (participant, rule, period, kind):
    re-running a week, or two batches at once, can never pay twice. Money in pence."""

    __tablename__ = "reward_ledger"
    __table_args__ = (UniqueConstraint("participant_id", "rule", "period", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    rule: Mapped[str] = mapped_column(String(40))
    period: Mapped[str] = mapped_column(String(20))  # a week's Monday, voucher-N, programme
    kind: Mapped[str] = mapped_column(String(12))
    points: Mapped[int] = mapped_column()
    pence: Mapped[int] = mapped_column()
    cap_year: Mapped[int] = mapped_column()  # the programme year it counts in, from 1
    as_of: Mapped[date] = mapped_column(Date)  # the batch's "today"
    voucher_id: Mapped[int | None] = mapped_column(ForeignKey("voucher_stock.id"), unique=True)
    detail: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class RewardNotification(AppBase):
    """That a ledger entry was shown to the participant (in the app, or in a message):
    from then on it is never clawed back."""

    __tablename__ = "reward_notifications"

    entry_id: Mapped[int] = mapped_column(ForeignKey("reward_ledger.id"), primary_key=True)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(20))


class ParticipantAccount(AppBase):
    """The user a participant signs in as, to see their own goals and rewards."""

    __tablename__ = "participant_accounts"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), unique=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    linked_by: Mapped[str] = mapped_column(String(100))


class ProgrammeLock(AppBase):
    """A row whose update serialises the reward ledger's writers, on SQLite and on
    PostgreSQL alike (the unique key is the second line of defence)."""

    __tablename__ = "programme_locks"

    name: Mapped[str] = mapped_column(String(30), primary_key=True)
    taken: Mapped[int] = mapped_column()
