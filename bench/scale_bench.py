"""Scale benchmark (#16): an organisation-sized corpus as an operator and a curator meet it,
with the configured embedder (COACH_EMBEDDING_MODEL; USE multilingual v3 by default).

On a synthetic corpus of `--docs` documents (bench/synthetic.py), in one run:
1. a full index in a fresh process, the model loaded, against the raw model on a seeded sample
   of the texts the pipeline embeds, in that process; its peak RSS; the index's size on disk;
2. a no-op `coach index` (a fresh CLI process, as an operator runs it), three times, and a
   no-op `Indexer.run` in process, the model loaded;
3. `coach serve` (a real process on a free port) from its start until /readyz answers ready,
   and the server's CPU per request;
4. a curator's save of a document until a search for the new token the save added shows it
   among its five results, the page a user sees (PUT then POST /v1/search, through the API),
   over `--saves` documents;
5. a lesson approval until it shows the same way, over `--approvals` lessons;
6. the service's retriever at that size, in memory (BM25 and the dense vectors, scored in two
   passes), in memory by one exact product, and on Chroma's HNSW (`memory_chunks=0`), each
   opened in a fresh process: load time, RSS growth, hybrid latency over `--queries`
   evaluation situations, and how far their top hits agree (also on held-out passages).
Every figure carries how it was measured ("how"). JSON in `--out`, a Markdown table for README
on stdout. Timings are as quiet as the machine: run it alone.

    .venv/bin/python bench/scale_bench.py --docs 10000 [--out bench/results/scale.json]
        [--workdir DIR] [--skip-index] [--skip-serve] [--skip-cli] [--skip-retrieval]
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import random
import resource
import shutil
import string
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager, suppress
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

import httpx
import psutil
from api_bench import PeakMemory, free_port
from index_bench import embedded_texts, warm_up
from synthetic import synthesize

from coach.factory import build_coach, build_embedder, build_indexer
from coach.index.embedders import Embedder
from coach.ingest.advice import ITEM_RECORD
from coach.ingest.corpus import Document, scan_corpus
from coach.offline import offline_environment
from coach.retrieve.retriever import Retriever
from coach.settings import Settings

REPO = Path(__file__).resolve().parents[1]
COACH = str(Path(sys.executable).with_name("coach"))
DATASETS = ("dataset.jsonl", "rijnmond.jsonl", "zorggroep.jsonl")
SEARCHABLE_WITHIN = 120.0  # seconds a save may take to show in search before it counts as lost
# A change is searchable when a search for its new token shows the document among its results.
# Not "the top hit": the random tokens of other markers look alike to the model (a marker finds
# an earlier lesson's by meaning), and a lesson in the other language gets the lexical share of
# its standing by meaning (coach.retrieve.retriever), so it can outrank the changed document.
SHOWN = 5
POLL_SECONDS = 0.05
EDITABLE = ("title", "type", "language", "body", "team", "owner", "tags", "updated", "status")
# The section a curator's new point goes into: a procedure's steps, a lesson's lesson.
CORE = {
    ("procedure", "nl"): "Stappen",
    ("procedure", "en"): "Steps",
    ("lesson", "nl"): "Les",
    ("lesson", "en"): "Lesson",
}
# A marker's token joined by function words of its language (see `marker`).
JOINED = {"nl": "{0} bij {0} en {0}", "en": "{0} with {0} and {0}"}
SITUATIONS = {
    "nl": "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt.",
    "en": "After we install a heat pump the customer says the house stays cold.",
}
WORKED = {
    "nl": "Een vaste terugbeltaak met een eigenaar en een tijd.",
    "en": "One callback task with an owner and a time.",
}
T = TypeVar("T")
_TOKENS = random.SystemRandom()  # markers' tokens (see `marker`)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=10_000, help="synthetic corpus size")
    parser.add_argument("--model", help="embedding model (default: COACH_EMBEDDING_MODEL)")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "scale.json")
    parser.add_argument("--workdir", type=Path, help="keep corpus and index here (else a temp)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--raw-sample", type=int, default=5000, help="texts the raw model embeds")
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--approvals", type=int, default=5)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--skip-index", action="store_true", help="reuse --workdir's index")
    parser.add_argument("--skip-serve", action="store_true", help="no start-up, saves, approvals")
    parser.add_argument("--skip-cli", action="store_true", help="no no-op index runs")
    parser.add_argument("--skip-retrieval", action="store_true", help="no retriever figures")
    args = parser.parse_args()
    if args.skip_index and not args.workdir:
        parser.error("--skip-index reuses the corpus and index of an earlier --workdir")
    offline_environment()
    model = args.model or Settings().embedding_model
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="coach-scale-"))
    use_bench_environment(model, workdir)
    results: dict[str, Any] = {}
    try:
        run(args, model, workdir.resolve(), results)
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    print("\n" + markdown(results))


def run(
    args: argparse.Namespace, model: str, workdir: Path, results: dict[str, Any]
) -> dict[str, Any]:
    """Every figure, into `results` as it is measured (what was measured stays if a later
    step fails)."""
    corpus, index_dir = workdir / "corpus", workdir / "index"
    results.update(
        {
            "command": " ".join([".venv/bin/python bench/scale_bench.py", *sys.argv[1:]]),
            "commit": git("rev-parse", "--short", "HEAD")
            + (" (dirty)" if git("status", "-s") else ""),
            "machine": f"{os.cpu_count()} cores, {platform.platform()}",
            "model": model,
        }
    )
    if not args.skip_index:
        if corpus.exists():
            sys.exit(f"{corpus} exists: pass --skip-index to reuse it, or remove it")
        started = time.perf_counter()
        synthesis = synthesize(REPO / "corpus", corpus, args.docs, seed=args.seed)
        results["corpus"] = {**asdict(synthesis), "generate_s": since(started)}
        results["index"] = in_fresh_process(
            full_index, corpus, index_dir, args.raw_sample, args.seed
        )
        results["index"]["disk"] = disk_usage(index_dir)
    elif not index_dir.is_dir():
        sys.exit(f"no index in {index_dir} to reuse")
    documents = [doc for doc in scan_corpus(corpus).documents if doc.is_active]
    rng = random.Random(args.seed)
    # As an operator: `coach index` (here after the bench's own full index, so the first of the
    # no-op runs parses every file and the later ones what changed), then `coach serve`.
    if not args.skip_cli:
        results["noop_index"] = noop_index(workdir, bench_settings(corpus, index_dir))
    if not args.skip_serve:
        results.update(service_figures(workdir, documents, args.saves, args.approvals, rng))
    if not args.skip_retrieval:
        queries = situations(args.queries)
        held_out = passages(documents, args.queries, random.Random(args.seed))
        memory = in_fresh_process(retrieval, corpus, index_dir, None, queries, held_out)
        memory.update(in_fresh_process(traced_load, corpus, index_dir, None))
        exact = in_fresh_process(retrieval, corpus, index_dir, None, queries, held_out, EXACT)
        hnsw = in_fresh_process(retrieval, corpus, index_dir, 0, queries, held_out)
        hnsw.update(in_fresh_process(traced_load, corpus, index_dir, 0))
        results["retrieval"] = {
            "in_memory": memory,
            "in_memory_exact": {key: exact[key] for key in ("two_pass", "hybrid_ms", "load_s")},
            "chroma_hnsw": hnsw,
            "agreement": agreement(memory["rankings"], hnsw.pop("rankings")),
            "two_pass_agreement": {
                "how": (
                    "in memory, two passes (the default at this size) against one exact "
                    "product; the reduced dimensions and the shortlist were chosen on the "
                    "evaluation situations, so the held-out figure is the one to quote: "
                    "sentences from a seeded sample of the corpus's documents"
                ),
                "situations": agreement(memory.pop("rankings"), exact.pop("rankings")),
                "held_out": agreement(memory.pop("held_out"), exact.pop("held_out")),
            },
        }
    return results


# -- the environment -------------------------------------------------------------------------


def use_bench_environment(model: str, workdir: Path) -> None:
    """This process's and every child's settings: no COACH_* of the machine (a Chroma host, a
    database URL, rate limits) leaks in; the model, data folder and keys file are the bench's,
    and no rate limit turns a poll into a 429."""
    for key in [key for key in os.environ if key.startswith("COACH_")]:
        del os.environ[key]
    data = workdir.resolve() / "data"
    os.environ.update(
        COACH_EMBEDDING_MODEL=model,
        COACH_DATA_DIR=str(data),
        COACH_API_KEYS_FILE=str(data / "api-keys.json"),
        COACH_RATE_SEARCH_PER_MINUTE="0",
        COACH_RATE_COACH_PER_MINUTE="0",
    )


def bench_settings(corpus: Path, index_dir: Path) -> Settings:
    return Settings(_env_file=None, corpus_dir=corpus, index_dir=index_dir)


def in_fresh_process(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in a new Python process (spawned, not forked): nothing this process
    loaded or cached counts in its time or its memory."""
    # Not multiprocessing.Pool: its workers are daemons, which may not start processes of their
    # own (the indexer makes a large run's units in one).
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def git(*command: str) -> str:
    return subprocess.run(
        ["git", *command], cwd=REPO, capture_output=True, text=True, check=False
    ).stdout.strip()


