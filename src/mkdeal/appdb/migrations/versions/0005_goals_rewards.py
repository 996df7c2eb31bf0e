"""Active MK goals and rewards: goal weeks (and their count in the record of a deletion),
the reward budget and ledger, notifications, voucher stock, participants' sign-in
accounts, and the ledger's lock row.

Revision ID: app_0005
Revises: app_0004
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mkdeal.dbtypes import UTCDateTime

revision: str = "app_0005"
down_revision: str | None = "app_0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _participant(**options) -> sa.Column:
    return sa.Column(
        "participant_id", sa.Integer, sa.ForeignKey("participants.id"), nullable=False, **options
    )


def upgrade() -> None:
    with op.batch_alter_table("activity_data_deletions") as batch:
        batch.add_column(sa.Column("goal_weeks", sa.Integer, nullable=False, server_default="0"))
    op.create_table(
        "goal_weeks",
        _participant(primary_key=True),
        sa.Column("week_start", sa.Date, primary_key=True),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("readiness", sa.String(12), nullable=False),
        sa.Column("active_minutes", sa.Integer, nullable=True),
        sa.Column("daily_steps", sa.Integer, nullable=True),
        sa.Column("plan_week", sa.Integer, nullable=True),
        sa.Column("held", sa.Boolean, nullable=False),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("computed_at", UTCDateTime(), nullable=False),
        sa.Column("met", sa.Boolean, nullable=True),
        sa.Column("result", sa.JSON, nullable=True),
        sa.Column("evaluated_at", UTCDateTime(), nullable=True),
    )
    op.create_table(
        "reward_budget",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("pence", sa.Integer, nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.Column("added_by", sa.String(100), nullable=False),
    )
    op.create_table(
        "voucher_stock",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("provider", sa.String(20), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("code_encrypted", sa.Text, nullable=False),
        sa.Column("pence", sa.Integer, nullable=False),
        sa.Column("batch", sa.String(64), nullable=False),
        sa.Column("loaded_at", UTCDateTime(), nullable=False),
        sa.Column("loaded_by", sa.String(100), nullable=False),
        sa.Column("issued_at", UTCDateTime(), nullable=True),
    )
    op.create_index("ix_voucher_stock_free", "voucher_stock", ["pence", "issued_at"])
    op.create_table(
        "reward_ledger",
        sa.Column("id", sa.Integer, primary_key=True),
        _participant(index=True),
        sa.Column("rule", sa.String(40), nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("kind", sa.String(12), nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("pence", sa.Integer, nullable=False),
        sa.Column("cap_year", sa.Integer, nullable=False),
        sa.Column("as_of", sa.Date, nullable=False),
        sa.Column(
            "voucher_id",
            sa.Integer,
            sa.ForeignKey("voucher_stock.id"),
            nullable=True,
            unique=True,
        ),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.UniqueConstraint("participant_id", "rule", "period", "kind"),
    )
    op.create_table(
        "reward_notifications",
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("reward_ledger.id"), primary_key=True),
        sa.Column("notified_at", UTCDateTime(), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
    )
    op.create_table(
        "participant_accounts",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), primary_key=True),
        _participant(unique=True),
        sa.Column("linked_at", UTCDateTime(), nullable=False),
        sa.Column("linked_by", sa.String(100), nullable=False),
    )
    op.create_table(
        "programme_locks",
        sa.Column("name", sa.String(30), primary_key=True),
        sa.Column("taken", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "programme_locks",
        "participant_accounts",
        "reward_notifications",
        "reward_ledger",
        "voucher_stock",
        "reward_budget",
        "goal_weeks",
    ):
        op.drop_table(table)
    with op.batch_alter_table("activity_data_deletions") as batch:
        batch.drop_column("goal_weeks")
