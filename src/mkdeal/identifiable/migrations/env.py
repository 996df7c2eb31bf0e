"""Alembic environment; mkdeal passes the connection in (see mkdeal.db)."""

from alembic import context

from mkdeal.db import run_migrations_online
from mkdeal.identifiable.models import IdentifiableBase

run_migrations_online(context, IdentifiableBase.metadata)
