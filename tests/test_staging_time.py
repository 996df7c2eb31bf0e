"""Local times in Europe/London, worked out in SQL, against the IANA time zone database.

The loader turns naive partner times into UTC with date arithmetic (one rule, in force
since 1996). The outside reference here is Python's zoneinfo (the IANA tz database): every
quarter hour from the day before to the day after each clock change, 1996 to 2037.
Tolerance: none; instants and offsets must be equal.
"""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb

from mkdeal.datasets.staging import _timestamp_in_utc

LONDON = ZoneInfo("Europe/London")


def _local_times():
    for year in range(1996, 2038):
        for month in (3, 10):
            last_sunday = max(
                datetime(year, month, day)
                for day in range(25, 32)
                if datetime(year, month, day).weekday() == 6
            )
            start = last_sunday - timedelta(days=1)
            yield from (start + timedelta(minutes=15 * i) for i in range(4 * 24 * 3))


def _expected(local: datetime):
    aware = local.replace(tzinfo=LONDON)  # fold=0: the first occurrence of a repeated time
    utc = aware.astimezone(UTC)
    if utc.astimezone(LONDON).replace(tzinfo=None) != local:
        return None  # skipped by the spring change
    return utc, int(aware.utcoffset().total_seconds() // 60)


def test_local_time_rule_matches_the_tz_database_around_every_change():
    times = list(_local_times())
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute('CREATE TABLE t ("_clock_c" TIMESTAMP, "_written_offset_c" INTEGER)')
    connection.executemany("INSERT INTO t VALUES (?, NULL)", [(t,) for t in times])

    rows = connection.execute(
        f"SELECT {', '.join(_timestamp_in_utc('c'))} FROM t ORDER BY _clock_c"
    ).fetchall()

    mismatches = []
    for local, (utc, offset, nonexistent) in zip(times, rows, strict=True):
        expected = _expected(local)
        got = None if nonexistent else (utc.astimezone(UTC), offset)
        if got != expected:
            mismatches.append((local, expected, got))
    assert len(times) == 42 * 2 * 288
    assert mismatches == []


def test_written_offset_is_taken_as_written():
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    row = connection.execute(
        f"SELECT {', '.join(_timestamp_in_utc('c'))} FROM (SELECT "
        "TIMESTAMP '2026-03-29 01:30' AS _clock_c, -300 AS _written_offset_c)"
    ).fetchone()
    assert row == (datetime(2026, 3, 29, 6, 30, tzinfo=row[0].tzinfo), -300, False)
