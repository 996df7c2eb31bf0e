"""Logging for commands: sentences to stderr, details to a file, never an NHS number.

Code never logs rows or identifiers. As a second line of defence every handler runs a
filter that replaces anything shaped like an NHS number (ten digits, optionally grouped
3-3-4 with spaces or hyphens) before it is written anywhere.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

NHS_NUMBER_SHAPE = re.compile(r"(?<![\d])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\d])")
REDACTED = "[redacted number]"


def redact(text: str) -> str:
    return NHS_NUMBER_SHAPE.sub(REDACTED, text)


class RedactNumbers(logging.Filter):
    """Rewrites a record's final message so no NHS-number-shaped text survives."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def configure(level: int, log_file: Path | None) -> None:
    """Send mkdeal's log to stderr at `level`, and everything from INFO to `log_file`."""
    root = logging.getLogger("mkdeal")
    root.setLevel(logging.DEBUG)
    root.propagate = False
    for handler in list(root.handlers):
        root.removeHandler(handler)
        handler.close()
    console = logging.StreamHandler()
    console.setLevel(level)
    console.setFormatter(logging.Formatter("mkdeal: %(message)s"))
    console.addFilter(RedactNumbers())
    root.addHandler(console)
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(log_file, encoding="utf-8")
        to_file.setLevel(min(level, logging.INFO))
        to_file.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s %(process)d %(message)s")
        )
        to_file.addFilter(RedactNumbers())
        root.addHandler(to_file)
