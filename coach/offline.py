"""Keep the process offline: every library that could reach for the network is told not to."""

from __future__ import annotations

import os
from pathlib import Path


def offline_environment() -> None:
    """Keep every library that could reach for the network offline (nothing is downloaded)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")  # our own bar is the one to see
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    try:
        import importlib.util

        spec = importlib.util.find_spec("llama_index.core")
        if spec and spec.submodule_search_locations:
            cache = Path(next(iter(spec.submodule_search_locations))) / "_static" / "tiktoken_cache"
            os.environ.setdefault("TIKTOKEN_CACHE_DIR", str(cache))
    except ImportError:  # pragma: no cover - llama-index is a dependency
        pass
