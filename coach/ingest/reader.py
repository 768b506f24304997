"""Reading a corpus folder again and again, parsing only the files that changed since: the
API's reads (`coach.ingest.curation`) and the indexer's runs share one reader per folder, so a
curator's save or a no-op `coach index` costs the files that changed, not the corpus. What a
reader knows can be kept in a file (`remember`, `recall`), so a new process (`coach index`)
parses only what changed since the last one."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

from coach.atomic import write_atomic
from coach.ingest.corpus import (
    CorpusScan,
    Document,
    ParsedFile,
    corpus_file_names,
    read_document,
    require_corpus,
    unique_ids,
)

# A file modified less than this long before a scan may still change within the same
# timestamp tick (1-10 ms on Linux, up to 2 s on FAT), so its stat cannot vouch for it yet.
SETTLE_NS = 2 * 10**9

FileKey = tuple[int, int, int, int]
MEMORY_FORMAT = 1  # of the file `remember` writes; another format is not read


class CorpusReader:
    """Reads a corpus folder again and again, parsing only the files that changed.

    A file is known by its inode, size, mtime_ns and ctime_ns: an atomic write (a new inode), an
    edit in place (a new mtime and ctime) or `touch` all change it. A file whose mtime is
    younger than `SETTLE_NS` is parsed every time, as git treats "racily clean" files, so a
    change within one timestamp tick is never missed. `scans` and `parsed` count what it did.
    """

    def __init__(self, corpus_dir: Path) -> None:
        self.corpus_dir = corpus_dir
        self.scans = 0
        self.parsed = 0
        self._known: dict[str, tuple[FileKey, ParsedFile]] = {}  # by path, as a string
        self._lock = threading.Lock()
        self._remembered = 0  # `parsed` when this reader last wrote or read its file

    def recall(self, path: Path) -> None:
        """Know what `remember` wrote to `path` for this folder (nothing when it is missing,
        unreadable, of another format or of another folder: those files are parsed again)."""
        try:
            saved = json.loads(path.read_bytes())
        except (OSError, ValueError):
            return
        if saved.get("format") != MEMORY_FORMAT or saved.get("corpus") != self._name():
            return
        with self._lock:
            for rel, (key, fields) in saved["files"].items():
                document = _document(fields)
                self._known[os.path.join(self.corpus_dir, rel)] = (
                    (key[0], key[1], key[2], key[3]),
                    ParsedFile(document.path, document, [], document.id),
                )
            self._remembered = self.parsed

    def remember(self, path: Path) -> None:
        """Keep the valid files this reader knows in `path` (written again only when it parsed
        something since it last wrote or read it)."""
        with self._lock:
            if self._remembered == self.parsed and path.exists():
                return
            files = {
                parsed.path: [list(key), asdict(parsed.document)]
                for key, parsed in self._known.values()
                if parsed.document is not None and not parsed.problems
            }
            self._remembered = self.parsed
        memory = {"format": MEMORY_FORMAT, "corpus": self._name(), "files": files}
        write_atomic(path, json.dumps(memory, ensure_ascii=False, default=str).encode())

    def _name(self) -> str:
        return str(self.corpus_dir.resolve())

    def scan(self) -> CorpusScan:
        require_corpus(self.corpus_dir)
        with self._lock:
            self.scans += 1
            settled_before = time.time_ns() - SETTLE_NS
            files: list[ParsedFile] = []
            known: dict[str, tuple[FileKey, ParsedFile]] = {}
            for path in corpus_file_names(self.corpus_dir):
                files.append(self._read(path, settled_before, known))
            self._known = known
        return unique_ids(files)

    def _read(
        self, path: str, settled_before: int, known: dict[str, tuple[FileKey, ParsedFile]]
    ) -> ParsedFile:
        try:
            stat = os.stat(path)  # before reading: a change after it gives the next scan a new key
        except OSError:
            stat = None
        key = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns) if stat else None
        cached = self._known.get(path)
        if key is not None and cached is not None and cached[0] == key:
            known[path] = cached
            return cached[1]
        parsed = read_document(Path(path), self.corpus_dir)
        self.parsed += 1
        if key is not None and key[2] < settled_before:
            known[path] = (key, parsed)
        return parsed


def _document(fields: dict[str, Any]) -> Document:
    updated = fields.get("updated")
    return Document(
        **{
            **fields,
            "tags": tuple(fields["tags"]),
            "updated": date.fromisoformat(updated) if updated else None,
        }
    )
