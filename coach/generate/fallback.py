"""A generator that falls back: the primary one answers, or the fallback does with a note."""

from __future__ import annotations

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
            result = self.fallback.generate(request)
            described = getattr(self.primary, "description", self.primary.name)
            result.notes.insert(
                0,
                f"{described} gave no usable answer ({exc}); these suggestions come from the "
                f"offline composer.",
            )
            return result
