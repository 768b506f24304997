"""A user's own data: what they let others see, everything stored about them (as JSON), and
deleting all of it; and the preview of a lesson, so a professional sees exactly what will be
published, and under which name, before they submit it.

Handlers are plain functions: FastAPI runs them in its threadpool, off the event loop, since
they talk to the database and read the corpus."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, StrictBool

from api.db import DraftStore, Outbox, UserSettings, UserStore
from api.db.stored_cycles import StoredCycle
from api.deps import Anyone, Professional, Svc
from api.routes.drafts import drafts_out
from api.routes.sessions import own_session
from api.schemas import DraftOut, LessonRequest, SessionOut
from api.xapi.statements import without_situation
from coach.errors import CorpusError
from coach.ingest.corpus import parse_document_text
from coach.ingest.curation import folder_for, render
from coach.ingest.lessons import draft_lesson, withdraw_draft
from coach.vocabulary import Language, Role

router = APIRouter(prefix="/v1", tags=["your data"])


class PrivacySettings(BaseModel):
    """`share_situations` (off by default): L&D's insights may show the text of your situations
    that the corpus had nothing on, never with your name, and count your words in their themes
    (a word becomes a theme only when several people who share used it; counts come from every
    session either way), and your learning records may carry a situation's text.
    `learning_records` (on by default): what you do with the coach is recorded in the
    organisation's Learning Record Store, when it has one (under an opaque id, not your name)."""

    share_situations: StrictBool  # `0` is not `false`
    learning_records: StrictBool


class PrivacyChange(BaseModel):
    """What to change; a setting left out stays as it is."""

    share_situations: StrictBool | None = None
    learning_records: StrictBool | None = None


class LessonPreview(BaseModel):
    """The lesson document exactly as the same request to `POST /v1/sessions/{id}/lesson`
    writes it (with an id of its own then, random). `owner` null: an anonymous colleague."""

    title: str
    owner: str | None
    language: Language
    tags: list[str]
    body: str


class MyGroup(BaseModel):
    id: str
    name: str
    team: str | None
    my_state: str  # member, invited or facilitator


class MyCycleDay(BaseModel):
    day: int
    did: str | None  # your notes of the day
    noticed: str | None
    energy: int | None  # your check-in
    word: str | None
    shared: bool | None


class MyCycle(BaseModel):
    """What is yours in one vital week cycle: your situation, notes and check-ins."""

    id: str
    group_id: str
    state: str
    situation: str | None
    session_id: str | None
    # before its agenda is built: what you answered (brings or none), a situation a colleague
    # suggested you bring, and the ones you suggested to colleagues
    answer: str | None = None
    suggested_to_you: str | None = None
    your_suggestions: list[dict[str, str]] = []
    days: list[MyCycleDay]


class MyLearningRecord(BaseModel):
    """A learning record (xAPI statement) of yours as the service keeps it: delivered to the
    organisation's Learning Record Store (which keeps its own copy) or still waiting."""

    id: str
    created_at: str
    delivered_at: str | None  # null: not sent yet
    statement: dict[str, Any]


class MyData(BaseModel):
    """Everything the service stores about you."""

    user: str
    role: Role
    exported_at: str
    settings: PrivacySettings
    sessions: list[SessionOut]  # each with its feedback (helpful, comment)
    drafts: list[DraftOut]  # each with its document while the file is in the corpus
    groups: list[MyGroup]  # the learning groups you are one of the people of
    cycles: list[MyCycle]  # their vital week cycles, with what is yours in each
    learning_records: list[MyLearningRecord]  # sent to the LRS, or waiting to be


class Deleted(BaseModel):
    sessions: int
    drafts: int
    settings: int
    groups_left: int  # a group left without members is gone, with its cycles
    learning_records: int  # the service's copies; the LRS keeps what it was sent
    cycle_entries: int  # your notes and check-ins
    documents_withdrawn: int  # unpublished lessons removed from the corpus


def _settings(settings: UserSettings) -> PrivacySettings:
    return PrivacySettings(
        share_situations=settings.share_situations, learning_records=settings.learning_records
    )


@router.get("/me/settings", response_model=PrivacySettings)
def get_settings(who: Anyone, svc: Svc) -> PrivacySettings:
    """What you let others see (everything off until you turn it on)."""
    return _settings(UserStore(svc.sessions).settings(who.user))


@router.put("/me/settings", response_model=PrivacySettings)
def put_settings(body: PrivacyChange, who: Anyone, svc: Svc) -> PrivacySettings:
    """Turn sharing on or off (it applies to your earlier sessions too: turned off, learning
    records not sent yet lose your situations' text), and learning records (from now on:
    records already delivered are the LRS's; waiting ones are still sent). A setting you leave
    out stays as it is."""
    saved = UserStore(svc.sessions).change(who.user, body.share_situations, body.learning_records)
    if not saved.share_situations:  # also when it was off: a retry finishes what one began
        Outbox(svc.sessions).rewrite_waiting(who.user, without_situation)
    return _settings(saved)


