"""Load: clients that coach, search and record lessons at once against a real `coach serve`.

Starts the service on loopback with API keys (a copy of the corpus indexed afresh, SQLite, the
default rate limits), then for `--seconds` each of `--clients` professionals, with a key of
their own, goes round: a coaching request (every other one streamed), a search, and a lesson
drafted from their last session, without pause (a refused request is retried at once: the worst
client).
Latencies are of the 2xx answers. Afterwards it asks the service what it holds (each user's
sessions, the drafts waiting) and compares that with the answers the clients got.

It passes when no answer is a 5xx, every request was answered with a 2xx or refused with 429
(rate limit, or drafts waiting per user), no connection failed, and every 2xx session and draft
is in the database (`lost` 0). JSON in `--out` (bench/results/load.json), a table on stdout;
exit 1 when it does not pass. `tests/test_security_load.py` runs it for 15 s.

    .venv/bin/python bench/load_bench.py [--clients 8] [--seconds 60] [--workers 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
SITUATIONS = [
    "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt.",
    "After we install a heat pump the customer says the house stays cold.",
    "Ik weet niet wie een inkooporder boven de limiet moet goedkeuren.",
    "A colleague clicked a link in an email that asked for his password.",
]
QUERIES = ["terugbellen", "heat pump", "goedkeuring inkoop", "phishing"]
KINDS = ("coach", "search", "lesson")


class Tally:
    """Every answer the clients got, thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: dict[str, Counter[int]] = {kind: Counter() for kind in KINDS}
        self.latencies: dict[str, list[float]] = {kind: [] for kind in KINDS}  # of 2xx only
        self.sessions: Counter[str] = Counter()  # per user: sessions answered 2xx
        self.drafts = 0  # drafts answered 2xx
        self.unanswered: list[str] = []  # connection failures, streams without a result

    def add(self, kind: str, status: int, seconds: float) -> None:
        with self.lock:
            self.statuses[kind][status] += 1
            if 200 <= status < 300:
                self.latencies[kind].append(seconds)


def _coach(client: httpx.Client, turn: int) -> tuple[int, str | None]:
    """One coaching request, streamed every other turn; its status and session id (if 2xx)."""
    body = {"situation": SITUATIONS[turn % len(SITUATIONS)]}
    if turn % 2 == 0:
        answer = client.post("/v1/coach", json=body)
        return answer.status_code, answer.headers.get("X-Session-Id")
    headers = {"Accept": "text/event-stream"}
    with client.stream("POST", "/v1/coach", json=body, headers=headers) as stream:
        if stream.status_code != 200:
            stream.read()
            return stream.status_code, None
        lines = list(stream.iter_lines())
    results = [line for line in lines if line.startswith("data: ") and '"session_id"' in line]
    if "event: result" not in lines or not results:
        raise RuntimeError(f"a stream ended without its result: {lines[-2:]}")
    return 200, str(json.loads(results[-1][len("data: ") :])["session_id"])


def client_loop(base: str, key: str, user: str, until: float, tally: Tally) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    session: str | None = None
    turn = 0
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        while time.monotonic() < until:
            kind = KINDS[turn % len(KINDS)]
            if kind == "lesson" and session is None:
                kind = "search"
            started = time.perf_counter()
            try:
                if kind == "coach":
                    status, made = _coach(client, turn)
                    if made:
                        session = made
                elif kind == "search":
                    query = QUERIES[turn % len(QUERIES)]
                    status = client.post("/v1/search", json={"query": query}).status_code
                else:
                    lesson = {"lesson": f"Les {turn} van {user}: bel elke klant terug."}
                    status = client.post(f"/v1/sessions/{session}/lesson", json=lesson).status_code
            except (httpx.HTTPError, RuntimeError) as exc:
                with tally.lock:
                    tally.unanswered.append(f"{kind}: {type(exc).__name__}: {exc}")
                turn += 1
                continue
            tally.add(kind, status, time.perf_counter() - started)
            if 200 <= status < 300:
                with tally.lock:
                    if kind == "coach":
                        tally.sessions[user] += 1
                    elif kind == "lesson":
                        tally.drafts += 1
            turn += 1


def stored(base: str, keys: dict[str, str], curator: str) -> tuple[Counter[str], int]:
    """What the service holds: each user's sessions, and the drafts waiting for review."""
    sessions: Counter[str] = Counter()
    with httpx.Client(base_url=base, timeout=60) as client:
        for user, key in keys.items():
            listed = client.get("/v1/sessions", headers={"Authorization": f"Bearer {key}"})
            sessions[user] = int(listed.json()["total"])
        drafts = client.get("/v1/drafts", headers={"Authorization": f"Bearer {curator}"})
        return sessions, len(drafts.json())


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values) or [0.0]
    return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))] * 1000, 1)


