"""What the API reads and writes. Literal types come from `coach.vocabulary`; the models that
show a domain record (a corpus document, a stored session or draft) are built from it."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
)

from api.db import StoredDraft, StoredSession
from api.db.group_tables import MAX_TEAM
from coach.engine import MAX_K
from coach.ingest.corpus import Document
from coach.ingest.curation import Fields
from coach.result import MAX_SITUATION_CHARS, CoachingResult, DocumentInfo, Source
from coach.retrieve.filters import Filters
from coach.vocabulary import (
    DOC_TYPES,
    LANGUAGES,
    STATUSES,
    DocType,
    DraftState,
    Language,
    Role,
    Status,
)

# What a document id must be, for the schema (the lint rules check it as a whole match).
ID_REGEX = "^[a-z0-9-]+$"
# The furthest a list may be paged (offset); larger is a 422, not a database overflow.
MAX_OFFSET = 1_000_000


def iso_day(value: object) -> object:
    """A day only as YYYY-MM-DD, as the schema says: lax pydantic would read `0` as 1970-01-01.
    (None passes, for an optional day.)"""
    if value is not None and not (
        isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value)
    ):
        raise ValueError("give a day as YYYY-MM-DD")
    return value


IsoDay = Annotated[date, BeforeValidator(iso_day)]

# Some character besides white space, control characters and the byte order mark: the coach has
# nothing to read in a text without one. The same class in the schema's regular expressions
# (ECMA-262), Python's and Rust's (pydantic's): the characters their `\s` differ on, it excludes
# anyway.
VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\ufeff]"


def visible(text: str) -> str:
    """The text, when it has a visible character (`VISIBLE`), as the schema's pattern says."""
    if not re.search(VISIBLE, text):
        raise ValueError("give some text: this holds only white space or control characters")
    return text


# A situation to coach or a query to search: the server refuses what the schema refuses.
Situation = Annotated[
    str,
    Field(min_length=1, max_length=MAX_SITUATION_CHARS, json_schema_extra={"pattern": VISIBLE}),
    AfterValidator(visible),
]


