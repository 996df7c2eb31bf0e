"""Alembic environment; mkdeal passes the connection in (see mkdeal.db)."""

from alembic import context

from mkdeal.appdb.models import AppBase
from mkdeal.db import run_migrations_online

run_migrations_online(context, AppBase.metadata)