def since(started: float, digits: int = 3) -> float:
    return round(time.perf_counter() - started, digits)


def percentiles(samples: list[float], scale: float = 1.0, digits: int = 3) -> dict[str, Any]:
    """Nearest-rank p50 and p95, and the maximum (p95 of 20 samples is the 19th)."""
    ordered = sorted(samples)
    if not ordered:
        return {"n": 0}

    def rank(share: float) -> float:
        return round(ordered[max(0, math.ceil(share * len(ordered)) - 1)] * scale, digits)

    return {"n": len(ordered), "p50": rank(0.5), "p95": rank(0.95), "max": rank(1.0)}


# -- 1. the full index -----------------------------------------------------------------------


def _raw_rate(embedder: Embedder, texts: list[str]) -> float:
    """The model alone on `texts`, in one call: records a second."""
    started = time.perf_counter()
    embedder.embed_passages(texts)
    return len(texts) / (time.perf_counter() - started)


def full_index(corpus: Path, index_dir: Path, raw_sample: int, seed: int) -> dict[str, Any]:
    """Run in a fresh process: the raw model on a sample of the pipeline's own texts, then the
    whole corpus indexed by the service's indexer, the same model loaded."""
    offline_environment()
    settings = bench_settings(corpus, index_dir)
    started = time.perf_counter()
    embedder = build_embedder(settings)
    load_s = since(started)
    indexer = build_indexer(settings, embedder)
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(embedder, corpus, Path(tmp))
    documents = [doc for doc in scan_corpus(corpus).documents if doc.is_active]
    random.Random(seed).shuffle(documents)
    texts: list[str] = []
    for document in documents:
        texts += embedded_texts(indexer, [document])[0]
        if len(texts) >= raw_sample:
            break
    texts = texts[:raw_sample]
    raw_before = _raw_rate(embedder, texts)
    rss_before = psutil.Process().memory_info().rss
    started = time.perf_counter()
    report = indexer.run(corpus)
    seconds = time.perf_counter() - started
    raw_after = _raw_rate(embedder, texts)
    raw_rate = (raw_before + raw_after) / 2
    with closing(indexer.open_store()) as store:
        records = store.chunk_count()
        items = len(store.get_chunks({"record": ITEM_RECORD}))
    rate = report.chunks_embedded / seconds
    return {
        "how": (
            "a spawned process loads the model, warms Chroma up on one document, embeds "
            f"{len(texts)} texts (the chunks and advice items of documents in a seeded random "
            "order, as the pipeline builds them) in one embed_passages call, before the run and "
            "again after it: the raw rate is the mean of the two; the run is Indexer.run over "
            "the whole corpus into an empty index, timed; peak RSS is that "
            "process's ru_maxrss (model, raw sample and index run), and its helpers' the largest "
            "ru_maxrss of the processes it started (the run's units and its segment writer)"
        ),
        "documents": len(documents),
        "records": records,
        "chunks": records - items,
        "advice_items": items,
        "model_load_s": load_s,
        "index_s": round(seconds, 1),
        # Inside the embedder's calls, and the rest: chunking, counting tokens, Chroma writes.
        "embedding_s": round(report.seconds_embedding, 1),
        "outside_embedding_s": round(seconds - report.seconds_embedding, 1),
        "records_per_s": round(rate, 1),
        "raw_sample": len(texts),
        "raw_records_per_s": round(raw_rate, 1),
        "raw_before_after": [round(raw_before, 1), round(raw_after, 1)],
        "pipeline_vs_raw": round(rate / raw_rate, 3),
        "rss_before_index_mb": round(rss_before / 2**20),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "helpers_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024),
    }


