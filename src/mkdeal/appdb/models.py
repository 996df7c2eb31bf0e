"""Tables of the app database (SQLAlchemy 2). Each change needs a migration."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
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
