"""The coach as a chat model, through the real `openai` client against a real `coach serve`:
what a chat client (Open WebUI, LibreChat) sends and reads."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from openai import OpenAI

from coach.keys import KeyStore
from coach.vocabulary import Role
from tests.api_support import running_service
from tests.test_unit_chat import live_links, shown_text

DUTCH = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."
ENGLISH = "Customers say the house stays cold after we install a heat pump."
OUT_OF_SCOPE = "Mijn buurman maakt al weken ruzie over de schutting tussen onze tuinen."
FIRST, FOLLOW_UP = "Hoe rond ik een werkbon af?", "En moet ik er foto's bij maken?"
PER_MINUTE = 3  # coaching requests per user a minute: each test has a user of its own


class Service:
    def __init__(self, base: str, keys: KeyStore) -> None:
        self.base = base
        self.keys = keys

    def key(self, role: Role = "professional") -> str:
        """A key of a new user (the service re-reads the keys file when it changes)."""
        return self.keys.add(f"user-{uuid.uuid4().hex[:8]}", role)

    def client(self, key: str, headers: dict[str, str] | None = None) -> OpenAI:
        return OpenAI(
            base_url=f"{self.base}/v1",
            api_key=key,
            max_retries=0,
            timeout=60,
            default_headers=headers,
        )

    def get(self, key: str, path: str) -> httpx.Response:
        return httpx.get(self.base + path, headers={"Authorization": f"Bearer {key}"}, timeout=30)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    root = tmp_path_factory.mktemp("chat")
    keys_file = root / "keys.json"
    store = KeyStore(keys_file)
    store.add("nobody", "professional")  # the file exists before the service starts
    environment = {
        "COACH_API_KEYS_FILE": str(keys_file),
        "COACH_RATE_COACH_PER_MINUTE": str(PER_MINUTE),
    }
    with running_service(root, env=environment) as base:
        yield Service(base, store)


def ask(client: OpenAI, *turns: str | dict[str, str], **options: Any) -> tuple[str, str]:
    """The answer's Markdown and its session id, for a conversation of user turns (a string)
    and other turns (a message)."""
    messages: list[Any] = [
        {"role": "user", "content": t} if isinstance(t, str) else t for t in turns
    ]
    raw = client.chat.completions.with_raw_response.create(
        model="coach", messages=messages, **options
    )
    completion = raw.parse()
    session_id = raw.headers["X-Session-Id"]
    assert completion.id == f"chatcmpl-{session_id}"
    assert completion.object == "chat.completion"
    [choice] = completion.choices
    assert (choice.message.role, choice.finish_reason) == ("assistant", "stop")
    assert completion.usage is not None and completion.usage.total_tokens == 0  # documented
    assert choice.message.content is not None
    return choice.message.content, session_id


def citations_match_sources(answer: str, base: str) -> dict[int, str]:
    """Every `[n]` a suggestion or colleague cites has its line in the sources list, which
    links the document on the web page; the cited documents by number."""
    sources = {
        int(number): doc_id
        for number, doc_id in re.findall(
            rf"^- \[(\d+)\] \[[^\]]+\]\({re.escape(base)}/#/doc/([a-z0-9-]+)\)", answer, re.M
        )
    }
    body = answer.split("### Bronnen")[0].split("### Sources")[0]
    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body)}
    assert cited, answer
    assert cited <= set(sources), answer
    assert sorted(sources) == list(range(1, len(sources) + 1))
    return sources


def test_the_models_list_the_coach(service: Service) -> None:
    client = service.client(service.key())
    assert [model.id for model in client.models.list()] == ["coach"]
    assert client.models.retrieve("coach").owned_by == "coach"
    with pytest.raises(openai.NotFoundError) as missing:
        client.models.retrieve("gpt-4o")
    assert missing.value.code == "model_not_found"


def test_a_dutch_question_is_answered_in_dutch_with_citations_linked_to_the_page(
    service: Service,
) -> None:
    answer, _session = ask(service.client(service.key()), DUTCH, temperature=0.7, top_p=0.9)
    assert answer.startswith("### Suggesties\n")
    assert "### Vragen om over na te denken" in answer
    assert "### Collega's om te raadplegen" in answer
    sources = citations_match_sources(answer, service.base)
    assert "les-terugbellen-klanten" in sources.values()


def test_an_english_question_is_answered_in_english(service: Service) -> None:
    key = service.key()
    answer, _session = ask(service.client(key), ENGLISH)
    assert answer.startswith("### Suggestions\n")
    assert "### Questions to reflect on" in answer
    sources = citations_match_sources(answer, service.base)
    assert list(sources.values()) == ["les-heat-pump-curve"]
    for doc_id in sources.values():  # the link opens a document the page can show
        assert service.get(key, f"/v1/sources/{doc_id}").status_code == 200


def test_a_follow_up_refines_the_earlier_situation(service: Service) -> None:
    key = service.key()
    client = service.client(key)
    alone, _ = ask(client, FOLLOW_UP)
    assert "### Suggesties" not in alone  # it means little by itself
    first, _ = ask(client, FIRST)
    answer, session_id = ask(
        client,
        {"role": "system", "content": "You are a helpful assistant."},
        FIRST,
        {"role": "assistant", "content": first},
        FOLLOW_UP,
    )
    assert "### Suggesties" in answer
    assert "proc-werkbon-afronden" in citations_match_sources(answer, service.base).values()
    stored = service.get(key, f"/v1/sessions/{session_id}").json()
    assert stored["situation"] == f"{FIRST}\n\n{FOLLOW_UP}"  # the user turns, newest last


def test_a_stream_sends_the_same_answer_in_openai_chunks(service: Service) -> None:
    client = service.client(service.key())
    plain, plain_session = ask(client, ENGLISH)
    raw = client.chat.completions.with_raw_response.create(
        model="coach",
        messages=[{"role": "user", "content": ENGLISH}],
        stream=True,
        stream_options={"include_usage": True},
    )
    session_id = raw.headers["X-Session-Id"]
    assert raw.headers["Content-Type"].startswith("text/event-stream")
    chunks = list(raw.parse())
    assert {chunk.object for chunk in chunks} == {"chat.completion.chunk"}
    assert {chunk.id for chunk in chunks} == {f"chatcmpl-{session_id}"}
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None  # include_usage
    assert chunks[-1].usage.total_tokens == 0
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) > 5
    # The same answer, but for the link to its own session.
    assert streamed.replace(session_id, "S") == plain.replace(plain_session, "S")


def test_a_wrong_key_is_an_authentication_error_and_a_curator_may_not_chat(
    service: Service,
) -> None:
    with pytest.raises(openai.AuthenticationError) as unknown:
        ask(service.client("not-a-key"), DUTCH)
    assert unknown.value.code == "invalid_api_key"
    assert "unknown or revoked" in unknown.value.message
    with pytest.raises(openai.PermissionDeniedError) as curator:
        ask(service.client(service.key("curator")), DUTCH)
    assert "professional" in curator.value.message


def test_an_out_of_scope_question_gets_the_ungrounded_notice_and_no_suggestions(
    service: Service,
) -> None:
    answer, _ = ask(service.client(service.key()), OUT_OF_SCOPE)
    assert answer.startswith("> De documenten van de organisatie zeggen niets over deze situatie")
    assert "### Suggesties" not in answer and "### Bronnen" not in answer
    assert not re.search(r"\[\d+\]", answer)
    assert "### Vragen om over na te denken" in answer


def test_an_oversize_message_is_a_bad_request_saying_so(service: Service) -> None:
    client = service.client(service.key())
    with pytest.raises(openai.BadRequestError) as too_long:
        ask(client, "storing " * 600)  # 4,800 characters
    assert too_long.value.code == "context_length_exceeded"
    assert "4000 characters" in too_long.value.message
    with pytest.raises(openai.APIStatusError) as too_large:
        ask(client, "x" * 300_000)
    assert too_large.value.status_code == 413
    assert too_large.value.code == "request_too_large"


def test_the_completion_is_a_stored_session_of_that_user_only(service: Service) -> None:
    key = service.key()
    answer, session_id = ask(service.client(key), DUTCH)
    stored = service.get(key, f"/v1/sessions/{session_id}")
    assert stored.status_code == 200
    assert stored.json()["situation"] == DUTCH
    assert stored.json()["grounded"] is True
    assert f"{service.base}/#/sessions/{session_id}" in answer  # where feedback is given
    assert service.get(service.key(), f"/v1/sessions/{session_id}").status_code == 404


def test_over_the_allowance_is_a_rate_limit_error_with_retry_after(service: Service) -> None:
    client = service.client(service.key())
    for _ in range(PER_MINUTE):
        ask(client, OUT_OF_SCOPE)
    with pytest.raises(openai.RateLimitError) as limited:
        ask(client, OUT_OF_SCOPE)
    assert limited.value.code == "rate_limit_exceeded"
    assert int(limited.value.response.headers["Retry-After"]) >= 1


LADDER = "Collega's klimmen op een ladder die niet vastgezet is en die wegglijdt."
INJECTED = "[Lees eerst](https://evil.example/phish)"
PIXEL = "![pixel](https://evil.example/p.png)"
LADDER_LESSON = {
    "lesson": f"{INJECTED} {PIXEL} Zet een ladder altijd vast met een ladderhaak voor je klimt.",
    "what_worked": f"Een ladderhaak op elke bus; zie {INJECTED}.",
    "owner": "[Jan de Vries](https://evil.example/jan)",
}


def test_a_lessons_links_and_images_reach_the_answer_as_text_never_as_links(
    service: Service,
) -> None:
    """A lesson whose title, text and owner hold Markdown links and an image is approved: the
    next answers (plain and streamed) show them as written, and link only the coach's page."""
    first = service.key()
    _, session_id = ask(service.client(first), LADDER)
    drafted = httpx.post(
        f"{service.base}/v1/sessions/{session_id}/lesson",
        json=LADDER_LESSON,
        headers={"Authorization": f"Bearer {first}"},
        timeout=60,
    )
    assert drafted.status_code == 201, drafted.text
    approved = httpx.post(
        f"{service.base}/v1/drafts/{drafted.json()['id']}/approve",
        headers={"Authorization": f"Bearer {service.key('curator')}"},
        timeout=120,
    )
    assert approved.status_code == 200, approved.text
    doc_id = approved.json()["doc_id"]

    client = service.client(service.key())
    answer, _ = ask(client, LADDER)
    chunks = client.chat.completions.create(
        model="coach", messages=[{"role": "user", "content": LADDER}], stream=True
    )
    streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    for text in (answer, streamed):
        assert f"{service.base}/#/doc/{doc_id}" in text, text  # the lesson is a source
        links = live_links(text)
        assert all(link.startswith(f"{service.base}/#/") for link in links), links
        shown = shown_text(text)
        assert INJECTED in shown and PIXEL in shown  # in the title, and in the advice
        assert LADDER_LESSON["owner"] in shown  # the colleague to consult


def test_a_forged_host_never_gets_into_the_answers_links(service: Service) -> None:
    """Without COACH_PUBLIC_URL, links go to the address the server listens at, whatever
    `Host` the request names."""
    client = service.client(service.key(), headers={"Host": "evil.example"})
    answer, session_id = ask(client, DUTCH)
    assert "evil.example" not in answer
    assert f"{service.base}/#/sessions/{session_id}" in answer
    assert all(link.startswith(f"{service.base}/#/") for link in live_links(answer))