def disk_usage(folder: Path) -> dict[str, Any]:
    sizes: list[os.stat_result] = []
    for path in folder.rglob("*"):
        with suppress(FileNotFoundError):  # a merge behind the server may prune meanwhile
            if path.is_file():
                sizes.append(path.stat())
    return {
        "how": "every file under the index folder: blocks allocated (du) and apparent size",
        "allocated_mb": round(sum(size.st_blocks * 512 for size in sizes) / 2**20, 1),
        "apparent_mb": round(sum(size.st_size for size in sizes) / 2**20, 1),
        "files": len(sizes),
    }


# -- 2-4. the service: start-up, saves, approvals --------------------------------------------


def service_figures(
    workdir: Path, documents: list[Document], saves: int, approvals: int, rng: random.Random
) -> dict[str, Any]:
    curator_key = add_key("bench-curator", "curator")
    professional_key = add_key("bench-professional", "professional")
    with service(workdir) as (base, ready_s, memory):
        figures: dict[str, Any] = {
            "serve": {
                "how": (
                    "`coach serve` on a free port with the built index (it checks the index "
                    "with a no-op run first), from Popen until GET /readyz answers 200 (the "
                    "retriever is loaded then), polled every 0.1 s; the server's RSS, sampled"
                ),
                "ready_s": ready_s,
                "rss_at_ready_mb": round(memory.peak / 2**20),
            }
        }
        # The CPU figures are per request in a steady state: after the indexer's warm-up
        # (a thread the server starts, /readyz says when it is done).
        figures["serve"]["writer_warm_s"] = round(ready_s + writer_warm(base), 2)
        with (
            httpx.Client(base_url=base, timeout=300, headers=bearer(curator_key)) as curator,
            httpx.Client(base_url=base, timeout=300, headers=bearer(professional_key)) as pro,
        ):
            figures["cpu_per_request"] = cpu_per_request(pro, memory.process)
            changes = [curator_save(curator, doc) for doc in rng.sample(documents, saves)]
            figures["saves"] = {"how": SAVE_HOW, **summary(changes)}
            changes = [lesson_approval(curator, pro, n) for n in range(approvals)]
            figures["approvals"] = {"how": APPROVAL_HOW, **summary(changes)}
            for change in changes:  # untimed: a reused workdir starts without them
                retire(curator, change["doc_id"])
        figures["serve"]["peak_rss_mb"] = round(memory.peak / 2**20)
    figures["serve"]["index_disk_after_writes"] = disk_usage(workdir / "index")
    return figures


