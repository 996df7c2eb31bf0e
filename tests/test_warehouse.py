import dataclasses
import subprocess
import sys
import time

import ibis
import pytest

from mkdeal.errors import ConfigurationError, LockHeldError
from mkdeal.warehouse import connect, open_warehouse_for_writing

HOLD_WAREHOUSE = """
import sys, time
from pathlib import Path
from mkdeal.settings import load_settings
from mkdeal.warehouse import open_warehouse_for_writing
settings = load_settings()
with open_warehouse_for_writing(settings, purpose="loading a test extract"):
    Path(sys.argv[1]).write_text("open")
    time.sleep(60)
"""


def test_warehouse_writer_writes_a_table(settings):
    with open_warehouse_for_writing(settings, purpose="a test") as warehouse:
        warehouse.create_table("numbers", ibis.memtable({"n": [1, 2, 3]}), overwrite=True)

    with open_warehouse_for_writing(settings, purpose="a test") as warehouse:
        assert warehouse.table("numbers").n.sum().to_pyarrow().as_py() == 6


def test_second_warehouse_writer_is_refused_naming_the_holder(settings, environ, tmp_path):
    ready = tmp_path / "ready"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_WAREHOUSE, str(ready)], env=environ | {"PATH": ""}
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists():
            assert holder.poll() is None, "the holder process ended early"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(LockHeldError) as refused:
            with open_warehouse_for_writing(settings, purpose="a second writer"):
                pass
        message = str(refused.value)
        assert message.startswith("The warehouse is in use by process")
        assert f"process {holder.pid}" in message
        assert "loading a test extract" in message
    finally:
        holder.kill()
        holder.wait()


def test_warehouse_unknown_scheme_is_a_sentence():
    with pytest.raises(ConfigurationError, match="supports duckdb://, postgres:// and pyspark://"):
        connect("mysql://somewhere/db")


@pytest.mark.postgres
def test_warehouse_writer_on_postgres(settings, postgres_schema):
    from .conftest import POSTGRES_URL

    settings = dataclasses.replace(settings, warehouse_url=POSTGRES_URL)
    table = f"{postgres_schema}_numbers"
    with open_warehouse_for_writing(settings, purpose="a test") as warehouse:
        warehouse.create_table(table, ibis.memtable({"n": [1, 2, 3]}), overwrite=True)
        try:
            assert warehouse.table(table).n.sum().to_pyarrow().as_py() == 6
        finally:
            warehouse.drop_table(table)
