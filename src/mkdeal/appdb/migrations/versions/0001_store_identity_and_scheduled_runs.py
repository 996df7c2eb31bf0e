"""Store identity and scheduled runs.

Revision ID: app_0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mkdeal.dbtypes import UTCDateTime

revision: str = "app_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "store_identity",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
    )
    op.create_table(
        "scheduled_runs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("step", sa.String(100), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=False),
        sa.Column("as_of", sa.String(10), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("summary", sa.Text, nullable=True),
    )
    op.create_index("ix_scheduled_runs_step_key", "scheduled_runs", ["step", "idempotency_key"])


def downgrade() -> None:
    op.drop_index("ix_scheduled_runs_step_key", table_name="scheduled_runs")
    op.drop_table("scheduled_runs")
    op.drop_table("store_identity")
