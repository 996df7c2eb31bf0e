"""Latency of the dashboard's measure pages under concurrent clients (issue 23's target:
20 concurrent clients on loopback, p95 under 150 ms), with the synthetic Milton Keynes
loaded and published.

Serves a data folder that already holds a published snapshot (for example the demo's
`./data` after `make demo`, or any folder after `mkdeal synth --load` and `mkdeal run-due`)
with `mkdeal serve` in its own process on a free local port, warms every measure page once
(a snapshot's pages are worked out once and kept), then has N client threads fetch
measure and priority pages as the public, and prints the latency percentiles.

Run: .venv/bin/python benchmarks/dashboard.py DATA_DIR [--clients 20] [--requests 1000]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mkdeal.measures import MEASURES


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fetch(url: str) -> float:
    start = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", type=Path, help="A data folder with a published snapshot.")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--requests", type=int, default=1000, help="Requests in all.")
    args = parser.parse_args()

    port = free_port()
    environment = {**os.environ, "MKDEAL_DATA_DIR": str(args.data_dir.resolve())}
    server = subprocess.Popen(
        [sys.executable, "-m", "mkdeal", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            fetch(f"{origin}/healthz")
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"mkdeal serve did not start on {origin}.") from None
            time.sleep(0.2)

    pages = [f"{origin}/measures/{measure_id}" for measure_id in MEASURES]
    pages += [f"{origin}/priorities/system_flow", f"{origin}/priorities/obesity"]
    start = time.perf_counter()
    for url in pages:
        fetch(url)
    print(f"Warmed {len(pages)} pages in {time.perf_counter() - start:.1f} s (first views).")

    urls = [pages[i % len(pages)] for i in range(args.requests)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        latencies = sorted(pool.map(fetch, urls))
    wall = time.perf_counter() - start
    server.terminate()
    server.wait(timeout=10)

    def percentile(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    print(
        f"{args.requests} requests, {args.clients} concurrent clients, {wall:.1f} s "
        f"({args.requests / wall:.0f} requests a second)"
    )
    print(
        f"latency ms: mean {statistics.mean(latencies) * 1000:.1f}, p50 {percentile(0.5):.1f}, "
        f"p95 {percentile(0.95):.1f}, p99 {percentile(0.99):.1f}, max {latencies[-1] * 1000:.1f}"
    )
    print("Target (issue 23): p95 under 150 ms with 20 concurrent clients.")


if __name__ == "__main__":
    main()
