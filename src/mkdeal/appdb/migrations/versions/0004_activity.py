"""Active MK activity data: device tokens, the sync inbox, canonical days and their
versions, and records of deleted data.

Revision ID: app_0004
Revises: app_0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mkdeal.dbtypes import UTCDateTime

revision: str = "app_0004"
down_revision: str | None = "app_0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _participant(**options) -> sa.Column:
    return sa.Column(
        "participant_id", sa.Integer, sa.ForeignKey("participants.id"), nullable=False, **options
    )


def _values() -> list[sa.Column]:
    return [
        sa.Column(name, sa.Integer, nullable=True)
        for name in (
            "steps",
            "light_minutes",
            "moderate_minutes",
            "vigorous_minutes",
            "wear_minutes",
        )
    ]


def upgrade() -> None:
    op.create_table(
        "device_tokens",
        sa.Column("id", sa.Integer, primary_key=True),
        _participant(index=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("label", sa.String(100), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=False),
        sa.Column("issued_by", sa.String(100), nullable=False),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.String(100), nullable=True),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "sync_inbox",
        sa.Column("id", sa.Integer, primary_key=True),
        _participant(index=True),
        sa.Column("token_id", sa.Integer, sa.ForeignKey("device_tokens.id"), nullable=True),
        sa.Column("entered_by", sa.String(100), nullable=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False, index=True),
        sa.Column("status", sa.String(12), nullable=False, index=True),
        sa.Column("ingested_at", UTCDateTime(), nullable=True),
        sa.Column("problem", sa.Text, nullable=True),
        sa.UniqueConstraint("participant_id", "content_hash"),
    )
    op.create_table(
        "activity_days",
        _participant(primary_key=True),
        sa.Column("source", sa.String(20), primary_key=True),
        sa.Column("local_date", sa.Date, primary_key=True),
        *_values(),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("final", sa.Boolean, nullable=False),
        sa.Column("finalised_at", UTCDateTime(), nullable=True),
        sa.Column("revised_after_final", sa.Boolean, nullable=False),
    )
    op.create_table(
        "activity_day_versions",
        sa.Column("id", sa.Integer, primary_key=True),
        _participant(index=True),
        sa.Column("source", sa.String(20), nullable=False),
        sa.Column("local_date", sa.Date, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        *_values(),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("inbox_id", sa.Integer, sa.ForeignKey("sync_inbox.id"), nullable=False),
        sa.Column("after_final", sa.Boolean, nullable=False),
        sa.UniqueConstraint("participant_id", "source", "local_date", "version"),
    )
    op.create_table(
        "activity_data_deletions",
        sa.Column("id", sa.Integer, primary_key=True),
        _participant(unique=True),
        sa.Column("deleted_at", UTCDateTime(), nullable=False),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("versions", sa.Integer, nullable=False),
        sa.Column("payloads", sa.Integer, nullable=False),
        sa.Column("buckets", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "activity_data_deletions",
        "activity_day_versions",
        "activity_days",
        "sync_inbox",
        "device_tokens",
    ):
        op.drop_table(table)
