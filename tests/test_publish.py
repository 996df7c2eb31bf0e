import pyarrow as pa
import pytest

from mkdeal.errors import UserError
from mkdeal.publish import current_snapshot_id, open_snapshot, publish_snapshot


def _results(value: int) -> pa.Table:
    return pa.table({"measure": ["handovers_over_30_minutes"], "value": [value]})


def test_publish_snapshot_becomes_current_and_reads_back(data_dir):
    snapshot = publish_snapshot(
        data_dir, {"results": _results(7)}, metadata={"as_of": "2026-03-31"}
    )

    assert current_snapshot_id(data_dir) == snapshot.id
    current = open_snapshot(data_dir)
    assert current.table("results").to_pylist() == [
        {"measure": "handovers_over_30_minutes", "value": 7}
    ]
    assert current.manifest["metadata"] == {"as_of": "2026-03-31"}
    assert current.manifest["tables"]["results"]["rows"] == 1


def test_publish_same_content_gives_same_snapshot(data_dir):
    first = publish_snapshot(data_dir, {"results": _results(7)})
    second = publish_snapshot(data_dir, {"results": _results(7)})

    assert first.id == second.id
    assert len((data_dir / "published" / "history.jsonl").read_text().splitlines()) == 1


def test_publish_new_content_switches_current_and_keeps_the_old(data_dir):
    old = publish_snapshot(data_dir, {"results": _results(7)})
    new = publish_snapshot(data_dir, {"results": _results(8)})

    assert new.id != old.id
    assert current_snapshot_id(data_dir) == new.id
    assert open_snapshot(data_dir, old.id).table("results")["value"].to_pylist() == [7]


def test_publish_failure_leaves_current_and_no_staging(data_dir):
    old = publish_snapshot(data_dir, {"results": _results(7)})

    with pytest.raises(ValueError):
        publish_snapshot(data_dir, {"Bad Name": _results(8)})
    with pytest.raises(AttributeError):
        publish_snapshot(data_dir, {"results": pa.table({"x": [1]}), "other": "not a table"})

    assert current_snapshot_id(data_dir) == old.id
    assert not [p for p in (data_dir / "published").iterdir() if p.name.startswith(".staging")]


def test_open_snapshot_when_nothing_published_says_so(data_dir):
    with pytest.raises(UserError, match="Nothing has been published"):
        open_snapshot(data_dir)


def test_open_snapshot_unknown_table_and_id_are_named(data_dir):
    snapshot = publish_snapshot(data_dir, {"results": _results(7)})
    with pytest.raises(UserError, match="no table 'missing'"):
        snapshot.table("missing")
    with pytest.raises(UserError, match="no published snapshot 0123456789abcdef"):
        open_snapshot(data_dir, "0123456789abcdef")
    with pytest.raises(UserError, match="not a snapshot id"):
        open_snapshot(data_dir, "../../etc")


def test_publish_carry_forward_keeps_other_tables(data_dir):
    publish_snapshot(data_dir, {"results": _results(7), "loads": pa.table({"id": ["a"]})})

    snapshot = publish_snapshot(data_dir, {"loads": pa.table({"id": ["b"]})}, carry_forward=True)

    assert snapshot.table_names == ["loads", "results"]
    assert snapshot.table("loads")["id"].to_pylist() == ["b"]
    assert snapshot.table("results")["value"].to_pylist() == [7]
