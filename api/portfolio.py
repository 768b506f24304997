"""A professional's talent development portfolio: what they did in a period (coaching sessions,
vital week cycles, lessons, feedback), as Markdown or a printable HTML page, theirs to share.

`portfolio_of` takes what the stores hold and keeps only the owner's own content in the period:
from a cycle, their situation, notes and check-ins, never another member's (those are theirs).
The text is composed once, as blocks in the chosen language, and then written as Markdown or
HTML, so the two formats cannot differ in what they show. Nothing here reads a store."""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal
from zoneinfo import ZoneInfo

from api.db.drafts import StoredDraft
from api.db.groups import FACILITATOR
from api.db.sessions import StoredSession
from api.db.stored_cycles import CANCELLED, CheckIn, Note, StoredCycle
from coach.vocabulary import DraftState, Language

CycleState = Literal["planned", "completed", "cancelled"]
EXPERIMENT_DAY = 3  # the agenda's action day: the member chooses and runs a small experiment
# The service's CSP (api.headers) refuses inline styles: the page links its stylesheets.
STYLESHEETS = ("static/app.css", "static/print.css")


@dataclass(frozen=True)
class Period:
    first: date
    last: date  # inclusive

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


@dataclass(frozen=True)
class Lesson:
    """A lesson draft the owner recorded; its document's title (its id when the file is gone)."""

    made: date
    title: str
    state: DraftState
    session_id: str


@dataclass(frozen=True)
class SessionEntry:
    made: date
    session: StoredSession


@dataclass(frozen=True)
class CycleDay:
    number: int
    on: date
    title: dict[Language, str]
    note: Note | None  # the owner's, never another member's
    check_in: CheckIn | None  # the owner's, shared or not


@dataclass(frozen=True)
class CycleEntry:
    group: str
    facilitator: bool
    state: CycleState
    situation: str | None  # the owner's (none for the facilitator)
    days: tuple[CycleDay, ...]
    lessons: tuple[Lesson, ...]


@dataclass(frozen=True)
class Portfolio:
    user: str
    period: Period
    made_on: date
    sessions: tuple[SessionEntry, ...]  # oldest first, as every list here
    cycles: tuple[CycleEntry, ...]
    lessons: tuple[Lesson, ...]

    def feedback(self) -> list[SessionEntry]:
        return [entry for entry in self.sessions if entry.session.helpful is not None]


def portfolio_of(
    user: str,
    period: Period,
    made_on: date,
    zone: ZoneInfo,
    sessions: Iterable[StoredSession],
    drafts: Iterable[StoredDraft],
    titles: dict[str, str],
    cycles: Iterable[StoredCycle],
) -> Portfolio:
    """`user`'s portfolio for `period` from what the stores hold (anything of someone else's is
    dropped here too); a record's day is its local date in `zone`; `titles` by document id."""

    def local(moment: datetime) -> date:
        return moment.astimezone(zone).date()

    lessons = [
        Lesson(local(d.created_at), titles.get(d.doc_id, d.doc_id), d.state, d.session_id)
        for d in sorted(drafts, key=lambda d: d.created_at)
        if d.user_id == user
    ]
    held = [c for c in cycles if any(period.holds(m.start.date()) for m in c.meetings)]
    held.sort(key=lambda cycle: cycle.meetings[0].start)
    own_sessions = [
        SessionEntry(local(s.created_at), s)
        for s in sorted(sessions, key=lambda s: s.created_at)
        if s.user_id == user
    ]
    return Portfolio(
        user=user,
        period=period,
        made_on=made_on,
        sessions=tuple(entry for entry in own_sessions if period.holds(entry.made)),
        cycles=tuple(_own_cycle(cycle, user, lessons) for cycle in held),
        lessons=tuple(lesson for lesson in lessons if period.holds(lesson.made)),
    )


