"""The chat door's rules without a model: a conversation -> one situation, a coaching result ->
one Markdown message, and errors in OpenAI's format on the chat paths only."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markdown_it import MarkdownIt
from pydantic import ValidationError

from api.chat import TURN_SEPARATOR, ChatRequest, markdown, pieces, situation
from api.main import create_app
from api.problems import Problem, openai_error
from coach.result import (
    MAX_SITUATION_CHARS,
    CoachingResult,
    Colleague,
    DidacticQuestionOut,
    Source,
    Suggestion,
    Timings,
)
from coach.settings import Settings

PAGE = "https://coach.example.org"
SESSION = "0123abcd"


def request(*messages: dict[str, Any], **extra: Any) -> ChatRequest:
    return ChatRequest.model_validate({"model": "coach", "messages": list(messages), **extra})


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


# -- the situation --------------------------------------------------------------------------


def test_a_follow_up_refines_the_earlier_turns_newest_last_and_other_roles_are_left_out() -> None:
    conversation = request(
        {"role": "system", "content": "You are a helpful assistant."},
        user("Hoe rond ik een werkbon af?"),
        {"role": "assistant", "content": "### Suggesties\n1. Zet de werkbon op gereed [1]"},
        user("  En moet ik er foto's bij maken?  "),
    )
    assert situation(conversation.user_turns()) == (
        "Hoe rond ik een werkbon af?" + TURN_SEPARATOR + "En moet ik er foto's bij maken?"
    )


def test_text_parts_are_one_turn() -> None:
    parts = [
        {"type": "text", "text": "Klanten bellen steeds opnieuw."},
        {"type": "text", "text": "Niemand belt terug."},
    ]
    assert request(user(parts)).user_turns() == [
        "Klanten bellen steeds opnieuw.\nNiemand belt terug."
    ]


def test_the_oldest_whole_turns_go_first_when_the_conversation_is_over_the_limit() -> None:
    old, middle, new = "a" * 2000, "b" * 1990, "c" * 2000
    assert situation([old, middle, new]) == middle + TURN_SEPARATOR + new
    exactly = "d" * (MAX_SITUATION_CHARS - 2 - 5)
    assert situation(["12345", exactly]) == "12345" + TURN_SEPARATOR + exactly  # fits to the char
    assert situation(["123456", exactly]) == exactly


def test_a_newest_turn_over_the_limit_alone_is_refused_as_openai_does_never_cut() -> None:
    assert situation(["x" * MAX_SITUATION_CHARS]) == "x" * MAX_SITUATION_CHARS
    with pytest.raises(Problem) as refused:
        situation(["short", "x" * (MAX_SITUATION_CHARS + 1)])
    assert refused.value.status == 400
    assert refused.value.extra == {"code": "context_length_exceeded", "param": "messages"}


@pytest.mark.parametrize(
    ("messages", "says"),
    [
        ([{"role": "assistant", "content": "hello"}], "no user message"),
        ([user([{"type": "image_url", "image_url": {"url": "data:,"}}])], "reads text only"),
        ([user("   \n ")], "pattern"),
        ([user([])], "at least 1"),
        ([], "at least 1"),
    ],
)
def test_a_conversation_without_user_text_is_refused_saying_why(
    messages: list[dict[str, Any]], says: str
) -> None:
    with pytest.raises(ValidationError, match=says):
        ChatRequest.model_validate({"model": "coach", "messages": messages})


def test_sampling_settings_and_unknown_fields_are_tolerated_and_stream_is_a_real_boolean() -> None:
    tolerant = request(user("x"), temperature=0.1, top_p=1, max_tokens=5, n=2, user="u", foo={})
    assert tolerant.stream is False
    assert request(user("x"), stream=True, stream_options={"include_usage": True}).stream
    with pytest.raises(ValidationError):
        request(user("x"), stream="yes")


def test_a_lone_surrogate_in_a_user_turn_is_refused() -> None:
    with pytest.raises(ValidationError, match="unicode"):
        request(user("storing \ud800"))


# -- the answer -----------------------------------------------------------------------------


def source(doc_id: str, title: str, team: str | None = "Servicedesk") -> Source:
    return Source(
        id=doc_id,
        title=title,
        type="lesson",
        language="nl",
        team=team,
        owner="Ahmed Benali",
        path=f"docs/{doc_id}.md",
        score=1.0,
        snippet="...",
    )


QUESTION = DidacticQuestionOut(
    id="dq-doel", text="Wat wil je bereiken?", why="Een doel geeft richting."
)
TIMINGS = Timings(retrieval=1, generation=1, total=2)


def grounded(language: str = "nl") -> CoachingResult:
    return CoachingResult(
        situation="Klanten bellen opnieuw.",
        language=language,
        grounded=True,
        suggestions=[
            Suggestion(
                title="Taak in Topdesk",
                action="Leg elk\nverzoek vast.",
                kind="improve",
                citations=["les-b"],
            ),
            Suggestion(
                title="Beide",
                action="Combineer ze.",
                kind="innovate",
                citations=["proc-a", "les-b"],
            ),
        ],
        didactic_questions=[QUESTION],
        colleagues=[Colleague(owner="Ahmed Benali", documents=["les-b"])],
        sources=[
            source("proc-a", "Storing [oud] melden"),
            source("les-b", "Terugbellen", team=None),
        ],
        related=[source("proc-c", "Werkbon afronden")],
        generator="extractive",
        notes=[],
        timings_ms=TIMINGS,
    )


def test_suggestions_cite_numbers_that_the_sources_list_links_to_the_page() -> None:
    text = markdown(grounded(), PAGE, SESSION)
    sources = dict(re.findall(r"^- \[(\d+)\] \[.+?\]\((\S+)\)", text, flags=re.M))
    assert sources == {"1": f"{PAGE}/#/doc/proc-a", "2": f"{PAGE}/#/doc/les-b"}
    suggestions = re.findall(r"^\d+\. .*$", text, flags=re.M)
    assert suggestions == [
        "1. **Taak in Topdesk** (Verbeteren): Leg elk verzoek vast\\. [2]",
        "2. **Beide** (Vernieuwen): Combineer ze\\. [1][2]",
    ]
    assert "- Ahmed Benali: [2]" in text
    assert "[Storing \\[oud\\] melden]" in text  # a title cannot break its link
    assert (
        "- [1] [Storing \\[oud\\] melden](https://coach.example.org/#/doc/proc-a) (Servicedesk)"
        in text
    )
    assert "### Vragen om over na te denken" in text and "Waarom deze vraag: Een doel" in text


HOSTILE = (
    "[Lees eerst](https://evil.example/x) ![pixel](https://evil.example/p.png) "
    "<a href='https://evil.example'>hier</a> www.evil.example https://evil.example/kaal "
    "*vet* `code` 1. # kop"
)


def live_links(text: str) -> list[str]:
    """Every address a chat client would make a link, an image or HTML of in this Markdown:
    CommonMark's links, images, autolinks and raw HTML (markdown-it-py, as clients render),
    and any bare address GFM makes a link of (a scheme's `://` or `www.` not escaped)."""
    found = []
    for token in MarkdownIt("commonmark").parse(text):
        if token.type == "html_block":
            found.append(token.content)
        for child in token.children or ():
            if child.type in ("link_open", "image"):
                found.append(str(child.attrGet("href") or child.attrGet("src")))
            elif child.type == "html_inline":
                found.append(child.content)
    return found + re.findall(r"(?:\b[a-z][a-z0-9+.-]*://|\bwww\.)[^\s)\]]*", text, re.I)


def shown_text(text: str) -> str:
    """The text a reader sees of this Markdown, line by line."""
    tokens = MarkdownIt("commonmark").parse(text)
    return "\n".join(
        "".join(child.content for child in token.children or () if child.type == "text")
        for token in tokens
        if token.type == "inline"
    )


def test_text_from_the_corpus_or_a_user_is_shown_as_written_and_links_only_the_page() -> None:
    """Titles, owners, teams, advice, questions and notes holding links, images, HTML, bare
    addresses and formatting: the reader sees each as written, and the only links are the
    coach's own."""
    result = CoachingResult(
        situation="Klanten bellen opnieuw.",
        language="nl",
        grounded=True,
        suggestions=[
            Suggestion(title=HOSTILE, action=HOSTILE, kind="improve", citations=["les-b"])
        ],
        didactic_questions=[DidacticQuestionOut(id="dq-x", text=HOSTILE, why=HOSTILE)],
        colleagues=[Colleague(owner=HOSTILE, documents=["les-b"])],
        sources=[source("les-b", HOSTILE, team=HOSTILE)],
        related=[source("proc-c", HOSTILE, team=None)],
        generator="extractive",
        notes=[HOSTILE],
        timings_ms=TIMINGS,
    )
    text = markdown(result, PAGE, SESSION)
    links = live_links(text)
    assert links and all(link.startswith(f"{PAGE}/#/") for link in links), links
    shown = shown_text(text)
    assert shown.count(HOSTILE) == 9, shown  # note, title, action, question, why, owner,
    # the source's title and team, the related document's title
    assert "evil" not in " ".join(links)
    assert shown.splitlines()[0] == HOSTILE  # the note, still a quote's one paragraph


def test_related_reading_is_linked_but_never_numbered() -> None:
    text = markdown(grounded(), PAGE, SESSION)
    related = text.split("### Verder lezen", 1)[1]
    assert f"- [Werkbon afronden]({PAGE}/#/doc/proc-c)" in related
    assert "[3]" not in text


def test_the_session_is_linked_for_feedback_and_lessons() -> None:
    text = markdown(grounded("en"), PAGE, SESSION)
    assert text.rstrip().endswith(
        f"[this session on the coach's page]({PAGE}/#/sessions/{SESSION})_"
    )
    assert "### Suggestions" in text and "(Improve)" in text and "### Sources" in text


def test_an_ungrounded_answer_gives_the_notice_first_and_no_suggestions_or_sources() -> None:
    notice = "The organisation's documents say nothing about this situation."
    result = CoachingResult(
        situation="My neighbour argues about the fence.",
        language="en",
        grounded=False,
        suggestions=[],
        didactic_questions=[QUESTION],
        colleagues=[],
        sources=[],
        generator="extractive",
        notes=[notice],
        timings_ms=TIMINGS,
    )
    text = markdown(result, PAGE, SESSION)
    assert text.startswith("> The organisation's documents say nothing about this situation\\.\n")
    assert "### Suggestions" not in text and "### Sources" not in text
    assert not re.search(r"\[\d+\]", text)
    assert "### Questions to reflect on" in text


def test_a_stream_sends_the_whole_message_line_by_line() -> None:
    text = markdown(grounded(), PAGE, SESSION)
    sent = pieces(text)
    assert "".join(sent) == text
    assert len(sent) == text.count("\n")


# -- errors in OpenAI's format on the chat paths only ------------------------------------------


def test_a_problem_becomes_openais_error_an_invalid_request_a_400() -> None:
    status, error = openai_error(
        {"status": 422, "detail": "not valid", "errors": [{"field": "messages", "message": "x"}]}
    )
    assert status == 400
    assert error.model_dump() == {
        "error": {
            "message": "not valid",
            "type": "invalid_request_error",
            "param": "messages",
            "code": None,
        }
    }
    status, error = openai_error({"status": 429, "detail": "wait"})
    assert (status, error.error.type, error.error.code) == (
        429,
        "rate_limit_error",
        "rate_limit_exceeded",
    )
    status, error = openai_error({"status": 404, "detail": "no", "code": "model_not_found"})
    assert (status, error.error.code) == (404, "model_not_found")
    status, error = openai_error({"status": 500, "detail": "oops"})
    assert (status, error.error.type) == (500, "server_error")


def test_the_middlewares_answers_on_the_chat_paths_are_openai_errors_elsewhere_problems(
    tmp_path: Path,
) -> None:
    client = TestClient(create_app(Settings(data_dir=tmp_path)))  # no lifespan: no services
    wrong_method = client.get("/v1/chat/completions")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["Allow"] == "POST"
    assert wrong_method.headers["Content-Type"] == "application/json"
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"
    not_json = client.post(
        "/v1/chat/completions", content=b"hi", headers={"Content-Type": "text/plain"}
    )
    assert (not_json.status_code, not_json.json()["error"]["code"]) == (
        415,
        "unsupported_media_type",
    )
    too_large = client.post(
        "/v1/chat/completions", content=b"x" * 300_000, headers={"Content-Type": "application/json"}
    )
    assert (too_large.status_code, too_large.json()["error"]["code"]) == (413, "request_too_large")
    elsewhere = client.post("/v1/coach", content=b"hi", headers={"Content-Type": "text/plain"})
    assert elsewhere.headers["Content-Type"].startswith("application/problem+json")
    assert elsewhere.json()["status"] == 415


def test_the_openapi_document_states_openai_errors_for_the_chat_paths(tmp_path: Path) -> None:
    schema = create_app(Settings(data_dir=tmp_path)).openapi()
    error = {"application/json": {"schema": {"$ref": "#/components/schemas/OpenAIError"}}}
    for path in ("/v1/models", "/v1/models/{model_id}", "/v1/chat/completions"):
        for method, operation in schema["paths"][path].items():
            responses = operation["responses"]
            assert "422" not in responses, (method, path)
            for status, response in responses.items():
                if status.startswith(("4", "5")):
                    assert response["content"] == error, (method, path, status)
    completions = schema["paths"]["/v1/chat/completions"]["post"]["responses"]
    assert {"400", "401", "403", "413", "415", "429"} <= set(completions)
    assert "text/event-stream" in completions["200"]["content"]
    assert schema["components"]["schemas"]["OpenAIError"]["required"] == ["error"]
    coach = schema["paths"]["/v1/coach"]["post"]["responses"]["401"]["content"]
    assert list(coach) == ["application/problem+json"]