SEARCHED = (
    f"then POST /v1/search for that text (k={SHOWN}) every {POLL_SECONDS} s until the document "
    "is among the results; seconds from sending the request, and the request's own "
    "(`request_s`)"
)
SAVE_HOW = (
    "per document of a seeded sample: GET /v1/documents/{id}, a new first point in its steps "
    "or lesson (an advice item) holding a new token (three times, joined by two function words "
    "of its language) that does not find it already (else another), then PUT with If-Match, "
    + SEARCHED
)
APPROVAL_HOW = (
    "a professional coaches a situation (POST /v1/coach) and records a lesson that is a new "
    "token written the same way (POST /v1/sessions/{id}/lesson); a curator approves it (POST "
    "/v1/drafts/{id}/approve with If-Match), " + SEARCHED
)


CPU_REQUESTS = {"/v1/search": 300, "/v1/coach": 200}
# An authenticated request that does next to nothing: what the HTTP stack itself costs a request
# (uvicorn, the middleware, the key check, a small JSON answer).
FLOOR = "/v1/didactic-questions"
FLOOR_REQUESTS = 300


def cpu_per_request(client: httpx.Client, server: psutil.Process) -> dict[str, Any]:
    """The server's CPU seconds (user + system, its workers included) over sequential requests,
    per request: the load generator's own CPU is not counted. Situations of the three
    organisations' evaluation suites, in turn; ten warm-up requests first."""
    found = situations(max(CPU_REQUESTS.values()))
    texts = [found[number % len(found)] for number in range(max(CPU_REQUESTS.values()))]
    figures: dict[str, Any] = {
        "how": (
            "sequential requests from this process; the server's user+system CPU seconds "
            "(psutil, its worker processes included) before and after, divided by the requests"
        )
    }
    for path, count in CPU_REQUESTS.items():
        field = "query" if path == "/v1/search" else "situation"
        for text in texts[:10]:
            client.post(path, json={field: text}).raise_for_status()

        def post(text: str, path: str = path, field: str = field) -> httpx.Response:
            return client.post(path, json={field: text})

        figures[path] = _measured(server, count, post, texts)
    for _ in range(10):
        client.get(FLOOR).raise_for_status()
    floor = _measured(server, FLOOR_REQUESTS, lambda _text: client.get(FLOOR), texts)
    figures["floor"] = {"path": FLOOR, **floor}
    return figures


def _measured(
    server: psutil.Process,
    count: int,
    request: Callable[[str], httpx.Response],
    texts: list[str],
) -> dict[str, Any]:
    """The server's CPU and the wall time per request over `count` sequential requests."""
    before = _cpu_seconds(server)
    started = time.perf_counter()
    for number in range(count):
        request(texts[number % len(texts)]).raise_for_status()
    return {
        "requests": count,
        "cpu_ms": round(1000 * (_cpu_seconds(server) - before) / count, 2),
        "wall_ms": round(1000 * (time.perf_counter() - started) / count, 2),
    }