def _own_cycle(cycle: StoredCycle, user: str, lessons: Sequence[Lesson]) -> CycleEntry:
    session = cycle.session_of(user)
    notes = {note.day: note for note in cycle.notes if note.member == user}
    check_ins = {given.day: given for given in cycle.check_ins if given.member == user}
    state: CycleState = (
        "cancelled" if cycle.state == CANCELLED else "completed" if cycle.completed else "planned"
    )
    return CycleEntry(
        group=cycle.group.name,
        facilitator=cycle.group.state_of(user) == FACILITATOR,
        state=state,
        situation=next((m.situation for m in cycle.agenda.members if m.member == user), None),
        days=tuple(
            CycleDay(
                number=meeting.day,
                on=meeting.start.date(),
                title=plan.title,
                note=notes.get(meeting.day),
                check_in=check_ins.get(meeting.day),
            )
            for meeting, plan in zip(cycle.meetings, cycle.agenda.days, strict=True)
        ),
        lessons=tuple(lesson for lesson in lessons if session and lesson.session_id == session),
    )


# -- the text, in blocks --------------------------------------------------------------------


@dataclass(frozen=True)
class Heading:
    level: int
    text: str


@dataclass(frozen=True)
class Text:
    text: str
    label: str | None = None  # in bold before the text


@dataclass(frozen=True)
class Items:
    items: tuple[str, ...]


Block = Heading | Text | Items

# Each label in Dutch and in English.
_WORDS: dict[str, tuple[str, str]] = {
    "title": ("Talentontwikkelportfolio van {user}", "Talent development portfolio of {user}"),
    "period": ("Periode", "Period"),
    "range": ("{first} t/m {last}", "{first} to {last}"),
    "made_on": ("Gemaakt op", "Made on"),
    "yours": (
        "Dit portfolio is van jou: alleen jij kunt het maken, en jij bepaalt met wie je het "
        "deelt, bijvoorbeeld in het talentontwikkelgesprek met je leidinggevende.",
        "This portfolio is yours: only you can make it, and you decide whom you share it with, "
        "for instance in the talent development conversation with your manager.",
    ),
    "summary": ("Overzicht", "Summary"),
    "n_cycles": (
        "{n} ({completed} afgerond, {cancelled} geannuleerd, {planned} gepland)",
        "{n} ({completed} completed, {cancelled} cancelled, {planned} planned)",
    ),
    "lessons_recorded": ("Lessen vastgelegd", "Lessons recorded"),
    "lessons_accepted": ("Lessen opgenomen in het corpus", "Lessons accepted into the corpus"),
    "feedback_given": ("Feedback gegeven", "Feedback given"),
    "sessions": ("Coachingsessies", "Coaching sessions"),
    "nothing": ("Niets in deze periode.", "Nothing in this period."),
    "situation": ("Situatie", "Situation"),
    "grounded": ("Onderbouwd met documenten", "Grounded in the organisation's documents"),
    "yes": ("ja", "yes"),
    "no": ("nee", "no"),
    "questions": ("Reflectievragen waaraan je werkte", "Reflective questions you worked on"),
    "suggestions": ("Suggesties (met hun bronnen)", "Suggestions (with their sources)"),
    "your_feedback": ("Jouw feedback", "Your feedback"),
    "helpful": ("nuttig", "helpful"),
    "not_helpful": ("niet nuttig", "not helpful"),
    "cycles": ("Vitale weekcycli", "Vital week cycles"),
    "role": ("Jouw rol", "Your role"),
    "member": ("deelnemer", "member"),
    "facilitator": ("begeleider", "facilitator"),
    "state": ("Status", "State"),
    "planned": ("gepland", "planned"),
    "completed": ("afgerond", "completed"),
    "cancelled": ("geannuleerd", "cancelled"),
    "your_situation": ("Jouw situatie", "Your situation"),
    "day": ("Dag {day}, {on}: {title}", "Day {day}, {on}: {title}"),
    "experiment": (" (je experiment)", " (your experiment)"),
    "check_in": ("Check-in: energie {energy} van 5", "Check-in: energy {energy} of 5"),
    "did": ("Gedaan", "Did"),
    "noticed": ("Opgemerkt", "Noticed"),
    "nothing_own": ("Geen eigen notities of check-ins.", "No notes or check-ins of your own."),
    "cycle_lessons": ("Lesconcepten uit deze cyclus", "Lesson drafts from this cycle"),
    "lessons": ("Geleerde lessen", "Lessons learned"),
    "pending": ("wacht op beoordeling", "waiting for review"),
    "approved": ("opgenomen in het corpus", "accepted into the corpus"),
    "rejected": ("niet opgenomen", "not accepted"),
    "feedback": ("Feedback", "Feedback"),
}
LABELS: dict[Language, dict[str, str]] = {
    "nl": {key: dutch for key, (dutch, _) in _WORDS.items()},
    "en": {key: english for key, (_, english) in _WORDS.items()},
}


