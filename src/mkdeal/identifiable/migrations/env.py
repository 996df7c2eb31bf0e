"""Alembic environment; mkdeal passes the connection in (see mkdeal.db)."""

from alembic import context

from mkdeal.identifiable.models import IdentifiableBase
from mkdeal.db import run_migrations_online

run_migrations_online(context, IdentifiableBase.metadata)
