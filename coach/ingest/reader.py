"""Reading a corpus folder again and again, parsing only the files that changed since: the
API's reads (`coach.ingest.curation`) and the indexer's runs share one reader per folder, so a
curator's save or a no-op `coach index` costs the files that changed, not the corpus."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from coach.ingest.corpus import (
    CorpusScan,
    ParsedFile,
    iter_corpus_files,
    read_document,
    require_corpus,
    unique_ids,
)

# A file modified less than this long before a scan may still change within the same
# timestamp tick (1-10 ms on Linux, up to 2 s on FAT), so its stat cannot vouch for it yet.
SETTLE_NS = 2 * 10**9

FileKey = tuple[int, int, int, int]


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
        self._known: dict[Path, tuple[FileKey, ParsedFile]] = {}
        self._lock = threading.Lock()

    def scan(self) -> CorpusScan:
        require_corpus(self.corpus_dir)
        with self._lock:
            self.scans += 1
            settled_before = time.time_ns() - SETTLE_NS
            files: list[ParsedFile] = []
            known: dict[Path, tuple[FileKey, ParsedFile]] = {}
            for path in iter_corpus_files(self.corpus_dir):
                files.append(self._read(path, settled_before, known))
            self._known = known
        return unique_ids(files)

    def _read(
        self, path: Path, settled_before: int, known: dict[Path, tuple[FileKey, ParsedFile]]
    ) -> ParsedFile:
        try:
            stat = path.stat()  # before reading: a change after it gives the next scan a new key
        except OSError:
            stat = None
        key = (stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns) if stat else None
        cached = self._known.get(path)
        if key is not None and cached is not None and cached[0] == key:
            known[path] = cached
            return cached[1]
        parsed = read_document(path, self.corpus_dir)
        self.parsed += 1
        if key is not None and key[2] < settled_before:
            known[path] = (key, parsed)
        return parsed