def blocks(portfolio: Portfolio, language: Language) -> list[Block]:
    """The whole portfolio in `language`; the owner's own text as they wrote it."""
    words = LABELS[language]
    return [
        *_header(portfolio, words),
        *_sessions(portfolio, words),
        *_cycles(portfolio, language),
        *_listed(words["lessons"], [_lesson(lesson, words) for lesson in portfolio.lessons], words),
        *_listed(
            words["feedback"],
            [f"{e.made}: {_verdict(e.session, words)}" for e in portfolio.feedback()],
            words,
        ),
    ]


def _header(portfolio: Portfolio, words: dict[str, str]) -> list[Block]:
    period = words["range"].format(first=portfolio.period.first, last=portfolio.period.last)
    states = [cycle.state for cycle in portfolio.cycles]
    counts = {state: states.count(state) for state in ("planned", "completed", "cancelled")}
    accepted = [lesson for lesson in portfolio.lessons if lesson.state == "approved"]
    return [
        Heading(1, words["title"].format(user=portfolio.user)),
        Text(label=words["period"], text=period),
        Text(label=words["made_on"], text=portfolio.made_on.isoformat()),
        Text(words["yours"]),
        Heading(2, words["summary"]),
        Items(
            (
                f"{words['sessions']}: {len(portfolio.sessions)}",
                f"{words['cycles']}: {words['n_cycles'].format(n=len(states), **counts)}",
                f"{words['lessons_recorded']}: {len(portfolio.lessons)}",
                f"{words['lessons_accepted']}: {len(accepted)}",
                f"{words['feedback_given']}: {len(portfolio.feedback())}",
            )
        ),
    ]


def _sessions(portfolio: Portfolio, words: dict[str, str]) -> list[Block]:
    found: list[Block] = [Heading(2, words["sessions"])]
    if not portfolio.sessions:
        found.append(Text(words["nothing"]))
    for entry in portfolio.sessions:
        result = entry.session.result
        found += [
            Heading(3, entry.made.isoformat()),
            Text(label=words["situation"], text=result.situation),
            Text(label=words["grounded"], text=words["yes" if result.grounded else "no"]),
        ]
        if result.didactic_questions:
            questions = tuple(question.text for question in result.didactic_questions)
            found += [Text(words["questions"] + ":"), Items(questions)]
        if result.suggestions:
            cited = tuple(f"{s.title} ({', '.join(s.citations)})" for s in result.suggestions)
            found += [Text(words["suggestions"] + ":"), Items(cited)]
        if entry.session.helpful is not None:
            found.append(Text(label=words["your_feedback"], text=_verdict(entry.session, words)))
    return found


def _verdict(session: StoredSession, words: dict[str, str]) -> str:
    verdict = words["helpful" if session.helpful else "not_helpful"]
    return f"{verdict}: {session.comment}" if session.comment else verdict