def _cpu_seconds(server: psutil.Process) -> float:
    family = [server, *server.children(recursive=True)]
    return float(sum(p.cpu_times().user + p.cpu_times().system for p in family))


def add_key(user: str, role: str) -> str:
    """A key made as an operator makes one (`coach keys add`, COACH_API_KEYS_FILE)."""
    done = subprocess.run(
        [COACH, "keys", "add", user, "--role", role], capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@contextmanager
def service(workdir: Path) -> Iterator[tuple[str, float, PeakMemory]]:
    """`coach serve` on the bench's corpus and index; yields its URL, the seconds until it was
    ready, and its memory sampler."""
    port = free_port()
    command = [COACH, "serve", "--port", str(port), "--corpus", str(workdir / "corpus")]
    command += ["--index-dir", str(workdir / "index")]
    base = f"http://127.0.0.1:{port}"
    with (workdir / "serve.log").open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=workdir)
        try:
            with PeakMemory(process.pid) as memory:
                while not ready(base):
                    if process.poll() is not None:
                        tail = (workdir / "serve.log").read_text(errors="replace")[-3000:]
                        raise RuntimeError(f"coach serve stopped:\n{tail}")
                    time.sleep(0.1)
                yield base, since(started, 2), memory
        finally:
            process.terminate()
            process.wait(timeout=60)


def writer_warm(base: str, timeout: float = 120.0) -> float:
    """Seconds until /readyz says the indexer is warm."""
    started = time.perf_counter()
    while httpx.get(f"{base}/readyz", timeout=5).json()["checks"].get("writer") != "ok":
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"the indexer was not warm after {timeout:.0f} s")
        time.sleep(0.1)
    return time.perf_counter() - started


