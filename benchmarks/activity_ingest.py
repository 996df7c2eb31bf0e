"""Time ingesting and finalising a day of activity for many participants (issue 26's
target: 10,000 participants, set-based, in seconds).

Makes a data folder in a temporary directory with N participants (rows written straight
into the app database: enrolment is not what is timed), one pending HealthKit payload
each (a day of hourly step statistics, so 24 buckets each), then times

- `ingest`: parse every payload, write the day versions and canonical days, mark the
  inbox, and write the step buckets to the DuckDB warehouse;
- `ingest` again with nothing pending, and the same payloads re-sent (no new versions);
- `finalise`: make every day final once the cut-off has passed.

Run: .venv/bin/python benchmarks/activity_ingest.py [--participants 10000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from mkdeal.activity.ingest import finalise, ingest, raw_path, write_buckets
from mkdeal.appdb.models import Participant, SyncInbox
from mkdeal.db import open_app_database, upgrade
from mkdeal.settings import load_settings
from mkdeal.warehouse import open_warehouse_for_writing

DAY = date(2026, 3, 2)
KEYS = {
    "MKDEAL_SECRET_KEY": "benchmark-secret-key-0123456789abcdef0123",
    "MKDEAL_PSEUDONYMISATION_KEY": "benchmark-pseudonymisation-key-0123456789",
    "MKDEAL_ENCRYPTION_KEY": "benchmark-encryption-key-0123456789abcdef",
}


def payload(rng: np.random.Generator, marker: str = "") -> bytes:
    start = datetime(DAY.year, DAY.month, DAY.day, tzinfo=UTC)
    counts = rng.poisson(230, 24) * (rng.random(24) < 0.7)
    statistics = [
        {
            "type": "HKQuantityTypeIdentifierStepCount",
            "start": (start + timedelta(hours=h)).isoformat(),
            "end": (start + timedelta(hours=h + 1)).isoformat(),
            "sum": int(n),
        }
        for h, n in enumerate(counts)
    ]
    document = {"format": "healthkit-statistics", "version": 1, "interval": "PT1H"}
    document["statistics"] = statistics
    if marker:
        document["sent"] = marker
    return json.dumps(document).encode()


def receive_all(settings, app, bodies: list[bytes], at: datetime) -> None:
    rows = []
    for number, body in enumerate(bodies, start=1):
        digest = hashlib.sha256(body).hexdigest()
        path = raw_path(settings.data_dir, digest)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
        rows.append(
            {
                "participant_id": number,
                "source": "healthkit",
                "content_hash": digest,
                "size": len(body),
                "received_at": at,
                "status": "pending",
            }
        )
    with app.begin() as connection:
        connection.execute(insert(SyncInbox), rows)


def timed(label: str, work):
    began = time.perf_counter()
    result = work()
    print(f"  {label}: {time.perf_counter() - began:.2f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=10_000)
    args = parser.parse_args()
    count = args.participants
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({"MKDEAL_DATA_DIR": str(Path(folder) / "data"), **KEYS})
        upgrade(settings)
        app = open_app_database(settings)
        enrolled = datetime(2026, 2, 1, tzinfo=UTC)
        people = [
            {
                "reference": f"AMK-{n:05d}",
                "person_id": hashlib.sha256(str(n).encode()).hexdigest()[:32],
                "enrolled_at": enrolled,
                "enrolled_by": "benchmark",
                "practice_code": "Z90001",
                "device_route": "apple_watch_iphone",
                "time_zone": "Europe/London",
                "eligibility": {},
                "eligibility_checked_by": "benchmark",
                "eligibility_checked_at": enrolled,
            }
            for n in range(1, count + 1)
        ]
        with app.begin() as connection:
            connection.execute(insert(Participant), people)
        rng = np.random.default_rng(26)
        bodies = [payload(rng) for _ in range(count)]
        at = datetime(2026, 3, 2, 21, tzinfo=UTC)
        timed(
            f"received {count:,} payloads into the inbox (set-up)",
            lambda: receive_all(settings, app, bodies, at),
        )

        def store(table):
            with open_warehouse_for_writing(settings, purpose="benchmark") as backend:
                return write_buckets(backend, table)

        print(f"{count:,} participants, one day of hourly HealthKit statistics each:")
        done = timed(
            "ingest", lambda: ingest(app, settings.data_dir, as_of=DAY, now=at, write_buckets=store)
        )
        print(f"    {done.summary()}")
        timed(
            "ingest with nothing pending", lambda: ingest(app, settings.data_dir, as_of=DAY, now=at)
        )
        rng = np.random.default_rng(26)
        resent = [payload(rng, marker="again") for _ in range(count)]
        receive_all(settings, app, resent, at + timedelta(hours=1))
        again = timed(
            "ingest the same days re-sent",
            lambda: ingest(app, settings.data_dir, as_of=DAY, now=at, write_buckets=store),
        )
        print(f"    {again.summary()}")
        final = timed("finalise", lambda: finalise(app, as_of=DAY + timedelta(days=8), now=at))
        print(f"    {final:,} days became final.")
        app.dispose()


if __name__ == "__main__":
    main()
