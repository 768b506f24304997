"""A curator's save in process: one document changes, then the writing run and a reader's reload,
on a synthetic corpus (bench/synthetic.py) with the configured embedder. Prints p50 and max of
each, and the index's size on disk. (`bench/scale_bench.py` measures saves through the API.)

    .venv/bin/python bench/save_bench.py [--docs 1000] [--saves 12]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from synthetic import synthesize

from coach.factory import build_embedder
from coach.index.indexer import Indexer
from coach.index.records import StoreLocation
from coach.offline import offline_environment
from coach.retrieve.retriever import Retriever
from coach.settings import Settings

REPO = Path(__file__).resolve().parents[1]


def summary(seconds: list[float]) -> str:
    return f"p50 {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--docs", type=int, default=1000, help="synthetic corpus size")
    parser.add_argument("--saves", type=int, default=12, help="documents changed, one at a time")
    args = parser.parse_args()
    offline_environment()
    embedder = build_embedder(Settings())
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        synthesize(REPO / "corpus", corpus, args.docs)
        location = StoreLocation(collection="coach", path=Path(tmp) / "index")
        indexer = Indexer(embedder, location)
        started = time.perf_counter()
        report = indexer.run(corpus)
        print(
            f"{args.docs} documents, {report.chunks_embedded} records, "
            f"full index {time.perf_counter() - started:.1f} s"
        )
        indexer.run(corpus)  # what a running service has: the files read once
        retriever = Retriever(embedder, location)
        retriever.store()
        files = sorted(corpus.rglob("*.md"))
        runs: list[float] = []
        reloads: list[float] = []
        for number in range(args.saves):
            path = files[(number * 37) % len(files)]
            text = path.read_text(encoding="utf-8")
            path.write_text(text + f"\nAanvulling {number}: bel terug.\n", encoding="utf-8")
            started = time.perf_counter()
            done = indexer.run(corpus)
            runs.append(time.perf_counter() - started)
            assert done.counts()["updated"] == 1, done.counts()
            started = time.perf_counter()
            retriever.store()
            reloads.append(time.perf_counter() - started)
        size = sum(p.stat().st_size for p in (Path(tmp) / "index").rglob("*") if p.is_file())
        print(f"writing run after one change: {summary(runs)}")
        print(f"reader's reload: {summary(reloads)}")
        print(f"index on disk: {size / 1e6:.0f} MB")
        retriever.close()


if __name__ == "__main__":
    main()
