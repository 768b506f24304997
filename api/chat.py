"""The coach as a chat model: what a chat client sends (a conversation) becomes one situation,
and one coaching result becomes one assistant message in Markdown.

The situation is the conversation's user turns, oldest first, joined by blank lines: a
follow-up ("and if the customer is a tenant?") means little alone, and the turns before it say
what it refines. Assistant turns (the coach's own earlier answers) and system or developer
prompts are left out: they would steer retrieval towards what was already answered, and they
are not the professional's situation. When the turns together pass the situation limit, the
oldest whole turns go first; a newest turn that alone passes it is refused, never cut.

The answer follows the same grounding, refusal and citation rules as `/v1/coach`, since it is
that result rendered: suggestions cite their sources as `[n]`, numbered in the order of the
result's sources, and every `[n]` has its line in the sources list, linked to the document on
the web page. Nothing is cited that the result does not cite.

Every text from the corpus or a user (titles, owners, teams, advice, questions, notes) is
Markdown text, never markup: each punctuation mark Markdown or a chat client gives a meaning is
escaped with a backslash, so a lesson that holds `[Lees eerst](https://...)`, an image or HTML
shows it as written, and a bare address (its `:` and `.` escaped) is not made a link either. The
only links in an answer are the coach's own, to its web page.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.config import JsonDict

from api.problems import Problem
from api.schemas import Input
from coach.result import MAX_SITUATION_CHARS, CoachingResult, Source
from coach.vocabulary import Language

TURN_SEPARATOR = "\n\n"
# The ASCII punctuation that has a meaning in CommonMark, GFM (autolinks, tables, strikethrough)
# or a chat client (math, highlights); what is left (, ; ' " ? / %) means nothing on its own.
_MARKUP = re.compile(r"([!#$&()*+\-.:<=>@\[\\\]^_`{|}~])")
# A user turn's text: some text besides white space (and valid Unicode: a pattern refuses a lone
# surrogate). Its length is checked by `situation`, so that a turn over the limit is refused as
# OpenAI refuses one (context_length_exceeded); the schema states the limit for clients.
UserText = Annotated[
    str,
    Field(pattern=r"\S", json_schema_extra={"maxLength": MAX_SITUATION_CHARS}),
]


class TextPart(BaseModel):
    """A text part of a user turn. The coach reads text only: an image or a file would be
    refused rather than silently left unread."""

    model_config = ConfigDict(extra="allow")
    type: Literal["text"]
    text: UserText


class UserMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["user"]
    content: UserText | Annotated[list[TextPart], Field(min_length=1)]

    @model_validator(mode="before")
    @classmethod
    def _text_only(cls, data: Any) -> Any:
        """Says so when a part is not text (the union's own errors would list every branch)."""
        content = data.get("content") if isinstance(data, dict) else None
        if isinstance(content, list):
            kinds = {p.get("type") if isinstance(p, dict) else None for p in content} - {"text"}
            if kinds:
                raise ValueError(
                    "the coach reads text only; this message has parts of type "
                    f"{', '.join(sorted(map(str, kinds)))}: send its text alone"
                )
        return data

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content.strip()
        return "\n".join(part.text.strip() for part in self.content)


class OtherMessage(BaseModel):
    """A turn the situation leaves out: read only as far as OpenAI's request shape goes."""

    model_config = ConfigDict(extra="allow")
    role: Literal["system", "developer", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None


Message = Annotated[UserMessage | OtherMessage, Field(discriminator="role")]
# Stated in the schema, and checked by `ChatRequest`: a conversation has a user turn.
HAS_USER_TURN: JsonDict = {
    "contains": {"type": "object", "properties": {"role": {"const": "user"}}, "required": ["role"]}
}


class StreamOptions(Input):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = Field(False, strict=True)


class ChatRequest(Input):
    """OpenAI's chat-completions request. Sampling settings (`temperature`, `top_p`,
    `max_tokens`, `n`, ...) and any other field are accepted and ignored, as OpenAI tolerates
    fields it does not know: the coach's answer does not depend on them."""

    model_config = ConfigDict(extra="allow")
    model: str = Field(examples=["coach"])
    messages: list[Message] = Field(
        min_length=1,
        json_schema_extra=HAS_USER_TURN,
        examples=[[{"role": "user", "content": "Klanten bellen steeds opnieuw over een storing."}]],
    )
    stream: bool = Field(False, strict=True)
    stream_options: StreamOptions | None = None

    @field_validator("messages")
    @classmethod
    def _has_user_turn(
        cls, messages: list[UserMessage | OtherMessage]
    ) -> list[UserMessage | OtherMessage]:
        if not any(isinstance(message, UserMessage) for message in messages):
            raise ValueError("the conversation has no user message: describe a work situation")
        return messages

    def user_turns(self) -> list[str]:
        """The texts of the user turns, oldest first."""
        return [m.text() for m in self.messages if isinstance(m, UserMessage)]


def situation(turns: Iterable[str]) -> str:
    """The situation the user turns (oldest first) describe together: joined newest last, the
    oldest whole turns dropped while the whole is over the limit. A newest turn over the limit
    alone is a 400 with OpenAI's code `context_length_exceeded`."""
    kept: list[str] = []
    length = -len(TURN_SEPARATOR)
    for turn in reversed([text.strip() for text in turns if text.strip()]):
        added = len(turn) + len(TURN_SEPARATOR)
        if length + added > MAX_SITUATION_CHARS:
            break
        kept.append(turn)
        length += added
    if not kept:
        raise Problem(
            400,
            f"your message has more than {MAX_SITUATION_CHARS} characters; the coach reads at "
            "most that much of a situation: shorten it",
            code="context_length_exceeded",
            param="messages",
        )
    return TURN_SEPARATOR.join(reversed(kept))


_LABELS: dict[Language, dict[str, str]] = {
    "nl": {
        "suggestions": "Suggesties",
        "questions": "Vragen om over na te denken",
        "why": "Waarom deze vraag",
        "colleagues": "Collega's om te raadplegen",
        "sources": "Bronnen",
        "related": "Verder lezen",
        "related_hint": "Deze documenten raken minder direct aan je situatie; de suggesties "
        "komen er niet uit.",
        "session": "Feedback geven of vastleggen wat je geleerd hebt",
        "session_link": "deze sessie op de coachpagina",
        "improve": "Verbeteren",
        "innovate": "Vernieuwen",
        "skill": "Vaardigheid",
        "consult": "Raadplegen",
    },
    "en": {
        "suggestions": "Suggestions",
        "questions": "Questions to reflect on",
        "why": "Why this question",
        "colleagues": "Colleagues to consult",
        "sources": "Sources",
        "related": "Related reading",
        "related_hint": "These documents bear on your situation less directly; no suggestion "
        "comes from them.",
        "session": "To give feedback or record what you learned",
        "session_link": "this session on the coach's page",
        "improve": "Improve",
        "innovate": "Innovate",
        "skill": "Skill",
        "consult": "Consult",
    },
}


def markdown(result: CoachingResult, page: str, session_id: str) -> str:
    """The result as one assistant message. `page`: the web page's address (links open a
    cited document there); `session_id`: the stored session, linked for feedback and lessons.
    The notes come first: the ungrounded notice says why there are no suggestions."""
    labels = _LABELS[result.language]
    numbers = {source.id: number for number, source in enumerate(result.sources, start=1)}
    blocks = [f"> {_line(note)}" for note in result.notes]
    if result.suggestions:
        blocks.append(_section(labels["suggestions"], _suggestions(result, numbers, labels)))
    if result.didactic_questions:
        questions = [
            f"- **{_line(q.text)}**\n  {labels['why']}: {_line(q.why)}"
            for q in result.didactic_questions
        ]
        blocks.append(_section(labels["questions"], questions))
    if result.colleagues:
        colleagues = [
            f"- {_line(c.owner)}: {_cites(c.documents, numbers)}" for c in result.colleagues
        ]
        blocks.append(_section(labels["colleagues"], colleagues))
    if result.sources:
        sources = [f"- [{numbers[s.id]}] {_link(s, page)}{_team(s)}" for s in result.sources]
        blocks.append(_section(labels["sources"], sources))
    if result.related:
        related = [labels["related_hint"], "", *(f"- {_link(s, page)}" for s in result.related)]
        blocks.append(_section(labels["related"], related))
    session = f"{page}/#/sessions/{quote(session_id, safe='')}"
    blocks.append(f"_{labels['session']}: [{labels['session_link']}]({session})_")
    return "\n\n".join(blocks) + "\n"


def _suggestions(
    result: CoachingResult, numbers: dict[str, int], labels: dict[str, str]
) -> list[str]:
    return [
        f"{n}. **{_line(s.title)}** ({labels[s.kind]}): {_line(s.action)} "
        f"{_cites(s.citations, numbers)}"
        for n, s in enumerate(result.suggestions, start=1)
    ]


def _section(title: str, lines: list[str]) -> str:
    return "\n".join([f"### {title}", "", *lines])


def _cites(doc_ids: list[str], numbers: dict[str, int]) -> str:
    """`[n]` for each document among the sources (a colleague's documents always are)."""
    return "".join(f"[{numbers[doc_id]}]" for doc_id in doc_ids if doc_id in numbers)


def _link(source: Source, page: str) -> str:
    return f"[{_line(source.title)}]({page}/#/doc/{quote(source.id, safe='')})"


def _team(source: Source) -> str:
    return f" ({_line(source.team)})" if source.team else ""


def _line(text: str) -> str:
    """Text from the corpus or a user as Markdown text on one line: markup shows as written (a
    link stays text), and a line break inside a list item or a quote would end it."""
    return _MARKUP.sub(r"\\\1", " ".join(text.split()))


def pieces(content: str) -> list[str]:
    """The message in the pieces a stream sends: line by line, so a client shows it as it
    comes; together exactly `content`."""
    return content.splitlines(keepends=True)
