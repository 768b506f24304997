"""API load benchmark: a bounded load generator on loopback against a running `coach serve`.

Starts the service with the embedded defaults (a fresh index of the sample corpus, SQLite, local
mode), then for concurrency 1, 8 and 32 sends a fixed number of requests to /v1/search and to
/v1/coach (offline composer), and reports requests/s, p50 / p95 / p99 latency, errors, and the
server's peak memory. JSON in bench/results/api.json, a table on stdout.

    .venv/bin/python bench/api_bench.py [--requests 200] [--workers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psutil

REPO = Path(__file__).resolve().parents[1]
CONCURRENCY = (1, 8, 32)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_server(workdir: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    command = [
        str(Path(sys.executable).with_name("coach")),
        "serve",
        "--local",
        "--port",
        str(port),
        "--corpus",
        str(REPO / "corpus"),
        "--index-dir",
        str(workdir / "index"),
        "--workers",
        str(workers),
    ]
    env = {
        **os.environ,
        "COACH_DATA_DIR": str(workdir / "data"),
        # throughput, not the per-user limits (local mode is one user): no 429s
        "COACH_RATE_COACH_PER_MINUTE": "0",
        "COACH_RATE_SEARCH_PER_MINUTE": "0",
    }
    log = (workdir / "serve.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 300
    while True:
        if process.poll() is not None:
            raise RuntimeError((workdir / "serve.log").read_text())
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the service did not become ready")
        time.sleep(0.2)


def wait_for_workers(base: str, workers: int) -> None:
    """/readyz answered from one worker; wait until every worker answers (fresh connections)."""
    seen: set[str] = set()
    deadline = time.monotonic() + 300
    while len(seen) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(seen)} of {workers} workers answered")
        with httpx.Client(base_url=base) as client:
            seen.add(client.get("/readyz").headers["X-Worker"])


class PeakMemory:
    """Samples the RSS of the server and its worker processes, summed, every 50 ms."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                family = [self.process, *self.process.children(recursive=True)]
                self.peak = max(self.peak, sum(p.memory_info().rss for p in family))
            except psutil.Error:
                return
            time.sleep(0.05)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def load(
    base: str, path: str, bodies: list[dict[str, Any]], concurrency: int, total: int
) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as client:

        async def worker() -> None:
            nonlocal errors
            for i in counter:
                started = time.perf_counter()
                try:
                    response = await client.post(path, json=bodies[i % len(bodies)])
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)

    return {
        "requests": len(latencies),
        "errors": errors,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": pct(0.95),
        "p99_ms": pct(0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=200, help="per endpoint and concurrency")
    parser.add_argument("--workers", type=int, default=1, help="coach serve --workers")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "api.json")
    args = parser.parse_args()
    cases = [json.loads(line) for line in (REPO / "evals" / "dataset.jsonl").open()]
    coach_bodies = [{"situation": case["situation"]} for case in cases]
    search_bodies = [{"query": case["situation"], "k": 5} for case in cases]
    # A search box gets keywords more often than a story: the first 8 words of each situation.
    short_bodies = [{"query": " ".join(b["query"].split()[:8]), "k": 5} for b in search_bodies]
    runs = [
        ("/v1/search", "/v1/search", search_bodies),
        ("/v1/search (8 words)", "/v1/search", short_bodies),
        ("/v1/coach", "/v1/coach", coach_bodies),
    ]
    results: dict[str, Any] = {"workers": args.workers, "endpoints": {}}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        port = free_port()
        started = time.perf_counter()
        server = start_server(workdir, port, args.workers)
        wait_for_workers(f"http://127.0.0.1:{port}", args.workers)
        results["start_and_index_s"] = round(time.perf_counter() - started, 1)
        base = f"http://127.0.0.1:{port}"
        try:
            with PeakMemory(server.pid) as memory:
                for name, path, bodies in runs:
                    asyncio.run(load(base, path, bodies, 4, 20))  # warm up
                    for concurrency in CONCURRENCY:
                        key = f"{name} c={concurrency}"
                        results["endpoints"][key] = asyncio.run(
                            load(base, path, bodies, concurrency, args.requests)
                        )
                        print(key, results["endpoints"][key], file=sys.stderr)
            results["server_peak_rss_mb"] = round(memory.peak / 2**20, 1)
        finally:
            server.terminate()
            server.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    print(f"\n{args.workers} worker(s)\n")
    print("| endpoint | concurrency | requests/s | p50 ms | p95 ms | p99 ms | errors |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for key, row in results["endpoints"].items():
        path, concurrency = key.split(" c=")
        print(
            f"| {path} | {concurrency} | {row['requests_per_s']} | {row['p50_ms']} | "
            f"{row['p95_ms']} | {row['p99_ms']} | {row['errors']} |"
        )


if __name__ == "__main__":
    main()
