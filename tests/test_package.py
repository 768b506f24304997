"""The package itself: a cheap import with no side effects, and settings that reach the store."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from coach.settings import Settings


def test_import_loads_no_heavy_stack_and_reads_no_environment() -> None:
    code = (
        "import os, sys\n"
        "before = dict(os.environ)\n"
        "import coach\n"
        "heavy = {'torch', 'chromadb', 'sentence_transformers', 'llama_index.core'}\n"
        "heavy &= set(sys.modules)\n"
        "assert not heavy, heavy\n"
        "assert dict(os.environ) == before\n"
        "assert coach.Settings.__name__ == 'Settings'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_settings_choose_embedded_or_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COACH_INDEX_DIR", "/data/idx")
    embedded = Settings().store_location()
    assert (embedded.path, embedded.host) == (Path("/data/idx"), None)
    monkeypatch.setenv("COACH_CHROMA_HOST", "chroma.internal")
    monkeypatch.setenv("COACH_CHROMA_PORT", "8123")
    server = Settings().store_location()
    assert (server.path, server.host, server.port) == (None, "chroma.internal", 8123)
    assert "chroma.internal:8123" in server.describe()


def test_bad_setting_is_rejected(monkeypatch: pytest.MonkeyPatch) -> None:
    from pydantic import ValidationError

    monkeypatch.setenv("COACH_CHROMA_COLLECTION", "x")
    with pytest.raises(ValidationError, match="chroma_collection"):
        Settings()
