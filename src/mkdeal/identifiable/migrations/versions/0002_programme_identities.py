"""Active MK participants' names, NHS numbers and contact details.

Revision ID: identifiable_0002
Revises: identifiable_0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from mkdeal.dbtypes import UTCDateTime

revision: str = "identifiable_0002"
down_revision: str | None = "identifiable_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "programme_identities",
        sa.Column("person_id", sa.String(32), primary_key=True),
        sa.Column("nhs_number", sa.String(10), nullable=False, unique=True),
        sa.Column("given_name", sa.String(100), nullable=False),
        sa.Column("family_name", sa.String(100), nullable=False),
        sa.Column("date_of_birth", sa.Date, nullable=False),
        sa.Column("email", sa.String(254), nullable=False),
        sa.Column("mobile", sa.String(20), nullable=False),
        sa.Column("recorded_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("programme_identities")
