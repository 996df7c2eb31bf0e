"""Tables of the app database (SQLAlchemy 2). Each change needs a migration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
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
