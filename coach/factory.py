"""Building the coach from settings: the one place where settings become objects."""

from __future__ import annotations

from coach.engine import Coach
from coach.generate.extractive import ExtractiveComposer
from coach.generate.llm import LLMConfig, LLMGenerator
from coach.generate.protocol import Generator
from coach.index.embedders import Embedder, make_embedder
from coach.ingest.didactics import load_didactics
from coach.retrieve.retriever import Fusion, Retriever
from coach.settings import Settings


def build_generator(settings: Settings) -> Generator:
    composer = ExtractiveComposer()
    if not settings.llm_base_url:
        return composer
    config = LLMConfig(
        base_url=settings.llm_base_url,
        model=settings.llm_model,
        api_key=settings.llm_api_key.get_secret_value(),
        timeout=settings.llm_timeout,
        temperature=settings.llm_temperature,
    )
    return LLMGenerator(config, fallback=composer)


def build_embedder(settings: Settings) -> Embedder:
    return make_embedder(settings.embedding_model, batch_size=settings.embedding_batch_size)


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
