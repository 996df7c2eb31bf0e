"""Tables of the identifiable store (SQLAlchemy 2). Each change needs a migration."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from mkdeal.dbtypes import UTCDateTime


class IdentifiableBase(DeclarativeBase):
    pass


class StoreIdentity(IdentifiableBase):
    """Facts fixed when the store was created (see `mkdeal.appdb.models.StoreIdentity`)."""

    __tablename__ = "store_identity"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class ProgrammeIdentity(IdentifiableBase):
    """Who an Active MK participant is and how to reach them, by their person_id. Read only
    by staff with `programme.view_identity`, and every view is audited."""

    __tablename__ = "programme_identities"

    person_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    nhs_number: Mapped[str] = mapped_column(String(10), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(254))
    mobile: Mapped[str] = mapped_column(String(20))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