def ready(base: str) -> bool:
    try:
        return httpx.get(f"{base}/readyz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def marker(language: str) -> str:
    """A point no document holds: a new token three times, joined by two function words of the
    language, so the search reads it in that language (BM25 drops them as stop words). Nothing
    else: with four corpus words beside the token, a neighbour's cosines outranked the changed
    document for 2 of 20 saves on 1,000 documents, and one marker would find another's.

    The token is drawn fresh on every run, not from the seed: a seeded run on a reused workdir
    drew the tokens of the run before and, skipping the one its document already held, wrote
    the next document's into it. After five runs five documents held one token, and a save
    was not among that token's top five within 120 s."""
    token = "".join(_TOKENS.choices(string.ascii_lowercase, k=10))
    return (JOINED[language]).format(token)


def top_hits(client: httpx.Client, query: str) -> list[str]:
    response = client.post("/v1/search", json={"query": query, "k": SHOWN})
    response.raise_for_status()
    return [str(source["id"]) for source in response.json()["sources"]]


def timed_change(
    client: httpx.Client, send: Callable[[], httpx.Response], query: str, doc_id: str
) -> dict[str, Any]:
    """Send a change, then search `query` until `doc_id` shows: both durations, and
    the last hits when it never got there within SEARCHABLE_WITHIN."""
    started = time.perf_counter()
    send().raise_for_status()
    change: dict[str, Any] = {"doc_id": doc_id, "request_s": since(started)}
    while time.perf_counter() - started < SEARCHABLE_WITHIN:
        hits = top_hits(client, query)
        if doc_id in hits:
            return {**change, "searchable_s": since(started)}
        time.sleep(POLL_SECONDS)
    return {**change, "searchable_s": None, "last_hits": hits}


def summary(changes: list[dict[str, Any]]) -> dict[str, Any]:
    found = [change["searchable_s"] for change in changes if change["searchable_s"] is not None]
    return {
        "searchable_s": percentiles(found),
        "request_s": percentiles([change["request_s"] for change in changes]),
        "not_searchable": len(changes) - len(found),
        "changes": changes,
    }


def curator_save(curator: httpx.Client, document: Document) -> dict[str, Any]:
    current = curator.get(f"/v1/documents/{document.id}")
    current.raise_for_status()
    fields = {key: value for key, value in current.json().items() if key in EDITABLE}
    query = marker(document.language)
    while document.id in top_hits(curator, query):  # found before the save: proves nothing
        query = marker(document.language)
    fields["body"] = with_point(fields["body"], CORE[(document.type, document.language)], query)
    headers = {"If-Match": current.headers["ETag"]}
    path = f"/v1/documents/{document.id}"
    return timed_change(
        curator, lambda: curator.put(path, json=fields, headers=headers), query, document.id
    )


def with_point(body: str, heading: str, point: str) -> str:
    """`body` with `point` first in its section `heading` (a new section if it has none)."""
    marked = f"\n## {heading}\n"
    if marked in f"\n{body}":
        return f"\n{body}".replace(marked, f"{marked}- {point}\n", 1).lstrip("\n")
    return f"{body.rstrip()}{marked}- {point}\n"


def lesson_approval(
    curator: httpx.Client, professional: httpx.Client, number: int
) -> dict[str, Any]:
    language = ("nl", "en")[number % 2]
    asked = professional.post("/v1/coach", json={"situation": SITUATIONS[language]})
    asked.raise_for_status()
    query = marker(language)
    drafted = professional.post(
        f"/v1/sessions/{asked.headers['X-Session-Id']}/lesson",
        json={"lesson": query, "what_worked": WORKED[language]},
    )
    drafted.raise_for_status()
    draft = drafted.json()
    path, headers = f"/v1/drafts/{draft['id']}/approve", {"If-Match": draft["document"]["etag"]}
    return timed_change(
        curator, lambda: curator.post(path, headers=headers), query, draft["doc_id"]
    )


def retire(curator: httpx.Client, doc_id: str) -> None:
    """Retire a lesson the bench approved: each is a marker sentence, alike in meaning to every
    other marker, so those left from an earlier run outrank a changed document in the next."""
    current = curator.get(f"/v1/documents/{doc_id}")
    current.raise_for_status()
    retired = curator.delete(
        f"/v1/documents/{doc_id}", headers={"If-Match": current.headers["ETag"]}
    )
    retired.raise_for_status()


# -- 5. no-op index runs ---------------------------------------------------------------------


def noop_index(workdir: Path, settings: Settings, runs: int = 3) -> dict[str, Any]:
    command = [COACH, "index", "--corpus", str(settings.corpus_dir)]
    command += ["--index-dir", str(settings.index_dir)]
    cli: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=workdir)
        cli.append(time.perf_counter() - started)
        if "0 added, 0 updated, 0 removed" not in done.stdout or "; 0 chunks" not in done.stdout:
            raise RuntimeError(f"`coach index` was no no-op: {done.stdout}")
    indexer = build_indexer(settings, build_embedder(settings))
    started = time.perf_counter()
    indexer.run(settings.corpus_dir)  # the first run of a process opens Chroma
    first = since(started)
    in_process: list[float] = []
    for _ in range(runs):
        started = time.perf_counter()
        report = indexer.run(settings.corpus_dir)
        in_process.append(time.perf_counter() - started)
        if report.chunks_embedded or report.added or report.updated or report.removed:
            raise RuntimeError(f"the in-process run was no no-op: {report.counts()}")
    return {
        "how": (
            f"`coach index` with nothing changed, {runs} fresh processes (wall time, imports and "
            "model load included; the table shows the median); then Indexer.run in this "
            "process with the model loaded, once to open Chroma and read every file, then "
            f"{runs} times (the median in the table)"
        ),
        "cli_s": [round(value, 2) for value in cli],
        "in_process_first_s": first,
        "in_process_s": [round(value, 3) for value in in_process],
    }


# -- 6. the retriever at this size -----------------------------------------------------------


