"""The agenda of a vital week cycle: four consecutive working days on which a small learning
group meets for an hour, working on each member's own work situation.

Each day opens with a check-in on energy and meaning, then gives every member an item:

1. the situation and the goal: the situation, with the questions of the `situation` and
   `analysis` phases;
2. options: the coach's grounded suggestions (with the documents they cite and the colleagues
   to invite), with the `options` questions; an ungrounded situation gets the questions, no
   suggestions, and the coach's note that says why;
3. action: the `action` questions, to choose a small experiment for the coming days;
4. reflection and sharing: the `reflection` and `sharing` questions, and the hint that the
   member's lesson can go into a lesson draft (for the existing review).

Questions are in the language of the member's situation. The coach is asked once per member.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict

from coach.engine import Coach
from coach.errors import InvalidRequestError
from coach.ingest.didactics import Didactics
from coach.result import CoachingResult, Colleague, Source, Suggestion
from coach.retrieve.filters import Filters
from coach.vocabulary import Language

DAY_COUNT = 4

CHECK_IN: dict[Language, str] = {
    "nl": "Hoe is je energie vandaag (1-5), en wat maakt je werk nu betekenisvol?",
    "en": "How is your energy today (1-5), and what makes your work meaningful right now?",
}

LESSON_HINT: dict[Language, str] = {
    "nl": "Schrijf op wat je geleerd hebt: je les kan als lesconcept naar de review.",
    "en": "Write down what you learned: your lesson can go into a lesson draft for review.",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class _DayPlan(_Frozen):
    phases: tuple[str, ...]
    title: dict[Language, str]
    purpose: dict[Language, str]


_PLAN: tuple[_DayPlan, ...] = (
    _DayPlan(
        phases=("situation", "analysis"),
        title={"nl": "De situatie en het doel", "en": "The situation and the goal"},
        purpose={
            "nl": "Ieder beschrijft de eigen situatie en wat die moet opleveren.",
            "en": "Everyone describes their own situation and what it should lead to.",
        },
    ),
    _DayPlan(
        phases=("options",),
        title={"nl": "Opties", "en": "Options"},
        purpose={
            "nl": "Welke mogelijkheden zijn er, uit de documenten en van collega's?",
            "en": "Which options are there, from the documents and from colleagues?",
        },
    ),
    _DayPlan(
        phases=("action",),
        title={"nl": "Actie", "en": "Action"},
        purpose={
            "nl": "Kies een klein experiment voor de komende dagen.",
            "en": "Choose a small experiment for the coming days.",
        },
    ),
    _DayPlan(
        phases=("reflection", "sharing"),
        title={"nl": "Reflectie en delen", "en": "Reflection and sharing"},
        purpose={
            "nl": "Wat heeft het experiment opgeleverd, en wat deel je met anderen?",
            "en": "What did the experiment bring, and what do you share with others?",
        },
    ),
)

_LABELS: dict[Language, dict[str, str]] = {
    "nl": {
        "day": "Dag {day} van {count}",
        "check_in": "Check-in",
        "situation": "Situatie",
        "suggestions": "Suggesties",
        "sources": "bronnen",
        "colleagues": "Collega's om uit te nodigen",
        "questions": "Vragen",
    },
    "en": {
        "day": "Day {day} of {count}",
        "check_in": "Check-in",
        "situation": "Situation",
        "suggestions": "Suggestions",
        "sources": "sources",
        "colleagues": "Colleagues to invite",
        "questions": "Questions",
    },
}


class MemberSituation(_Frozen):
    """One member of the group and the work situation they bring; `session_id` is the coaching
    session the service stored for it in the member's name (their lesson and portfolio start
    from it), once there is one."""

    member: str
    situation: str
    session_id: str | None = None


class AgendaQuestion(_Frozen):
    id: str
    phase: str
    text: str
    why: str


class MemberItem(_Frozen):
    """What one member works on during one day. Suggestions, sources, colleagues and notes are
    filled on the options day only; `lesson_draft` is set on the last day."""

    member: str
    situation: str
    language: Language
    grounded: bool
    questions: tuple[AgendaQuestion, ...]
    suggestions: tuple[Suggestion, ...] = ()
    sources: tuple[Source, ...] = ()
    colleagues: tuple[Colleague, ...] = ()
    notes: tuple[str, ...] = ()
    lesson_draft: bool = False


class AgendaDay(_Frozen):
    day: int  # 1-based
    phases: tuple[str, ...]
    title: dict[Language, str]
    purpose: dict[Language, str]
    check_in: dict[Language, str]
    items: tuple[MemberItem, ...]


class Agenda(_Frozen):
    members: tuple[MemberSituation, ...]
    days: tuple[AgendaDay, ...]

    def to_dict(self) -> dict[str, object]:
        """The agenda as JSON-ready data."""
        return self.model_dump(mode="json")


def build_agenda(
    coach: Coach, members: Sequence[MemberSituation], filters: Filters | None = None
) -> Agenda:
    """The four-day agenda for these members, asking the coach once per member's situation."""
    if not members:
        raise InvalidRequestError("a week cycle needs at least one member with a situation")
    _check_members(members)
    results = [coach.ask(member.situation, filters) for member in members]
    return agenda_from_results(coach.didactics, members, results)


