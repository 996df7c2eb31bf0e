"""Active MK: practices, participants, safety screens and sign-offs, consent choices,
pauses and withdrawals.

Revision ID: app_0003
Revises: app_0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mkdeal.dbtypes import UTCDateTime

revision: str = "app_0003"
down_revision: str | None = "app_0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _participant() -> sa.Column:
    return sa.Column(
        "participant_id", sa.Integer, sa.ForeignKey("participants.id"), nullable=False, index=True
    )


def upgrade() -> None:
    op.create_table(
        "programme_practices",
        sa.Column("ods_code", sa.String(10), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "participants",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(12), nullable=False, unique=True),
        sa.Column("person_id", sa.String(32), nullable=False, unique=True),
        sa.Column("enrolled_at", UTCDateTime(), nullable=False),
        sa.Column("enrolled_by", sa.String(100), nullable=False),
        sa.Column("practice_code", sa.String(10), nullable=False),
        sa.Column("device_route", sa.String(40), nullable=False),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("eligibility", sa.JSON, nullable=False),
        sa.Column("eligibility_checked_by", sa.String(100), nullable=False),
        sa.Column("eligibility_checked_at", UTCDateTime(), nullable=False),
    )
    op.create_table(
        "safety_screens",
        sa.Column("id", sa.Integer, primary_key=True),
        _participant(),
        sa.Column("answers", sa.JSON, nullable=False),
        sa.Column("answered_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
    )
    op.create_table(
        "screen_sign_offs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "screen_id",
            sa.Integer,
            sa.ForeignKey("safety_screens.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("decision", sa.String(30), nullable=False),
        sa.Column("max_weekly_active_minutes", sa.Integer, nullable=True),
        sa.Column("max_daily_steps", sa.Integer, nullable=True),
        sa.Column("no_vigorous", sa.Boolean, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("signed_at", UTCDateTime(), nullable=False),
        sa.Column("signed_by", sa.String(100), nullable=False),
    )
    op.create_table(
        "consent_choices",
        sa.Column("id", sa.Integer, primary_key=True),
        _participant(),
        sa.Column("version", sa.String(10), nullable=False),
        sa.Column("item", sa.String(50), nullable=False),
        sa.Column("agreed", sa.Boolean, nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
    )
    op.create_table(
        "programme_pauses",
        sa.Column("id", sa.Integer, primary_key=True),
        _participant(),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("ends_on", sa.Date, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("ended_by", sa.String(100), nullable=True),
    )
    op.create_table(
        "programme_withdrawals",
        sa.Column("id", sa.Integer, primary_key=True),
        _participant(),
        sa.Column("level", sa.String(30), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("recorded_by", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.UniqueConstraint("participant_id", "level"),
    )


def downgrade() -> None:
    for table in (
        "programme_withdrawals",
        "programme_pauses",
        "consent_choices",
        "screen_sign_offs",
        "safety_screens",
        "participants",
        "programme_practices",
    ):
        op.drop_table(table)
