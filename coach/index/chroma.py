"""Chroma's client, opened and closed the one way this project does, and its errors turned
into ours."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from coach.errors import IndexNotFoundError, StoreUnavailableError
from coach.index.records import StoreLocation

BATCH = 1000  # Chroma rejects very large single writes; stay well under its limit.


def open_client(location: StoreLocation, folder: Path | None = None) -> Any:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    try:
        if location.host:
            return chromadb.HttpClient(
                host=location.host, port=location.port, ssl=location.ssl, settings=chroma_settings
            )
        assert folder is not None
        return chromadb.PersistentClient(path=str(folder), settings=chroma_settings)
    except Exception as exc:  # chromadb raises ValueError/ConnectionError/its own errors
        raise StoreUnavailableError(
            f"cannot open the {location.describe()}: {exc}. Check that the folder is writable or "
            "that the server runs (COACH_CHROMA_HOST / COACH_CHROMA_PORT)."
        ) from exc


def close_client(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is not None:
        close()


def batches(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), BATCH):
        yield items[start : start + BATCH]


def guarded(location: StoreLocation, call: Any) -> Any:
    """Run a Chroma call, turning vendor errors into ours."""
    from chromadb.errors import NotFoundError

    try:
        return call()
    except NotFoundError as exc:
        raise IndexNotFoundError(f"no index in the {location.describe()}: {exc}") from exc
    except (ConnectionError, OSError) as exc:
        raise StoreUnavailableError(f"the {location.describe()} is unreachable: {exc}") from exc
    except Exception as exc:
        if exc.__class__.__module__.startswith(("httpx", "httpcore")):
            raise StoreUnavailableError(f"the {location.describe()} is unreachable: {exc}") from exc
        raise


def import_chroma() -> None:
    """Import Chroma now (about a second): the in-memory path reads an index without it, so a
    server would otherwise import it at its first write."""
    import chromadb  # noqa: F401
