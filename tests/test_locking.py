import os
import subprocess
import sys
import time

import pytest

from mkdeal.errors import LockHeldError
from mkdeal.locking import exclusive_lock

HOLD_LOCK = """
import sys, time
from pathlib import Path
from mkdeal.locking import exclusive_lock
with exclusive_lock(Path(sys.argv[1]), what="the thing", purpose="a test holder"):
    Path(sys.argv[2]).write_text("held")
    time.sleep(60)
"""


def _wait_for(path, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never appeared")
        time.sleep(0.05)


def test_lock_second_holder_in_same_process_is_refused(tmp_path):
    path = tmp_path / "locks" / "x.lock"
    with exclusive_lock(path, what="the thing", purpose="first"):
        with pytest.raises(LockHeldError, match=rf"process {os.getpid()} .*first"):
            with exclusive_lock(path, what="the thing", purpose="second"):
                pass
    with exclusive_lock(path, what="the thing", purpose="third"):
        pass


def test_lock_held_by_another_process_names_it_and_is_freed_when_it_dies(tmp_path):
    path, ready = tmp_path / "x.lock", tmp_path / "ready"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(path), str(ready)])
    try:
        _wait_for(ready)
        with pytest.raises(LockHeldError) as refused:
            with exclusive_lock(path, what="the thing", purpose="second"):
                pass
        assert f"process {holder.pid}" in str(refused.value)
        assert "a test holder" in str(refused.value)
    finally:
        holder.kill()
        holder.wait()
    with exclusive_lock(path, what="the thing", purpose="after the holder died"):
        pass
