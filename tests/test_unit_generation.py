"""An LLM's reply checked into cited suggestions, and the fallback around a failing generator
(no model, no server: `parse_answer` is a function of the reply text)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from coach.generate.fallback import FallbackGenerator
from coach.generate.llm import LLMError, parse_answer
from coach.generate.protocol import GenerationRequest, GenerationResult, SourceDocument
from coach.result import Suggestion
from coach.testing import FixedGenerator

KNOWN = {"proc-a", "les-b"}


def reply(*suggestions: dict[str, Any]) -> str:
    return json.dumps({"suggestions": list(suggestions)})


def suggestion(citations: list[str], action: str = "Bel de klant terug.", **fields: Any) -> Any:
    raw = {"title": "Terugbellen", "action": action, "kind": "improve", "citations": citations}
    return raw | fields


def test_a_plain_json_reply_is_used_as_it_is() -> None:
    result = parse_answer(reply(suggestion(["proc-a"]), suggestion(["les-b", "proc-a"])), KNOWN)
    assert [s.citations for s in result.suggestions] == [["proc-a"], ["les-b", "proc-a"]]
    assert result.proposed_citations == ["proc-a", "les-b", "proc-a"]
    assert result.notes == [] and result.generator == "llm"


@pytest.mark.parametrize("fence", ["```json\n{}\n```", "```\n{}\n```", "  ```json\n{}\n```  \n"])
def test_a_fenced_reply_is_unwrapped(fence: str) -> None:
    content = fence.replace("{}", reply(suggestion(["proc-a"])))
    result = parse_answer(content, KNOWN)
    assert [s.citations for s in result.suggestions] == [["proc-a"]]


@pytest.mark.parametrize(
    "content",
    [
        None,
        "",
        "{not json",
        '{"suggestions": "none"}',
        '{"answer": []}',
        '{"suggestions": [{"title": "t", "action": "a", "kind": "improve"}]}',  # no citations
        "Here are my suggestions: bel terug.",
    ],
)
def test_a_reply_that_is_not_the_requested_json_is_an_llm_error(content: str | None) -> None:
    with pytest.raises(LLMError):
        parse_answer(content, KNOWN)


def test_unknown_citations_are_dropped_counted_and_still_proposed() -> None:
    content = reply(
        suggestion(["proc-a", "made-up", "proc-a"]),  # keeps proc-a once
        suggestion(["also-made-up"]),  # left without a valid source: removed
        suggestion(["les-b"], action="   "),  # no action: removed
    )
    result = parse_answer(content, KNOWN)
    assert [s.citations for s in result.suggestions] == [["proc-a"]]
    # Scored by the citation-validity metric: everything proposed, in order, before checking.
    assert result.proposed_citations == ["proc-a", "made-up", "proc-a", "also-made-up", "les-b"]
    assert result.notes == [
        "Removed 2 citation(s) of documents that were not retrieved and 2 suggestion(s) left "
        "without a valid source."
    ]


def test_nothing_cited_validly_is_an_llm_error() -> None:
    with pytest.raises(LLMError, match="no suggestion cited a retrieved document"):
        parse_answer(reply(suggestion(["made-up"]), suggestion([])), KNOWN)
    with pytest.raises(LLMError):
        parse_answer(reply(), KNOWN)  # an empty list of suggestions


def test_markdown_is_stripped_and_an_unknown_kind_becomes_improve() -> None:
    content = reply(suggestion(["proc-a"], action="**Bel** de klant `vandaag` terug.", kind="x"))
    (only,) = parse_answer(content, KNOWN).suggestions
    assert only.action == "Bel de klant vandaag terug." and only.kind == "improve"


REQUEST = GenerationRequest(
    situation="Klanten worden niet teruggebeld.",
    language="nl",
    documents=(
        SourceDocument(
            id="proc-a",
            title="Terugbellen",
            type="procedure",
            language="nl",
            team=None,
            owner=None,
            sections=(("Stappen", "1. Bel terug."),),
        ),
    ),
)


class Described(FixedGenerator):
    description = "The language model (test)"


def test_the_fallback_answers_with_a_note_when_the_primary_fails(
    caplog: pytest.LogCaptureFixture,
) -> None:
    primary = Described(error="no answer within 0.5 s", label="llm:test")
    fallback = FixedGenerator(label="fallback")
    generator = FallbackGenerator(primary, fallback)
    assert generator.name == "llm:test"
    result = generator.generate(REQUEST)
    assert result.generator == "fallback" and result.suggestions[0].citations == ["proc-a"]
    # The caller hears that it fell back; which model and why is for the server log.
    assert result.notes[0] == (
        "The language model gave no usable answer; these suggestions come from the offline "
        "composer."
    )
    assert "The language model (test) gave no usable answer: no answer within 0.5 s" in caplog.text
    assert len(primary.requests) == len(fallback.requests) == 1


def test_a_primary_without_a_description_is_named_in_the_log(
    caplog: pytest.LogCaptureFixture,
) -> None:
    result = FallbackGenerator(FixedGenerator(error="HTTP 500"), FixedGenerator()).generate(REQUEST)
    assert "HTTP 500" not in result.notes[0]
    assert "testing:fixed gave no usable answer: HTTP 500" in caplog.text


def test_the_primary_answers_when_it_can_and_the_fallback_is_not_asked() -> None:
    given = [Suggestion(title="t", action="a", kind="skill", citations=["proc-a"])]
    fallback = FixedGenerator(label="fallback")
    result = FallbackGenerator(FixedGenerator(given, label="primary"), fallback).generate(REQUEST)
    assert result.generator == "primary" and result.suggestions == given and result.notes == []
    assert fallback.requests == []


def test_other_errors_are_not_swallowed() -> None:
    class Broken(FixedGenerator):
        def generate(self, request: GenerationRequest) -> GenerationResult:
            raise ValueError("a bug, not an unusable answer")

    with pytest.raises(ValueError, match="a bug"):
        FallbackGenerator(Broken(), FixedGenerator()).generate(REQUEST)