def situations(count: int) -> list[str]:
    """The evaluation situations of all three organisations, in file order, up to `count`."""
    found = [
        json.loads(line)["situation"]
        for name in DATASETS
        for line in (REPO / "evals" / name).read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return found[:count]


EXACT = 10**9  # `two_pass_from` for dense scoring by one exact product at any size


def passages(documents: list[Document], count: int, rng: random.Random) -> list[str]:
    """Queries no setting was chosen on: the first 25 words of a seeded sample of documents'
    bodies, past their first heading."""
    found = []
    for document in rng.sample(documents, min(count, len(documents))):
        lines = [line for line in document.body.splitlines() if not line.startswith("#")]
        found.append(" ".join(" ".join(lines).split()[:25]))
    return found


def retrieval(
    corpus: Path,
    index_dir: Path,
    memory_chunks: int | None,
    queries: list[str],
    held_out: list[str],
    two_pass_from: int | None = None,
) -> dict[str, Any]:
    """Run in a fresh process: the service's retriever (its fusion; `memory_chunks` and
    `two_pass_from` if given) opened, then every query searched once, after a warm-up of ten;
    then the `held_out` queries, for their rankings only."""
    offline_environment()
    settings = bench_settings(corpus, index_dir)
    embedder = build_embedder(settings)
    warm_up_retrieval(settings, embedder, memory_chunks)
    retriever = service_retriever(settings, embedder, memory_chunks)
    if two_pass_from is not None:
        retriever.two_pass_from = two_pass_from
    process = psutil.Process()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    records = retriever.store().chunk_count()
    load_s = since(started, 2)
    in_memory = records <= retriever.memory_chunks
    rss_growth = process.memory_info().rss - rss_before
    started = time.perf_counter()
    retriever.search(queries[0], k=5)
    first_ms = since(started, 4) * 1000
    for query in queries[:10]:
        retriever.search(query, k=5)
    latencies: list[float] = []
    rankings: list[list[str]] = []
    for query in queries:
        started = time.perf_counter()
        documents = retriever.search(query, k=5).documents
        latencies.append(time.perf_counter() - started)
        rankings.append([document.doc_id for document in documents])
    embedding: list[float] = []
    for query in queries:
        started = time.perf_counter()
        embedder.embed_query(query)
        embedding.append(time.perf_counter() - started)
    return {
        "how": (
            "a spawned process loads the model, opens and searches a one-document index (so "
            "imports and one-time set-up count in neither figure), then opens the service's "
            "retriever (Retriever.store(): reads every record, builds BM25, and the matrix when "
            "in memory): its load time and the RSS growth over it; the first search; hybrid "
            f"search k=5 over {len(queries)} evaluation situations of the three organisations "
            "after ten warm-up searches; the query embedding alone over the same situations"
        ),
        "memory_chunks": retriever.memory_chunks,
        "records": records,
        "matrix_mb": round(records * embedder.dimension * 4 / 2**20, 1) if in_memory else 0,
        "load_s": load_s,
        "rss_growth_mb": round(rss_growth / 2**20),
        "first_search_ms": round(first_ms, 1),
        "hybrid_ms": percentiles(latencies, scale=1000, digits=1),
        "query_embedding_ms": percentiles(embedding, scale=1000, digits=1),
        "two_pass": retriever.two_pass,
        "rankings": rankings,
        "held_out": [[d.doc_id for d in retriever.search(q, k=5).documents] for q in held_out],
    }


def traced_load(corpus: Path, index_dir: Path, memory_chunks: int | None) -> dict[str, Any]:
    """Run in a fresh process: what opening the retriever allocates in Python (numpy included),
    by tracemalloc, which slows the load, so its time is measured in `retrieval` instead."""
    offline_environment()
    settings = bench_settings(corpus, index_dir)
    embedder = build_embedder(settings)
    warm_up_retrieval(settings, embedder, memory_chunks)
    retriever = service_retriever(settings, embedder, memory_chunks)
    tracemalloc.start()
    retriever.store()
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "traced_how": (
            "another spawned process, warmed up the same way, opens the retriever under "
            "tracemalloc: what Python and numpy hold afterwards and at most during the load "
            "(Chroma's own Rust allocations are not traced: see the RSS growth)"
        ),
        "traced_retained_mb": round(retained / 2**20, 1),
        "traced_peak_mb": round(peak / 2**20, 1),
    }


def service_retriever(
    settings: Settings, embedder: Embedder, memory_chunks: int | None
) -> Retriever:
    """The retriever `coach serve` builds for these settings (`memory_chunks` if given)."""
    retriever = build_coach(settings, embedder).retriever
    if memory_chunks is not None:
        retriever.memory_chunks = memory_chunks
    return retriever


def warm_up_retrieval(settings: Settings, embedder: Embedder, memory_chunks: int | None) -> None:
    """Open and search a one-document index, so that imports and one-time set-up (Chroma,
    BM25, the stemmers) are done before the index being measured is opened."""
    with tempfile.TemporaryDirectory() as tmp:
        warm_up(embedder, settings.corpus_dir, Path(tmp))
        tiny = settings.model_copy(
            update={"index_dir": Path(tmp) / "index-warm", "chroma_collection": "warm"}
        )
        retriever = service_retriever(tiny, embedder, memory_chunks)
        retriever.search(SITUATIONS["nl"], k=5)
        retriever.close()


def agreement(first: list[list[str]], second: list[list[str]]) -> dict[str, Any]:
    pairs = list(zip(first, second, strict=True))
    same_top = sum(1 for a, b in pairs if a[:1] == b[:1])
    overlap = sum(len(set(a) & set(b)) / max(len(a), 1) for a, b in pairs)
    return {
        "how": "the same queries: share with the same top document; mean share of top 5 shared",
        "same_top1": round(same_top / len(pairs), 3),
        "top5_overlap": round(overlap / len(pairs), 3),
    }


# -- the report ------------------------------------------------------------------------------