def _cycles(portfolio: Portfolio, language: Language) -> list[Block]:
    words = LABELS[language]
    found: list[Block] = [Heading(2, words["cycles"])]
    if not portfolio.cycles:
        found.append(Text(words["nothing"]))
    for cycle in portfolio.cycles:
        dates = words["range"].format(first=cycle.days[0].on, last=cycle.days[-1].on)
        found += [
            Heading(3, f"{cycle.group}: {dates}"),
            Text(label=words["state"], text=words[cycle.state]),
            Text(label=words["role"], text=words["facilitator" if cycle.facilitator else "member"]),
        ]
        if cycle.situation is not None:
            found.append(Text(label=words["your_situation"], text=cycle.situation))
        lived = [day for day in cycle.days if day.note or day.check_in]
        if not lived:
            found.append(Text(words["nothing_own"]))
        for day in lived:
            found += _day(day, language)
        if cycle.lessons:
            drafts = tuple(_lesson(lesson, words) for lesson in cycle.lessons)
            found += [Text(words["cycle_lessons"] + ":"), Items(drafts)]
    return found


def _day(day: CycleDay, language: Language) -> list[Block]:
    """One day as the owner lived it: their check-in, what they did and noticed."""
    words = LABELS[language]
    title = day.title[language] + (words["experiment"] if day.number == EXPERIMENT_DAY else "")
    lines: list[str] = []
    if day.check_in is not None:
        said = words["check_in"].format(energy=day.check_in.energy)
        lines.append(f"{said}, “{day.check_in.word}”" if day.check_in.word else said)
    if day.note is not None:
        wrote = (("did", day.note.did), ("noticed", day.note.noticed))
        lines += [f"{words[key]}: {text}" for key, text in wrote if text]
    return [
        Heading(4, words["day"].format(day=day.number, on=day.on, title=title)),
        Items(tuple(lines)),
    ]


def _lesson(lesson: Lesson, words: dict[str, str]) -> str:
    return f"{lesson.made}: {lesson.title} ({words[lesson.state]})"


def _listed(title: str, items: Sequence[str], words: dict[str, str]) -> list[Block]:
    """A section of one list, with its count in the title."""
    return [
        Heading(2, f"{title} ({len(items)})"),
        Items(tuple(items)) if items else Text(words["nothing"]),
    ]


# -- written out ----------------------------------------------------------------------------


def markdown(portfolio: Portfolio, language: Language) -> str:
    """The portfolio as a Markdown file; an item's later lines are indented to stay in it."""
    lines: list[str] = []
    for block in blocks(portfolio, language):
        match block:
            case Heading(level, text):
                lines += ["#" * level + " " + " ".join(text.split()), ""]  # on one line
            case Text(text, label):
                lines += [f"**{label}:** {text}" if label else text, ""]
            case Items(items):
                lines += [*("- " + item.replace("\n", "\n  ") for item in items), ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def html_page(portfolio: Portfolio, language: Language, site: str = "/") -> str:
    """The portfolio as a page to print: every text escaped, its styles in the stylesheets of
    `site` (the CSP allows no inline style). Given as the service's full address, they are
    found too when the page is opened from a saved file (the web page saves it)."""
    body: list[str] = []
    for block in blocks(portfolio, language):
        match block:
            case Heading(level, text):
                body.append(f"<h{level}>{_escaped(text)}</h{level}>")
            case Text(text, label):
                bold = f"<strong>{_escaped(label)}:</strong> " if label else ""
                body.append(f"<p>{bold}{_escaped(text)}</p>")
            case Items(items):
                listed = "".join(f"<li>{_escaped(item)}</li>" for item in items)
                body.append(f"<ul>{listed}</ul>")
    title = LABELS[language]["title"].format(user=portfolio.user)
    links = "".join(
        f'<link rel="stylesheet" href="{_escaped(site + href)}">\n' for href in STYLESHEETS
    )
    return (
        f'<!doctype html>\n<html lang="{language}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_escaped(title)}</title>\n{links}</head>\n"
        '<body>\n<main class="portfolio">\n' + "\n".join(body) + "\n</main>\n</body>\n</html>\n"
    )


def _escaped(text: str) -> str:
    """User text as HTML text: markup shows as written, line breaks stay."""
    return html.escape(text).replace("\n", "<br>\n")