def _check_members(members: Sequence[MemberSituation]) -> None:
    names = [member.member.strip() for member in members]
    if any(not name for name in names):
        raise InvalidRequestError("every member needs a name")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidRequestError(f"each member brings one situation; twice: {duplicates}")


def agenda_from_results(
    didactics: Didactics, members: Sequence[MemberSituation], results: Sequence[CoachingResult]
) -> Agenda:
    """The four-day agenda from the coach's result for each member's situation (in order):
    for a member who brings an earlier session, its stored result. Without members, the days
    hold their check-in and purpose only (a group whose members brought nothing)."""
    _check_members(members)
    if len(results) != len(members):
        raise InvalidRequestError(f"{len(members)} members, {len(results)} coaching results")
    names = [member.member.strip() for member in members]
    days = tuple(
        AgendaDay(
            day=number,
            phases=plan.phases,
            title=plan.title,
            purpose=plan.purpose,
            check_in=CHECK_IN,
            items=tuple(
                _item(didactics, name, result, number, plan.phases)
                for name, result in zip(names, results, strict=True)
            ),
        )
        for number, plan in enumerate(_PLAN, start=1)
    )
    kept = tuple(
        MemberSituation(member=name, situation=result.situation, session_id=given.session_id)
        for name, result, given in zip(names, results, members, strict=True)
    )
    return Agenda(members=kept, days=days)


def without_member(agenda: Agenda, member: str) -> Agenda:
    """The agenda as if `member` had brought no situation: their situation, the coach's answer
    to it and their session are gone from every day (when they ask to be forgotten)."""
    return Agenda(
        members=tuple(m for m in agenda.members if m.member != member),
        days=tuple(
            day.model_copy(update={"items": tuple(i for i in day.items if i.member != member)})
            for day in agenda.days
        ),
    )


def _item(
    didactics: Didactics, member: str, result: CoachingResult, day: int, phases: tuple[str, ...]
) -> MemberItem:
    options = day == 2
    return MemberItem(
        member=member,
        situation=result.situation,
        language=result.language,
        grounded=result.grounded,
        questions=phase_questions(didactics, phases, result.language),
        suggestions=tuple(result.suggestions) if options else (),
        sources=tuple(result.sources) if options else (),
        colleagues=tuple(result.colleagues) if options else (),
        notes=tuple(result.notes) if options else (),
        lesson_draft=day == DAY_COUNT,
    )


def phase_questions(
    didactics: Didactics, phases: Sequence[str], language: Language
) -> tuple[AgendaQuestion, ...]:
    """Every didactic question of these phases, phase by phase in the given order (within a
    phase in the file's order), in `language`."""
    return tuple(
        AgendaQuestion(id=q.id, phase=q.phase, text=q.text[language], why=q.why[language])
        for phase in phases
        for q in didactics.questions
        if q.phase == phase
    )


def agenda_text(agenda: Agenda, day: int, language: Language) -> str:
    """One day as plain text (a calendar event's description): the check-in, then each
    member's item. Headings are in `language`, each member's questions in their own."""
    if not 1 <= day <= len(agenda.days):
        raise InvalidRequestError(f"day must be between 1 and {len(agenda.days)}, not {day}")
    plan = agenda.days[day - 1]
    labels = _LABELS[language]
    lines = [
        f"{labels['day'].format(day=day, count=len(agenda.days))}: {plan.title[language]}",
        plan.purpose[language],
        "",
        f"{labels['check_in']}: {plan.check_in[language]}",
    ]
    for item in plan.items:
        lines += ["", item.member]
        lines += _item_lines(item, day, labels)
    return "\n".join(lines) + "\n"


def _item_lines(item: MemberItem, day: int, labels: dict[str, str]) -> list[str]:
    lines: list[str] = []
    if day == 1:
        lines.append(f"{labels['situation']}: {item.situation}")
    if item.suggestions:
        lines.append(f"{labels['suggestions']}:")
        for suggestion in item.suggestions:
            cited = ", ".join(suggestion.citations)
            lines.append(
                f"- {suggestion.title}: {suggestion.action} ({labels['sources']}: {cited})"
            )
    if item.colleagues:
        invited = "; ".join(
            f"{colleague.owner} ({', '.join(colleague.documents)})" for colleague in item.colleagues
        )
        lines.append(f"{labels['colleagues']}: {invited}")
    lines.extend(item.notes if not item.grounded else ())
    if item.questions:
        lines.append(f"{labels['questions']}:")
        for question in item.questions:
            lines += [f"- {question.text}", f"  ({question.why})"]
    if item.lesson_draft:
        lines.append(LESSON_HINT[item.language])
    return lines
