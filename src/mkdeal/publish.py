"""Published snapshots: what pages and reports read, never the warehouse itself.

A snapshot is a folder `published/<snapshot id>/` of Parquet files and a `manifest.json`.
Its id is a hash of its content, so publishing the same tables twice gives the same
snapshot, and a report can name exactly what it was built from. A snapshot is written in
a temporary folder and renamed into place, then `published/current` (a one-line file with
the id) is replaced atomically; a reader therefore sees the old snapshot or the new one,
never half of one. Switches are appended to `published/history.jsonl`.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from mkdeal.errors import UserError

TABLE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
SNAPSHOT_ID = re.compile(r"^[0-9a-f]{16}$")


@dataclass(frozen=True)
class Snapshot:
    """A published snapshot, read-only."""

    id: str
    path: Path
    manifest: Mapping[str, Any]

    @property
    def table_names(self) -> list[str]:
        return sorted(self.manifest["tables"])

    def table(self, name: str) -> pa.Table:
        if name not in self.manifest["tables"]:
            raise UserError(
                f"The published snapshot {self.id} has no table {name!r}; "
                f"it has {', '.join(self.table_names) or 'none'}."
            )
        return pq.read_table(self.path / f"{name}.parquet")


def published_dir(data_dir: Path) -> Path:
    return data_dir / "published"


def publish_snapshot(
    data_dir: Path,
    tables: Mapping[str, pa.Table],
    *,
    metadata: Mapping[str, Any] | None = None,
    carry_forward: bool = False,
) -> Snapshot:
    """Write `tables` as an immutable snapshot and make it the current one.

    `metadata` (JSON-serialisable, e.g. the `as_of` date and the loads it reflects) is part
    of the content, so it takes part in the id. With `carry_forward`, tables of the current
    snapshot that `tables` does not replace are kept (for example measure results when only
    the load manifests changed). Callers hold the warehouse lock, so there is one
    publisher at a time.
    """
    if carry_forward and current_snapshot_id(data_dir) is not None:
        current = open_snapshot(data_dir)
        kept = {name: current.table(name) for name in current.table_names if name not in tables}
        tables = {**kept, **tables}
    for name in tables:
        if not TABLE_NAME.match(name):
            raise ValueError(f"Table name {name!r} must be lower-case letters, digits, _.")
    root = published_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=root))
    try:
        entries = {}
        for name in sorted(tables):
            file = staging / f"{name}.parquet"
            pq.write_table(tables[name], file, compression="zstd")
            entries[name] = {
                "rows": tables[name].num_rows,
                "sha256": hashlib.sha256(file.read_bytes()).hexdigest(),
                "schema": [f"{field.name}: {field.type}" for field in tables[name].schema],
            }
        content = {"tables": entries, "metadata": dict(metadata or {})}
        canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
        snapshot_id = hashlib.sha256(canonical.encode()).hexdigest()[:16]
        (staging / "manifest.json").write_text(
            json.dumps({"id": snapshot_id, **content}, indent=2, sort_keys=True, default=str)
            + "\n",
            encoding="utf-8",
        )
        final = root / snapshot_id
        if final.exists():
            shutil.rmtree(staging)  # the same content is already published
        else:
            staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _switch_current(root, snapshot_id)
    return open_snapshot(data_dir, snapshot_id)


def _switch_current(root: Path, snapshot_id: str) -> None:
    if current_snapshot_id(root.parent) == snapshot_id:
        return
    pointer_tmp = root / f".current-{os.getpid()}"
    pointer_tmp.write_text(snapshot_id + "\n", encoding="utf-8")
    os.replace(pointer_tmp, root / "current")
    with (root / "history.jsonl").open("a", encoding="utf-8") as history:
        switched_at = datetime.now(UTC).isoformat(timespec="seconds")
        history.write(json.dumps({"switched_at": switched_at, "current": snapshot_id}) + "\n")


def current_snapshot_id(data_dir: Path) -> str | None:
    try:
        text = (published_dir(data_dir) / "current").read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return text or None


def open_snapshot(data_dir: Path, snapshot_id: str | None = None) -> Snapshot:
    """The snapshot with this id, or the current one; a sentence if there is none."""
    snapshot_id = snapshot_id or current_snapshot_id(data_dir)
    if snapshot_id is None:
        raise UserError(
            f"Nothing has been published in {published_dir(data_dir)} yet. "
            "Run `mkdeal run-due` after loading data to publish results."
        )
    if not SNAPSHOT_ID.match(snapshot_id):
        raise UserError(f"{snapshot_id!r} is not a snapshot id (16 hexadecimal characters).")
    path = published_dir(data_dir) / snapshot_id
    try:
        manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"There is no published snapshot {snapshot_id} in {path.parent}.") from None
    return Snapshot(id=snapshot_id, path=path, manifest=manifest)
