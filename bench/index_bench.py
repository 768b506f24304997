"""Indexing benchmark: pipeline vs raw model throughput, peak memory, one-change incremental run.

Measures the configured embedder (COACH_EMBEDDING_MODEL, USE multilingual v3 by default, built by
`coach.factory` as `coach index` builds it), or the one `--model` names. Runs on the sample
corpus and on a synthetic corpus built from it (bench/synthetic.py, 1,000 documents by default).
"Chunks" in the rates are every record the indexer embeds (a document's chunks and its advice
items); `chunks` and `advice_items` count them apart. Writes JSON to bench/results/index.json
and prints a line for README.

    .venv/bin/python bench/index_bench.py [--docs 1000] [--model NAME]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from synthetic import synthesize as synthesize  # retrieval_bench imports it from here

from coach.factory import build_embedder
from coach.index.embedders import Embedder
from coach.index.indexer import Indexer
from coach.index.records import StoreLocation
from coach.index.units import units_of
from coach.ingest.advice import ITEM_INDEX
from coach.ingest.corpus import Document, scan_corpus
from coach.offline import offline_environment
from coach.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def embedded_texts(indexer: Indexer, documents: list[Document]) -> tuple[list[str], int]:
    """What the pipeline embeds for these documents, in its order (the indexer's own units, so
    the raw model sees exactly the pipeline's texts), and how many of them are chunks."""
    units = [unit for document in documents for unit in units_of(document, indexer.chunker)]
    return [unit.embed for unit in units], sum(unit.index < ITEM_INDEX for unit in units)


def measure(embedder: Embedder, corpus: Path, workdir: Path, label: str) -> dict[str, Any]:
    location = StoreLocation(collection="bench", path=workdir / f"index-{label}")
    indexer = Indexer(embedder, location)
    documents = [doc for doc in scan_corpus(corpus).documents if doc.is_active]
    texts, chunks = embedded_texts(indexer, documents)
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
        "chunks": chunks,
        "advice_items": len(texts) - chunks,
        "chunk_tokens_median": statistics.median(tokens),
        "chunk_tokens_p90": sorted(tokens)[int(0.9 * (len(tokens) - 1))],
        "chunk_tokens_max": max(tokens),
        "raw_model_chunks_per_s": round(raw_rate, 1),
        "pipeline_chunks_per_s": round(pipeline_rate, 1),
        "pipeline_docs_per_s": round(len(documents) / pipeline_seconds, 1),
        "pipeline_vs_raw": round(pipeline_rate / raw_rate, 3),
        # Where the pipeline's time goes: the embedder's own calls, and the rest (chunking,
        # counting tokens, Chroma writes, publishing the index).
        "pipeline_embedding_s": round(report.seconds_embedding, 2),
        "pipeline_other_s": round(pipeline_seconds - report.seconds_embedding, 2),
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
    """A fresh process importing the CLI and everything indexing needs, without the model
    (whose own package is imported while it loads: `model_load_s`)."""
    code = "import coach.cli, coach.factory, coach.index.indexer, chromadb"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=1000, help="synthetic corpus size")
    parser.add_argument(
        "--model", help="embedding model (default: the configured one, COACH_EMBEDDING_MODEL)"
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "index.json")
    args = parser.parse_args()
    offline_environment()

    settings = Settings(embedding_model=args.model) if args.model else Settings()
    startup = startup_seconds()
    started = time.perf_counter()
    embedder = build_embedder(settings)
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
        f"\nREADME ({results['model']}): | {s['documents']} docs / {s['chunks']} chunks "
        f"+ {s['advice_items']} items | {s['pipeline_chunks_per_s']} "
        f"chunks/s vs raw {s['raw_model_chunks_per_s']} ({s['pipeline_vs_raw']}x) | "
        f"{y['documents']} docs / {y['chunks']} chunks + {y['advice_items']} items | "
        f"{y['pipeline_chunks_per_s']} chunks/s "
        f"vs raw {y['raw_model_chunks_per_s']} ({y['pipeline_vs_raw']}x), "
        f"{y['pipeline_docs_per_s']} docs/s | one change: {y['incremental_one_change_s']} s | "
        f"peak {results['peak_rss_mb']} MB | start-up {results['process_startup_s']} s, "
        f"model load {results['model_load_s']} s |"
    )


if __name__ == "__main__":
    main()
