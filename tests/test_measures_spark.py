"""Conformance on Spark: every registered measure, breakdown and frequency gives the same
results on PySpark (local mode) as on DuckDB, counts exactly and values within 1e-9.

The same small synthetic Milton Keynes is loaded into DuckDB through the real loads; each
warehouse table then goes to Parquet and into Spark through ibis, and the engine runs
unchanged on both. The DuckDB–PostgreSQL test (test_measures_conformance.py) holds
PostgreSQL to the same comparison.
"""

from __future__ import annotations

import ibis
import pytest

from mkdeal.datasets import DATASETS
from mkdeal.measures.engine import LOADS_TABLE
from mkdeal.synth import generate
from mkdeal.warehouse import open_warehouse_for_writing

from .test_measures_conformance import (
    END,
    START,
    assert_same_results,
    load_everything,
    results_on,
)

pytestmark = [
    pytest.mark.spark,
    # py4j leaves its sockets to the garbage collector: not ours to close.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]


def test_every_measure_agrees_on_duckdb_and_spark(settings, spark_session, tmp_path):
    generate(tmp_path / "mk", seed=3, start=START, end=END, scale=0.03)
    load_everything(settings, tmp_path / "mk")
    parquet = tmp_path / "parquet"
    parquet.mkdir()
    with open_warehouse_for_writing(settings, purpose="the Spark conformance test") as duckdb:
        names = [n for n in duckdb.list_tables() if n in DATASETS or n == LOADS_TABLE]
        for name in names:
            # Hadoop ignores files whose names start with "_" (such as _loads), so a prefix.
            duckdb.table(name).to_parquet(parquet / f"table{name}.parquet")
        on_duckdb = results_on(duckdb)

    spark = ibis.pyspark.connect(spark_session)
    for name in names:
        spark.create_table(name, spark.read_parquet(parquet / f"table{name}.parquet"))
    try:
        on_spark = results_on(spark)
    finally:
        for name in names:
            spark.drop_table(name, force=True)

    assert set(names) >= {"area_deprivation", "residents", LOADS_TABLE}
    assert_same_results(on_duckdb, on_spark)
