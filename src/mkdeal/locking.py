"""Process locks that name their holder.

A lock is an advisory `flock` on a file under the data folder's `locks/`. The operating
system releases it when the holder exits, however it exits (a killed process leaves no
stale lock). While held, the file records who holds it, so a refused process can say so.
Works on Linux and macOS (one machine); see docs/adr/0001-stores.md.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mkdeal.errors import LockHeldError


def lock_path(data_dir: Path, name: str) -> Path:
    return data_dir / "locks" / f"{name}.lock"


@contextmanager
def exclusive_lock(path: Path, *, what: str, purpose: str) -> Iterator[None]:
    """Hold an exclusive lock on `path` or raise `LockHeldError` naming the holder.

    `what` names the thing protected ("the warehouse"); `purpose` says what this process
    is doing with it, and is shown to anyone refused while it is held.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeldError(
                f"{what[0].upper()}{what[1:]} is in use by {_describe_holder(path)}. "
                f"Wait for it to finish and try again; a lock is released as soon as its "
                f"process ends, so there is nothing to clean up."
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "purpose": purpose,
            "command": " ".join(
                os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv)
            ),
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, json.dumps(holder).encode(), 0)
        try:
            yield
        finally:
            os.ftruncate(descriptor, 0)
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def _describe_holder(path: Path) -> str:
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        holder = {}
    if not holder:
        return "another process (it has only just started)"
    return (
        f"process {holder.get('pid')} on {holder.get('host')} "
        f"({holder.get('purpose')}, `{holder.get('command')}`, since {holder.get('since')} UTC)"
    )