def run(base: str, keys: dict[str, str], curator: str, seconds: float) -> dict[str, Any]:
    """Drive the service at `base` with one client per key for `seconds`; the report."""
    tally = Tally()
    until = time.monotonic() + seconds
    threads = [
        threading.Thread(target=client_loop, args=(base, key, user, until, tally))
        for user, key in keys.items()
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    sessions, drafts = stored(base, keys, curator)
    statuses = Counter[int]()
    for counted in tally.statuses.values():
        statuses.update(counted)
    lost_sessions = sum(max(0, tally.sessions[u] - sessions[u]) for u in keys)
    report = {
        "clients": len(keys),
        "seconds": round(elapsed, 1),
        "requests": sum(statuses.values()) + len(tally.unanswered),
        "answered_per_second": round(sum(statuses.values()) / elapsed, 1),
        "statuses": {str(code): n for code, n in sorted(statuses.items())},
        "kinds": {
            kind: {
                "statuses": {str(code): n for code, n in sorted(tally.statuses[kind].items())},
                "p50_ms": _percentile(tally.latencies[kind], 0.5),
                "p95_ms": _percentile(tally.latencies[kind], 0.95),
            }
            for kind in KINDS
        },
        "server_errors": sum(n for code, n in statuses.items() if code >= 500),
        "unexpected": {str(c): n for c, n in statuses.items() if not (200 <= c < 300 or c == 429)},
        "unanswered": tally.unanswered[:20],
        "sessions": {"answered": sum(tally.sessions.values()), "stored": sum(sessions.values())},
        "drafts": {"answered": tally.drafts, "stored": drafts},
        "lost": lost_sessions + max(0, tally.drafts - drafts),
    }
    report["passed"] = (
        not report["unexpected"] and not tally.unanswered and report["lost"] == 0
    ) and sessions == tally.sessions
    return report


def serve(workdir: Path, corpus: Path, workers: int) -> tuple[subprocess.Popen[bytes], str]:
    """`coach serve` with API keys on a free loopback port; its process and base URL."""
    from coach.offline import offline_environment

    offline_environment()
    sys.path.insert(0, str(REPO / "bench"))
    from api_bench import free_port

    port = free_port()
    command = [
        str(Path(sys.executable).with_name("coach")),
        "serve",
        *("--port", str(port), "--corpus", str(corpus), "--index-dir", str(workdir / "index")),
        *("--workers", str(workers)),
    ]
    env = {
        **os.environ,
        "COACH_DATA_DIR": str(workdir / "data"),
        "COACH_API_KEYS_FILE": str(workdir / "keys.json"),
    }
    log = (workdir / "serve.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        if process.poll() is not None:
            raise RuntimeError((workdir / "serve.log").read_text())
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("the service did not become ready")
        time.sleep(0.2)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--corpus", type=Path, default=REPO / "corpus")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "load.json")
    args = parser.parse_args()
    from coach.keys import KeyStore

    with tempfile.TemporaryDirectory(prefix="coach-load-") as folder:
        workdir = Path(folder)
        store = KeyStore(workdir / "keys.json")
        keys = {f"pro{n}": store.add(f"pro{n}", "professional") for n in range(args.clients)}
        curator = store.add("curator", "curator")
        corpus = workdir / "corpus"  # a copy: the lessons drafted are written into it
        shutil.copytree(args.corpus, corpus)
        process, base = serve(workdir, corpus, args.workers)
        try:
            report = {"workers": args.workers, **run(base, keys, curator, args.seconds)}
        finally:
            process.terminate()
            process.wait(timeout=30)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"{report['clients']} clients, {report['seconds']} s, {report['workers']} worker(s)")
    print(f"{'kind':<8}{'statuses':<32}{'2xx p50 ms':>12}{'2xx p95 ms':>12}")
    for kind, row in report["kinds"].items():
        print(f"{kind:<8}{json.dumps(row['statuses']):<32}{row['p50_ms']:>12}{row['p95_ms']:>12}")
    print(
        f"answered/s {report['answered_per_second']}, 5xx {report['server_errors']}, "
        f"unanswered {len(report['unanswered'])}, sessions {report['sessions']}, "
        f"drafts {report['drafts']}, lost {report['lost']}: "
        + ("passed" if report["passed"] else "FAILED")
    )
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
