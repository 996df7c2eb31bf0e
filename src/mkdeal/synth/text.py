"""Writing numpy values as the text a partner's CSV holds."""

from __future__ import annotations

import numpy as np
import pyarrow as pa


def dates_text(days: np.ndarray) -> pa.Array:
    """YYYY-MM-DD, or a blank for NaT."""
    text = np.datetime_as_string(days.astype("datetime64[D]"), unit="D")
    return pa.array(np.where(np.isnat(days), None, text), pa.string())


def months_text(days: np.ndarray) -> pa.Array:
    text = np.datetime_as_string(days.astype("datetime64[M]"), unit="M")
    return pa.array(np.where(np.isnat(days), None, text), pa.string())


def times_text(minutes: np.ndarray) -> pa.Array:
    """Local clock times, YYYY-MM-DD HH:MM, from datetime64[m]; a blank for NaT."""
    text = np.char.replace(
        np.datetime_as_string(minutes.astype("datetime64[m]"), unit="m").astype(str), "T", " "
    )
    return pa.array(np.where(np.isnat(minutes), None, text), pa.string())


def ids_text(prefix: str, count: int, start: int = 1) -> np.ndarray:
    if count == 0:
        return np.array([], dtype=str)
    return np.char.add(prefix, np.char.zfill(np.arange(start, start + count).astype(str), 8))
