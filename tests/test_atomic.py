"""A file written with write_atomic is always the old or the new version, even when the writer
is killed mid-write."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coach.atomic import write_atomic

WRITER = """
import sys
from pathlib import Path
from coach.atomic import write_atomic
target = Path(sys.argv[1])
versions = [b"A" * 2_000_000, b"B" * 2_000_000]
i = 0
print("ready", flush=True)
while True:
    write_atomic(target, versions[i % 2])
    i += 1
"""


def test_killed_writer_leaves_a_whole_version(tmp_path: Path) -> None:
    target = tmp_path / "doc.md"
    write_atomic(target, b"A" * 2_000_000)
    for _ in range(5):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)], stdout=subprocess.PIPE, text=True
        )
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        time.sleep(0.3)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        content = target.read_bytes()
        assert content in (b"A" * 2_000_000, b"B" * 2_000_000)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "doc.md"
    write_atomic(target, b"old")
    with pytest.raises(TypeError):
        write_atomic(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["doc.md"]
