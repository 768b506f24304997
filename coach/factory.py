"""The composition root: the one place where settings become objects.

`build_services(settings)` is what `coach index`, `coach serve`, `coach eval` and the API's
lifespan all call; nothing else wires an embedder to a store, a retriever, a coach or an indexer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from coach.engine import Coach
from coach.generate.extractive import ExtractiveComposer
from coach.generate.protocol import Generator
from coach.index.embedders import Embedder, make_embedder
from coach.index.indexer import Indexer
from coach.ingest.didactics import load_didactics
from coach.retrieve.fusion import Fusion
from coach.retrieve.retriever import Retriever
from coach.settings import Settings


@dataclass
class Services:
    """What one process needs, built once from settings. The coach is built on first use, so
    `coach index` never loads the didactic questions or the retriever."""

    settings: Settings
    embedder: Embedder
    indexer: Indexer
    _coaches: list[Coach] = field(default_factory=list, repr=False)

    @cached_property
    def coach(self) -> Coach:
        coach = build_coach(self.settings, self.embedder)
        self._coaches.append(coach)
        return coach

    def close(self) -> None:
        for coach in self._coaches:
            coach.close()
        self._coaches.clear()


def build_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    embedder = embedder or build_embedder(settings)
    return Services(settings=settings, embedder=embedder, indexer=build_indexer(settings, embedder))


def build_generator(settings: Settings) -> Generator:
    composer = ExtractiveComposer()
    if not settings.llm_base_url:
        return composer
    from coach.generate.fallback import FallbackGenerator
    from coach.generate.llm import LLMConfig, LLMGenerator

    config = LLMConfig(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value(),
        timeout=settings.llm_timeout,
        temperature=settings.llm_temperature,
    )
    return FallbackGenerator(LLMGenerator(config), fallback=composer)


def build_embedder(settings: Settings) -> Embedder:
    return make_embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)


def build_indexer(settings: Settings, embedder: Embedder) -> Indexer:
    return Indexer(
        embedder,
        settings.store_location(),
        settings.chunk_tokens,
        group_chunks=settings.index_group_chunks,
    )


def build_coach(settings: Settings, embedder: Embedder | None = None) -> Coach:
    embedder = embedder or build_embedder(settings)
    return Coach(
        retriever=Retriever(
            embedder,
            settings.store_location(),
            Fusion(
                dense=settings.fusion_dense_weight,
                items=settings.fusion_item_weight,
                lexical=settings.fusion_lexical_weight,
            ),
        ),
        didactics=load_didactics(settings.didactics_path()),
        generator=build_generator(settings),
        grounding_threshold=settings.grounding_threshold,
        grounding_score=settings.grounding_score,
    )