def whole_number(value: object) -> object:
    """A number without a fraction as the int it is: JSON Schema's integer is any such number,
    so 2.0 is 2. Anything else goes on as it came, for a strict int to judge."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer as the schema means it: 2.0 taken as 2; 2.5, "2" and true refused.
WholeNumber = Annotated[int, BeforeValidator(whole_number), Field(strict=True)]


class Input(BaseModel):
    """A request body. Every text in it must be Unicode that can be stored and sent back: JSON
    can carry a lone surrogate (`\\ud800`), which is refused here, naming its field. Yes/no and
    counts are strict (`0` is not `false`, `"5"` is not `5`), as the schema types them."""

    @field_validator("*", mode="before")
    @classmethod
    def _no_lone_surrogates(cls, value: Any, info: ValidationInfo) -> Any:
        texts = value if isinstance(value, list | tuple) else [value]
        for text in texts:
            if isinstance(text, str) and not _encodable(text):
                raise ValueError(
                    f"`{info.field_name}` holds a lone surrogate (\\ud800-\\udfff), which is "
                    "not text; send valid Unicode"
                )
        return value


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class CoachRequest(Input):
    situation: Situation
    # a filter on the corpus's teams, stored with the session and sent in its learning record
    team: str | None = Field(None, max_length=MAX_TEAM)
    type: DocType | None = None
    language: Language | None = None
    k: int = Field(5, ge=1, le=MAX_K)

    def filters(self) -> Filters:
        return Filters(team=self.team, type=self.type, language=self.language)


class SearchFilters(Input):
    team: str | None = None
    type: DocType | None = None
    language: Language | None = None


class SearchRequest(Input):
    query: Situation
    filters: SearchFilters = SearchFilters()
    k: int = Field(5, ge=1, le=MAX_K)


class SearchResponse(BaseModel):
    sources: list[Source]


class Me(BaseModel):
    user: str
    role: Role
    local_mode: bool


class FeedbackRequest(Input):
    helpful: StrictBool
    comment: str | None = Field(None, max_length=4000)


class SessionOut(BaseModel):
    id: str
    created_at: str
    situation: str
    grounded: bool
    helpful: bool | None
    comment: str | None
    result: CoachingResult

    @classmethod
    def from_stored(cls, stored: StoredSession) -> SessionOut:
        return cls(
            id=stored.id,
            created_at=stored.created_at.isoformat(),
            situation=stored.result.situation,
            grounded=stored.result.grounded,
            helpful=stored.helpful,
            comment=stored.comment,
            result=stored.result,
        )


class SessionList(BaseModel):
    items: list[SessionOut]
    total: int
    limit: int
    offset: int


def _as_lint_requires(schema: dict[str, Any]) -> None:
    """The schema states what the lint rules require (the model itself takes plain strings, so
    that a bad value comes back as a 422 listing every problem at once, as lint words it)."""
    properties = schema["properties"]
    schema["required"] = sorted({*schema.get("required", ()), *_REQUIRED_TEXT, "type", "language"})
    for name in _REQUIRED_TEXT:
        properties[name].update(pattern=r"\S")  # some text besides white space
        properties[name].pop("default", None)
    for name, values in (("type", DOC_TYPES), ("language", LANGUAGES), ("status", STATUSES)):
        properties[name]["enum"] = list(values)
        if name != "status":  # status may be left out: a new document is active
            properties[name].pop("default", None)


_REQUIRED_TEXT = ("title", "body")


class DocumentIn(Input):
    """A document as a form sends it. Values are checked by the corpus lint rules, so a bad
    type or language comes back as a 422 listing every problem at once (hence plain strings
    here, not the vocabulary's literals; the schema states the rules)."""

    model_config = ConfigDict(json_schema_extra=_as_lint_requires)

    title: str = ""
    type: str = ""
    language: str = ""
    body: str = ""
    team: str | None = None
    owner: str | None = None
    tags: list[str] = []
    updated: date | None = None
    status: str = "active"

    def fields(self, doc_id: str) -> Fields:
        # The casts only carry the unchecked values to the lint rules, which the curator runs
        # on the rendered file before anything is written.
        return Fields(
            id=doc_id,
            title=self.title.strip(),
            type=cast(DocType, self.type),
            language=cast(Language, self.language),
            body=self.body,
            team=(self.team or "").strip() or None,
            owner=(self.owner or "").strip() or None,
            tags=tuple(tag.strip() for tag in self.tags if tag.strip()),
            updated=self.updated,
            status=cast(Status, self.status),
        )


class NewDocument(DocumentIn):
    # Checked with the lint rules (422 listing every problem); the pattern is for the schema.
    id: str = Field(min_length=1, max_length=120, json_schema_extra={"pattern": ID_REGEX})


class DocumentOut(DocumentInfo):
    """A corpus document (`coach.ingest.corpus.Document`) with its ETag."""

    tags: list[str]
    updated: date | None
    status: Status
    path: str
    etag: str
    body: str | None = None

    @classmethod
    def from_document(cls, document: Document, etag: str, with_body: bool = True) -> DocumentOut:
        return cls(
            id=document.id,
            title=document.title,
            type=document.type,
            language=document.language,
            team=document.team,
            owner=document.owner,
            tags=list(document.tags),
            updated=document.updated,
            status=document.status,
            path=document.path,
            etag=etag,
            body=document.body if with_body else None,
        )


class DocumentList(BaseModel):
    items: list[DocumentOut]
    total: int
    limit: int
    offset: int


class LessonRequest(Input):
    what_tried: str = Field("", max_length=4000)
    what_worked: str = Field("", max_length=4000)
    what_not: str = Field("", max_length=4000)
    lesson: str = Field(min_length=1, max_length=4000)
    # Published as the lesson's owner (none: an anonymous colleague); the situation goes in only
    # when asked. POST /v1/sessions/{id}/lesson/preview shows the result before it is sent.
    owner: str | None = Field(None, max_length=120)
    include_situation: StrictBool = False


class RejectRequest(Input):
    reason: str = Field(min_length=1, max_length=2000)


class DraftOut(BaseModel):
    """A stored draft (`api.db.StoredDraft`) with its document, when the file is still there."""

    id: str
    doc_id: str
    session_id: str
    user_id: str
    created_at: str
    state: DraftState
    reason: str | None
    decided_by: str | None
    document: DocumentOut | None = None

    @classmethod
    def from_stored(cls, draft: StoredDraft, document: DocumentOut | None) -> DraftOut:
        return cls(
            **{k: v for k, v in vars(draft).items() if k != "created_at"},
            created_at=draft.created_at.isoformat(),
            document=document,
        )