def markdown(results: dict[str, Any]) -> str:
    """The figures against the issue's targets, one row each, for README."""
    rows: list[tuple[str, str, str]] = []
    if index := results.get("index"):
        rows += [
            (
                f"full index, {index['documents']:,} documents ({index['chunks']:,} chunks + "
                f"{index['advice_items']:,} items)",
                f"{index['index_s']} s ({index['outside_embedding_s']} s outside the embedder), "
                f"{index['records_per_s']} records/s vs raw {index['raw_records_per_s']} "
                f"({index['pipeline_vs_raw']}x; raw before and after the run: "
                f"{' and '.join(map(str, index.get('raw_before_after', [])))})",
                ">= 0.9x",
            ),
            (
                "peak RSS of the indexing process (of its largest helper process)",
                f"{index['peak_rss_mb']} MB ({index.get('helpers_peak_rss_mb', '?')} MB)",
                "",
            ),
            ("index on disk", f"{index['disk']['allocated_mb']} MB", ""),
        ]
    if serve := results.get("serve"):
        rows.append(
            (
                "`coach serve` until ready",
                f"{serve['ready_s']} s ({serve['rss_at_ready_mb']} MB RSS; "
                f"{serve['peak_rss_mb']} MB at most while saving; the indexer warm at "
                f"{serve['writer_warm_s']} s)",
                "< 15 s",
            )
        )
    if cpu := results.get("cpu_per_request"):
        for path, target in (("/v1/search", "<= 8 ms"), ("/v1/coach", "<= 12 ms")):
            figure = cpu[path]
            rows.append(
                (
                    f"server CPU per `{path}` ({figure['requests']} sequential)",
                    f"{figure['cpu_ms']} ms (wall {figure['wall_ms']} ms)",
                    target,
                )
            )
        if floor := cpu.get("floor"):
            rows.append(
                (
                    f"server CPU per `GET {floor['path']}` (next to nothing: the HTTP stack)",
                    f"{floor['cpu_ms']} ms (wall {floor['wall_ms']} ms)",
                    "",
                )
            )
    for key, label in (("saves", "a curator's save"), ("approvals", "a lesson approval")):
        if figures := results.get(key):
            found, request = figures["searchable_s"], figures["request_s"]
            value = (
                f"p50 {found.get('p50')} / p95 {found.get('p95')} / max {found.get('max')} s "
                f"(the request itself: p95 {request['p95']} s)"
            )
            if figures["not_searchable"]:
                value += f", {figures['not_searchable']} not found in {SEARCHABLE_WITHIN:.0f} s"
            rows.append((f"{label} until searchable ({request['n']})", value, "p95 < 2 s"))
    if noop := results.get("noop_index"):
        cli, in_process = sorted(noop["cli_s"]), sorted(noop["in_process_s"])
        rows.append(("no-op `coach index` (CLI)", f"{cli[len(cli) // 2]} s", "< 2 s"))
        rows.append(("no-op Indexer.run in process", f"{in_process[len(in_process) // 2]} s", ""))
    if retrieval := results.get("retrieval"):
        for key, label in (("in_memory", "in memory"), ("chroma_hnsw", "Chroma HNSW")):
            path = retrieval[key]
            latency, embedding = path["hybrid_ms"], path["query_embedding_ms"]
            rows.append(
                (
                    f"hybrid retrieval {label}, {path['records']:,} records",
                    f"p50 {latency['p50']} / p95 {latency['p95']} ms (query embedding p50 "
                    f"{embedding['p50']} ms); load {path['load_s']} s, "
                    f"{path['traced_retained_mb']} MB traced, +{path['rss_growth_mb']} MB RSS",
                    "p95 < 50 ms" if key == "in_memory" else "",
                )
            )
        exact = retrieval["in_memory_exact"]["hybrid_ms"]
        rows.append(
            (
                "the same, in memory by one exact product",
                f"p50 {exact['p50']} / p95 {exact['p95']} ms",
                "",
            )
        )
        two_pass = retrieval["two_pass_agreement"]
        for label, agree in (
            ("HNSW against in memory, same queries", retrieval["agreement"]),
            ("two passes against exact, evaluation situations", two_pass["situations"]),
            ("two passes against exact, held-out passages", two_pass["held_out"]),
        ):
            rows.append(
                (
                    label,
                    f"same top document {agree['same_top1']:.1%}, "
                    f"top 5 shared {agree['top5_overlap']:.1%}",
                    "",
                )
            )
    lines = [
        f"{results['model']}, {results['machine']}, commit {results['commit']}: "
        f"`{results['command']}`",
        "",
        "| figure | measured | target |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {value} | {target} |" for name, value, target in rows]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
