"""The warehouse: pseudonymised record-level data and computed results, through ibis.

A DuckDB file allows one writing process and no readers beside it, so exactly one process
writes the warehouse at a time (loads and `run-due`), under a lock in the data folder. The
web server never opens it; it reads published snapshots (`mkdeal.publish`) and the app
database instead. The same lock serialises writers on PostgreSQL too, so a load and a
refresh never interleave.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager

import ibis

from mkdeal.errors import ConfigurationError, LockHeldError
from mkdeal.locking import exclusive_lock, lock_path
from mkdeal.settings import Settings, mask_url

log = logging.getLogger(__name__)


@contextmanager
def open_warehouse_for_writing(settings: Settings, *, purpose: str) -> Iterator[ibis.BaseBackend]:
    """Open the warehouse as its single writer; refuse with a sentence if another holds it."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with exclusive_lock(
        lock_path(settings.data_dir, "warehouse"), what="the warehouse", purpose=purpose
    ):
        connection = connect(settings.warehouse_url)
        log.info("Opened the warehouse %s to %s.", mask_url(settings.warehouse_url), purpose)
        try:
            yield connection
        finally:
            connection.disconnect()


def connect(url: str) -> ibis.BaseBackend:
    """Connect ibis to a warehouse URL, turning driver failures into sentences."""
    scheme = url.split(":", 1)[0].lower()
    if scheme not in {"duckdb", "postgres", "postgresql", "pyspark"}:
        raise ConfigurationError(
            f"The warehouse URL {mask_url(url)!r} uses {scheme!r}; mkdeal supports duckdb://, "
            "postgres:// and pyspark://. Set MKDEAL_WAREHOUSE_URL."
        )
    if scheme == "postgresql":
        url = "postgres" + url[len("postgresql") :]
    try:
        return ibis.connect(url)
    except Exception as error:
        message = str(error)
        # DuckDB names the process that holds its file, e.g. from a DuckDB shell left open.
        holder = re.search(r"PID (\d+)", message)
        if "lock" in message.lower() and holder:
            raise LockHeldError(
                f"The warehouse file is open in another program (process {holder.group(1)}). "
                "Close it (a DuckDB shell, a notebook) and try again."
            ) from None
        raise ConfigurationError(
            f"Could not open the warehouse at {mask_url(url)}: {message.splitlines()[0]}"
        ) from None
