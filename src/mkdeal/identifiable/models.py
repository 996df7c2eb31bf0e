"""Tables of the identifiable store (SQLAlchemy 2). Each change needs a migration."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class IdentifiableBase(DeclarativeBase):
    pass


class StoreIdentity(IdentifiableBase):
    """Facts fixed when the store was created (see `mkdeal.appdb.models.StoreIdentity`)."""

    __tablename__ = "store_identity"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
