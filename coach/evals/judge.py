"""The LLM judge for `coach eval --judge`: Ragas' LLM metrics (faithfulness, response relevancy,
context precision with reference, context recall), asked of any OpenAI-compatible chat model."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from coach.errors import CoachError
from coach.index.embedders import Embedder

JUDGE_METRICS = (
    "faithfulness",
    "answer_relevancy",
    "llm_context_precision_with_reference",
    "context_recall",
)


class JudgeError(CoachError):
    """The judge is not configured, unreachable, or gave no usable verdict."""


@dataclass(frozen=True)
class JudgeConfig:
    base_url: str
    model: str
    api_key: str
    timeout: float

    def describe(self) -> dict[str, str]:
        return {"judge_model": self.model, "judge_base_url": self.base_url}


def missing_judge_message() -> str:
    return (
        "--judge needs an OpenAI-compatible judge: set COACH_JUDGE_BASE_URL (for example "
        "https://api.openai.com/v1 or http://localhost:11434/v1), COACH_JUDGE_MODEL and, when "
        "the endpoint wants one, COACH_JUDGE_API_KEY"
    )


def preflight(config: JudgeConfig) -> None:
    """One tiny request, so a wrong URL, model or key fails in a second with a clear message
    rather than as a column of empty scores after a long run."""
    from openai import OpenAI, OpenAIError

    client = OpenAI(base_url=config.base_url, api_key=config.api_key, timeout=config.timeout)
    try:
        client.chat.completions.create(
            model=config.model, messages=[{"role": "user", "content": "Reply with OK."}]
        )
    except OpenAIError as exc:
        raise JudgeError(
            f"the judge at {config.base_url} (model {config.model}) did not answer: {exc}. "
            "Check COACH_JUDGE_BASE_URL, COACH_JUDGE_MODEL and COACH_JUDGE_API_KEY."
        ) from exc


class _RagasEmbeddings:
    """Our embedder in the shape Ragas' response relevancy asks for (it compares the question
    the judge infers from an answer with the situation)."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text)

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return self.embedder.embed_passages(list(texts))

    async def aembed_query(self, text: str) -> list[float]:
        return await asyncio.to_thread(self.embed_query, text)

    async def aembed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(self.embed_documents, texts)


def judge_scores(
    config: JudgeConfig, embedder: Embedder, samples: list[Any], show_progress: bool = True
) -> tuple[list[dict[str, float]], int]:
    """Per sample, the judged metrics that came back (a failed judgement is left out, not
    scored 0), and how many judgements failed."""
    from langchain_openai import ChatOpenAI
    from ragas import EvaluationDataset, evaluate
    from ragas.embeddings import BaseRagasEmbeddings
    from ragas.llms import LangchainLLMWrapper
    from ragas.metrics import (
        Faithfulness,
        LLMContextPrecisionWithReference,
        LLMContextRecall,
        ResponseRelevancy,
    )
    from ragas.run_config import RunConfig

    class Embeddings(_RagasEmbeddings, BaseRagasEmbeddings):
        def __init__(self, embedder: Embedder) -> None:
            BaseRagasEmbeddings.__init__(self)
            _RagasEmbeddings.__init__(self, embedder)

    chat = ChatOpenAI(
        base_url=config.base_url,
        model=config.model,
        api_key=config.api_key,
        timeout=config.timeout,
        max_retries=2,
        temperature=0,
    )
    llm = LangchainLLMWrapper(chat)
    metrics = [
        Faithfulness(llm=llm),
        ResponseRelevancy(llm=llm, embeddings=Embeddings(embedder), strictness=1),
        LLMContextPrecisionWithReference(llm=llm),
        LLMContextRecall(llm=llm),
    ]
    evaluated: Any = evaluate(
        EvaluationDataset(samples=samples),
        metrics=metrics,
        show_progress=show_progress,
        raise_exceptions=False,
        run_config=RunConfig(timeout=int(config.timeout), max_retries=2, max_workers=4),
    )
    frame = evaluated.to_pandas()
    rows: list[dict[str, float]] = []
    failed = 0
    for _, row in frame.iterrows():
        scores = {}
        for name in JUDGE_METRICS:
            value = float(row[name])
            if math.isnan(value):
                failed += 1
            else:
                scores[name] = value
        rows.append(scores)
    if rows and failed == len(rows) * len(JUDGE_METRICS):
        raise JudgeError(
            f"the judge at {config.base_url} (model {config.model}) gave no usable verdict on "
            f"{len(rows)} cases; it must answer in the JSON each Ragas prompt asks for"
        )
    return rows, failed
