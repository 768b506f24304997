"""A generator that falls back: the primary one answers, or the fallback does with a note."""

from __future__ import annotations

import logging

from coach.generate.protocol import GenerationError, GenerationRequest, GenerationResult, Generator


class FallbackGenerator:
    """Wraps a generator that may fail (an LLM) around one that cannot (the offline composer)."""

    def __init__(self, primary: Generator, fallback: Generator) -> None:
        self.primary = primary
        self.fallback = fallback

    @property
    def name(self) -> str:
        return self.primary.name

    def generate(self, request: GenerationRequest) -> GenerationResult:
        try:
            return self.primary.generate(request)
        except GenerationError as exc:
            # Which model and why (an upstream status, a timeout) is for the log, not the caller.
            described = getattr(self.primary, "description", self.primary.name)
            logging.getLogger(__name__).warning("%s gave no usable answer: %s", described, exc)
            result = self.fallback.generate(request)
            result.notes.insert(
                0,
                "The language model gave no usable answer; these suggestions come from the "
                "offline composer.",
            )
            return result