@router.get("/me/export", response_model=MyData)
def export(who: Anyone, svc: Svc) -> JSONResponse:
    """Everything stored about you, as a JSON file: your settings, your sessions with their
    feedback, the lessons you recorded (with their text), your groups and cycles, and your
    learning records (delivered to the LRS or waiting)."""
    data = MyData(
        user=who.user,
        role=who.role,
        exported_at=datetime.now(UTC).isoformat(timespec="seconds"),
        settings=_settings(UserStore(svc.sessions).settings(who.user)),
        sessions=[SessionOut.from_stored(s) for s in svc.sessions.all_for(who.user)],
        drafts=drafts_out(DraftStore(svc.sessions).list_for_user(who.user), svc),
        groups=[
            MyGroup(id=g.id, name=g.name, team=g.team, my_state=str(g.state_of(who.user)))
            for g in svc.groups.mine(who.user)[0]
        ],
        cycles=[_my_cycle(cycle, who.user) for cycle in svc.cycles.for_user(who.user)],
        learning_records=[
            MyLearningRecord(
                id=kept.id,
                created_at=kept.created_at.isoformat(),
                delivered_at=kept.delivered_at.isoformat() if kept.delivered_at else None,
                statement=kept.statement,
            )
            for kept in Outbox(svc.sessions).kept_for(who.user)
        ],
    )
    stamp = datetime.now(UTC).strftime("%Y%m%d")
    return JSONResponse(
        data.model_dump(mode="json"),
        headers={
            "Content-Disposition": f'attachment; filename="coach-my-data-{stamp}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.delete("/me/data", response_model=Deleted)
def delete_everything(who: Anyone, svc: Svc) -> Deleted:
    """Delete all your data, for good: sessions and feedback, settings, your draft records,
    the files of your lessons that were never published (pending or rejected), your place in
    learning groups and your situation, notes and check-ins in their cycles, and the
    service's copies of your learning records (the LRS keeps the ones it was sent; the
    organisation voids those there). A lesson a
    curator approved belongs to the organisation's corpus now and stays, under the name you
    chose for it; nothing links it to you any more."""
    drafts = DraftStore(svc.sessions).list_for_user(who.user)
    withdrawn = sum(withdraw_draft(svc.curator, draft.doc_id) for draft in drafts)
    entries = svc.cycles.forget(who.user)  # before leaving: the cycles are found by group
    groups = svc.groups.forget(who.user)
    records = Outbox(svc.sessions).forget(who.user)
    forgotten = UserStore(svc.sessions).forget(who.user)
    return Deleted(
        sessions=forgotten.sessions,
        drafts=forgotten.drafts,
        settings=forgotten.settings,
        groups_left=groups,
        learning_records=records,
        cycle_entries=entries,
        documents_withdrawn=withdrawn,
    )


def _my_cycle(cycle: StoredCycle, user: str) -> MyCycle:
    notes = {n.day: n for n in cycle.notes if n.member == user}
    checks = {c.day: c for c in cycle.check_ins if c.member == user}
    mine = next((m for m in cycle.agenda.members if m.member == user), None)
    return MyCycle(
        id=cycle.id,
        group_id=cycle.group.id,
        state=cycle.state,
        situation=mine.situation if mine else None,
        session_id=cycle.session_of(user),
        answer=cycle.answers.get(user),
        suggested_to_you=found.text if (found := cycle.suggestion_for(user)) else None,
        your_suggestions=[
            {"member": s.member, "situation": s.text} for s in cycle.suggestions if s.by == user
        ],
        days=[
            MyCycleDay(
                day=day,
                did=notes[day].did if day in notes else None,
                noticed=notes[day].noticed if day in notes else None,
                energy=checks[day].energy if day in checks else None,
                word=checks[day].word if day in checks else None,
                shared=checks[day].shared if day in checks else None,
            )
            for day in sorted(set(notes) | set(checks))
        ],
    )


@router.post(
    "/sessions/{session_id}/lesson/preview", response_model=LessonPreview, tags=["lessons learned"]
)
def preview_lesson(
    session_id: str, body: LessonRequest, who: Professional, svc: Svc
) -> LessonPreview:
    """The lesson as it would be published: its text and the name shown as its owner. Nothing
    is stored; send the same body to `POST /v1/sessions/{id}/lesson` to submit it."""
    stored = own_session(svc, who, session_id)
    fields = draft_lesson(
        situation=stored.result.situation, language=stored.result.language, **body.model_dump()
    )
    # The file the curator would write, read back as the corpus reads it (and refused as it is).
    parsed = parse_document_text(render(fields), f"{folder_for(fields)}/{fields.id}.md")
    if parsed.document is None:
        raise CorpusError("the lesson is not valid", parsed.problems)
    document = parsed.document
    return LessonPreview(
        title=document.title,
        owner=document.owner,
        language=document.language,
        tags=list(document.tags),
        body=document.body,
    )
