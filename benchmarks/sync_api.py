"""Time the sync API on loopback (issue 26's target: at least 300 requests a second with
p99 under 100 ms).

Starts the web service (uvicorn, one process of its own) on a free port over a temporary data folder
with N enrolled, consenting participants, each with a device token, then sends M distinct
HealthKit payloads (a day each) from a few client threads with keep-alive connections,
and prints requests a second and the latency percentiles. Every answer must be 202.

Run: .venv/bin/python benchmarks/sync_api.py [--participants 200] [--requests 3000]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx2 as httpx  # the dev group's httpx (as starlette 1.10's TestClient needs)
import uvicorn

from mkdeal.activity import consent, participants, sync
from mkdeal.activity.participants import Identity
from mkdeal.activity.programme import Eligibility
from mkdeal.db import IDENTIFIABLE_STORE, open_app_database, open_store, upgrade
from mkdeal.people import Pseudonymiser
from mkdeal.settings import load_settings
from mkdeal.synth.population import build_world
from mkdeal.web.app import create_app

KEYS = {
    "MKDEAL_SECRET_KEY": "benchmark-secret-key-0123456789abcdef0123",
    "MKDEAL_PSEUDONYMISATION_KEY": "benchmark-pseudonymisation-key-0123456789",
    "MKDEAL_ENCRYPTION_KEY": "benchmark-encryption-key-0123456789abcdef",
}
NOW = datetime(2026, 3, 31, 9, tzinfo=UTC)


def payload(day: date, steps: int) -> bytes:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    statistic = {
        "type": "HKQuantityTypeIdentifierStepCount",
        "start": start.isoformat(),
        "end": (start + timedelta(days=1)).isoformat(),
        "sum": steps,
        "sources": [{"name": "Apple Watch", "sum": steps}],
    }
    document = {"format": "healthkit-statistics", "version": 1, "interval": "P1D"}
    document["statistics"] = [statistic]
    return json.dumps(document).encode()


def enrol(settings, count: int) -> list[str]:
    import numpy as np

    app = open_app_database(settings)
    identifiable = open_store(IDENTIFIABLE_STORE, settings)
    participants.load_practices(app, [("Z90001", "Synthetic practice 1")], NOW)
    world = build_world(np.random.default_rng(0), date(2025, 1, 1), date(2026, 3, 31), 0.02)
    tokens = []
    answers = {item: True for item in consent.document("2.0").item_ids}
    for number in range(count):
        born = date(1960, 1, 1)
        reference = participants.enrol(
            app, identifiable, Pseudonymiser(settings.pseudonymisation_key),
            Identity(str(world.nhs_numbers[number]), "Bench", "Mark", born, "b@example.com"),
            Eligibility(born, True, "Z90001", "apple_watch_iphone", True),
            actor="benchmark", now=NOW, today=NOW.date(),
        )  # fmt: skip
        participants.record_consent(
            app, reference, "2.0", answers, actor="benchmark", now=NOW, today=NOW.date()
        )
        tokens.append(sync.issue_token(app, reference, "Watch", actor="benchmark", now=NOW))
    app.dispose()
    identifiable.dispose()
    return tokens


def serve(data_dir: str, port: int) -> None:
    settings = load_settings({"MKDEAL_DATA_DIR": data_dir, **KEYS})
    app = create_app(settings, clock=lambda: NOW)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", ws="none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=200)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        settings = load_settings({"MKDEAL_DATA_DIR": str(Path(folder) / "data"), **KEYS})
        upgrade(settings)
        tokens = enrol(settings, args.participants)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        # The server runs in its own process, as in production: clients in this one would
        # otherwise share its interpreter lock and halve what it can do.
        server = multiprocessing.get_context("spawn").Process(
            target=serve, args=(str(settings.data_dir), port), daemon=True
        )
        server.start()
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise SystemExit("The server did not start within 30 seconds.") from None
                time.sleep(0.1)
        origin = f"http://127.0.0.1:{port}/api/v1/activity/healthkit"
        last = date(2026, 3, 30)
        work = [
            (tokens[n % len(tokens)], payload(last - timedelta(days=n // len(tokens)), 3000 + n))
            for n in range(args.requests)
        ]
        local = threading.local()

        def send(item) -> tuple[int, float]:
            if not hasattr(local, "client"):
                local.client = httpx.Client()
            token, body = item
            began = time.perf_counter()
            response = local.client.post(
                origin,
                content=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            return response.status_code, time.perf_counter() - began

        send(work[0])  # warm up: the first request loads the adapters
        began = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(send, work[1:]))
        elapsed = time.perf_counter() - began
        server.terminate()
        server.join(timeout=10)
        statuses = {status for status, _ in results}
        latencies = sorted(seconds * 1000 for _, seconds in results)
        cuts = statistics.quantiles(latencies, n=100)
        print(
            f"{len(results):,} requests from {args.clients} clients, {args.participants} "
            f"participants: {len(results) / elapsed:,.0f} requests a second; latency p50 "
            f"{cuts[49]:.1f} ms, p95 {cuts[94]:.1f} ms, p99 {cuts[98]:.1f} ms, "
            f"max {latencies[-1]:.1f} ms; answers {sorted(statuses)}."
        )
        print("Target (context, not asserted): at least 300 a second, p99 under 100 ms.")


if __name__ == "__main__":
    main()
