"""Indexing benchmark: pipeline vs raw model throughput, peak memory, one-change incremental run.

Runs on the sample corpus and on a synthetic corpus built from it (>= 1,000 documents). Writes
JSON to bench/results/index.json and prints a line for README.

    .venv/bin/python bench/index_bench.py [--docs 1000]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from coach.index.embedders import Embedder, make_embedder
from coach.index.indexer import Indexer
from coach.index.records import StoreLocation
from coach.ingest.chunking import embedding_text
from coach.ingest.corpus import scan_corpus
from coach.offline import offline_environment

REPO = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def synthesize(source: Path, target: Path, n_docs: int, seed: int = 7) -> None:
    """`n_docs` documents recombined from the sample corpus: real vocabulary, distinct texts."""
    rng = random.Random(seed)
    documents = [doc for doc in scan_corpus(source).documents if doc.is_active]
    for i in range(n_docs):
        base = documents[i % len(documents)]
        other = rng.choice(documents)
        sections = other.body.split("\n## ")
        extra = "## " + rng.choice(sections[1:]) if len(sections) > 1 else other.body
        variant = f"Variant {i}: locatie {rng.randint(1, 999)}."
        body = f"{base.body.strip()}\n\n{extra.strip()}\n\n{variant}\n"
        doc_id = f"syn-{i:05d}-{base.id}"[:80].rstrip("-")
        front = (
            f"---\nid: {doc_id}\ntitle: {base.title} ({i})\ntype: {base.type}\n"
            f"language: {base.language}\nteam: {base.team or 'Algemeen'}\n---\n"
        )
        folder = target / (base.team or "algemeen").lower().replace(" ", "-").replace("&", "en")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{doc_id}.md").write_text(front + body, encoding="utf-8")


def measure(embedder: Embedder, corpus: Path, workdir: Path, label: str) -> dict[str, Any]:
    location = StoreLocation(collection="bench", path=workdir / f"index-{label}")
    indexer = Indexer(embedder, location)
    documents = [doc for doc in scan_corpus(corpus).documents if doc.is_active]
    texts = [
        embedding_text(doc.title, chunk)
        for doc in documents
        for chunk in indexer.chunker.chunk(doc)
    ]
    tokens = [len(embedder.tokenize(text)) + 2 for text in texts]

    started = time.perf_counter()
    embedder.embed_passages(texts)
    raw_seconds = time.perf_counter() - started

    started = time.perf_counter()
    report = indexer.run(corpus)
    pipeline_seconds = time.perf_counter() - started
    assert report.chunks_embedded == len(texts), (report.chunks_embedded, len(texts))

    # One document changes: the incremental run, model already loaded.
    changed = corpus / documents[len(documents) // 2].path
    changed.write_text(changed.read_text(encoding="utf-8") + "\nNieuwe aanvulling.\n", "utf-8")
    started = time.perf_counter()
    incremental = indexer.run(corpus)
    incremental_seconds = time.perf_counter() - started
    assert incremental.counts()["updated"] == 1

    started = time.perf_counter()
    noop = indexer.run(corpus)
    noop_seconds = time.perf_counter() - started
    assert noop.chunks_embedded == 0

    raw_rate = len(texts) / raw_seconds
    pipeline_rate = len(texts) / pipeline_seconds
    return {
        "documents": len(documents),
        "chunks": len(texts),
        "chunk_tokens_median": statistics.median(tokens),
        "chunk_tokens_p90": sorted(tokens)[int(0.9 * (len(tokens) - 1))],
        "chunk_tokens_max": max(tokens),
        "raw_model_chunks_per_s": round(raw_rate, 1),
        "pipeline_chunks_per_s": round(pipeline_rate, 1),
        "pipeline_docs_per_s": round(len(documents) / pipeline_seconds, 1),
        "pipeline_vs_raw": round(pipeline_rate / raw_rate, 3),
        "incremental_one_change_s": round(incremental_seconds, 3),
        "noop_run_s": round(noop_seconds, 3),
    }


def warm_up(embedder: Embedder, corpus: Path, workdir: Path) -> None:
    """Load what a running process has already loaded (Chroma, the sentence splitter's data),
    so the figures measure throughput, not one-time imports (start-up is reported apart)."""
    one = workdir / "warm"
    one.mkdir()
    first = next(iter(sorted(corpus.rglob("proc-*.md"))))
    (one / first.name).write_bytes(first.read_bytes())
    Indexer(embedder, StoreLocation(collection="warm", path=workdir / "index-warm")).run(one)


def startup_seconds() -> float:
    """A fresh process importing the CLI and everything indexing needs, without the model."""
    code = "import coach.cli, coach.index.indexer, sentence_transformers, chromadb"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=1000, help="synthetic corpus size")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "index.json")
    args = parser.parse_args()
    offline_environment()

    startup = startup_seconds()
    started = time.perf_counter()
    embedder = make_embedder("all-MiniLM-L6-v2")
    model_load = time.perf_counter() - started

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        sample = workdir / "sample"
        subprocess.run(["cp", "-r", str(REPO / "corpus"), str(sample)], check=True)
        warm_up(embedder, sample, workdir)
        results: dict[str, Any] = {
            "model": embedder.name,
            "process_startup_s": round(startup, 2),
            "model_load_s": round(model_load, 2),
            "sample": measure(embedder, sample, workdir, "sample"),
        }
        synthetic = workdir / "synthetic"
        synthesize(REPO / "corpus", synthetic, args.docs)
        results["synthetic"] = measure(embedder, synthetic, workdir, "synthetic")
        results["peak_rss_mb"] = round(peak_rss_mb(), 1)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    s, y = results["sample"], results["synthetic"]
    print(
        f"\nREADME: | {s['documents']} docs / {s['chunks']} chunks | {s['pipeline_chunks_per_s']} "
        f"chunks/s vs raw {s['raw_model_chunks_per_s']} ({s['pipeline_vs_raw']}x) | "
        f"{y['documents']} docs / {y['chunks']} chunks | {y['pipeline_chunks_per_s']} chunks/s "
        f"vs raw {y['raw_model_chunks_per_s']} ({y['pipeline_vs_raw']}x), "
        f"{y['pipeline_docs_per_s']} docs/s | one change: {y['incremental_one_change_s']} s | "
        f"peak {results['peak_rss_mb']} MB | start-up {results['process_startup_s']} s, "
        f"model load {results['model_load_s']} s |"
    )


if __name__ == "__main__":
    main()
