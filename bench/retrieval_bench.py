"""Retrieval benchmark: embedders x retrievers on the evaluation situations, the fusion weights,
the grounding threshold, and latency at 10,000 chunks.

In one run: for each embedder, index the sample corpus and measure hit@1, hit@5 and MRR of
dense-only, BM25-only and hybrid retrieval (Dutch, English, cross-language separately); try
fusion weights; calibrate the grounding threshold on in-scope vs out-of-scope situations. Then,
for the default embedder, index a synthetic corpus of >= 10,000 chunks and measure retrieval
latency p50/p95 per retriever, and `Coach.ask` end to end once warm.

    .venv/bin/python bench/retrieval_bench.py [--models use-multilingual-v3 ...] [--chunks 10000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from coach.engine import Coach
from coach.evals.dataset import Case, load_cases
from coach.evals.metrics import hit_at, mean, reciprocal_rank
from coach.generate.extractive import ExtractiveComposer
from coach.index.embedders import make_embedder
from coach.index.indexer import Indexer
from coach.index.records import StoreLocation
from coach.ingest.didactics import load_didactics
from coach.offline import offline_environment
from coach.retrieve.fusion import MODES, Fusion, Mode
from coach.retrieve.retriever import Retriever

sys.path.insert(0, str(Path(__file__).resolve().parent))
import itertools

from index_bench import synthesize

REPO = Path(__file__).resolve().parents[1]
MODELS = ("all-MiniLM-L6-v2", "multilingual-e5-small", "use-multilingual-v3")
GROUPS = ("nl", "en", "cross-language", "all")
FUSIONS = [
    Fusion(1.0, items, lexical) for items in (0.0, 0.5, 0.75, 1.0) for lexical in (0.1, 0.2, 0.3)
]


def quality(retriever: Retriever, cases: list[Case], mode: Mode) -> dict[str, dict[str, float]]:
    rows: dict[str, list[tuple[float, float, float]]] = {group: [] for group in GROUPS}
    for case in cases:
        if case.out_of_scope:
            continue
        ranked = [d.doc_id for d in retriever.search(case.situation, k=5, mode=mode).documents]
        row = (
            hit_at(ranked, case.reference_context_ids, 1),
            hit_at(ranked, case.reference_context_ids, 5),
            reciprocal_rank(ranked, case.reference_context_ids),
        )
        rows[case.group].append(row)
        rows["all"].append(row)
    return {
        group: {
            "n": len(values),
            "hit@1": round(mean([v[0] for v in values]), 3),
            "hit@5": round(mean([v[1] for v in values]), 3),
            "mrr": round(mean([v[2] for v in values]), 3),
        }
        for group, values in rows.items()
    }


def calibrate(retriever: Retriever, cases: list[Case]) -> dict[str, Any]:
    """The threshold on the best dense cosine that best separates in-scope from out-of-scope:
    the middle of the widest interval of thresholds with the highest accuracy."""
    scored = [
        (retriever.search(c.situation, k=5).top_similarity or 0.0, not c.out_of_scope)
        for c in cases
    ]
    values = sorted({score for score, _ in scored})
    candidates = [(a + b) / 2 for a, b in itertools.pairwise(values)] or [0.0]

    def accuracy(threshold: float) -> float:
        return mean([1.0 if (score >= threshold) == inside else 0.0 for score, inside in scored])

    best = max(accuracy(t) for t in candidates)
    good = [t for t in candidates if accuracy(t) == best]
    threshold = (min(good) + max(good)) / 2
    inside = [s for s, i in scored if i]
    outside = [s for s, i in scored if not i]
    return {
        "threshold": round(threshold, 3),
        "accuracy": round(accuracy(threshold), 3),
        "in_scope_min": round(min(inside), 3) if inside else None,
        "in_scope_p10": round(sorted(inside)[len(inside) // 10], 3) if inside else None,
        "out_of_scope_max": round(max(outside), 3) if outside else None,
    }


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
    }


def latency(retriever: Retriever, queries: list[str], mode: Mode, rounds: int) -> dict[str, float]:
    retriever.search(queries[0], mode=mode)  # warm
    samples = []
    for _ in range(rounds):
        for query in queries:
            started = time.perf_counter()
            retriever.search(query, k=5, mode=mode)
            samples.append(time.perf_counter() - started)
    return percentiles(samples)


def compare_models(models: list[str], cases: list[Case], workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for model in models:
        started = time.perf_counter()
        embedder = make_embedder(model)
        load = time.perf_counter() - started
        location = StoreLocation(collection="bench", path=workdir / f"index-{model}")
        started = time.perf_counter()
        Indexer(embedder, location).run(REPO / "corpus")
        index_seconds = time.perf_counter() - started
        retriever = Retriever(embedder, location)
        entry: dict[str, Any] = {
            "embedder": embedder.name,
            "model_load_s": round(load, 2),
            "index_sample_s": round(index_seconds, 1),
            "modes": {mode: quality(retriever, cases, mode) for mode in MODES},
        }
        fusions = []
        for fusion in FUSIONS:
            retriever.fusion = fusion
            scores = quality(retriever, cases, "hybrid")["all"]
            weights = {"item_weight": fusion.items, "lexical_weight": fusion.lexical}
            fusions.append({**weights, **scores})
        entry["fusions"] = fusions
        retriever.fusion = Fusion()
        entry["grounding"] = calibrate(retriever, cases)
        results[model] = entry
        retriever.close()
        print(f"{model}: {json.dumps(entry['modes']['hybrid']['all'])}", file=sys.stderr)
    return results


def speed(model: str, cases: list[Case], chunks: int, workdir: Path) -> dict[str, Any]:
    embedder = make_embedder(model)
    corpus = workdir / "synthetic"
    # ~7.5 chunks per synthetic document (measured by the index benchmark).
    synthesize(REPO / "corpus", corpus, n_docs=max(1, chunks * 2 // 15 + 50))
    (corpus / "didactics.yaml").write_bytes((REPO / "corpus" / "didactics.yaml").read_bytes())
    location = StoreLocation(collection="bench", path=workdir / "index-synthetic")
    report = Indexer(embedder, location).run(corpus)
    retriever = Retriever(embedder, location)
    queries = [case.situation for case in cases]
    result: dict[str, Any] = {"chunks": report.chunks_embedded, "queries": len(queries)}
    for mode in MODES:
        result[mode] = latency(retriever, queries, mode, rounds=3)
    coach = Coach(retriever, load_didactics(corpus / "didactics.yaml"), ExtractiveComposer())
    coach.ask(queries[0])
    samples = []
    for _ in range(3):
        for query in queries:
            started = time.perf_counter()
            coach.ask(query)
            samples.append(time.perf_counter() - started)
    result["coach_ask"] = percentiles(samples)
    return result


def markdown(results: dict[str, Any]) -> str:
    lines = [
        "| embedder | retriever | nl hit@1 / hit@5 / MRR | en hit@1 / hit@5 / MRR "
        "| cross-language hit@1 / hit@5 / MRR | all hit@5 / MRR |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for model, entry in results["models"].items():
        for mode, groups in entry["modes"].items():
            cells = [
                f"{groups[g]['hit@1']:.2f} / {groups[g]['hit@5']:.2f} / {groups[g]['mrr']:.2f}"
                for g in ("nl", "en", "cross-language")
            ]
            everything = groups["all"]
            lines.append(
                f"| {model} | {mode} | {' | '.join(cells)} | "
                f"{everything['hit@5']:.2f} / {everything['mrr']:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--speed-model", default="use-multilingual-v3")
    parser.add_argument("--chunks", type=int, default=10_000, help="synthetic index size")
    parser.add_argument("--dataset", type=Path, default=REPO / "evals" / "dataset.jsonl")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "retrieval.json")
    args = parser.parse_args()
    offline_environment()
    cases = load_cases(args.dataset)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        results: dict[str, Any] = {
            "cases": len(cases),
            "models": compare_models(args.models, cases, workdir),
        }
        if args.chunks:
            results["speed"] = speed(args.speed_model, cases, args.chunks, workdir)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results, indent=2))
    print("\n" + markdown(results))


if __name__ == "__main__":
    main()
