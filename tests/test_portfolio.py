"""The talent development portfolio's content (api.portfolio), from stored records built here:
only the owner's own data, in the period, in their language; Markdown and an escaped HTML page
that say the same. The route's period and file name rules too (api.routes.portfolio)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from api.db.drafts import StoredDraft
from api.db.groups import MEMBER, Person, StoredGroup
from api.db.sessions import StoredSession
from api.db.stored_cycles import CheckIn, Note, StoredCycle
from api.portfolio import (
    STYLESHEETS,
    CycleDay,
    CycleEntry,
    Period,
    Portfolio,
    html_page,
    markdown,
    portfolio_of,
)
from api.routes.portfolio import file_name, period_of
from coach.cycles.agenda import MemberSituation, agenda_from_results
from coach.cycles.planning import Meeting
from coach.ingest.didactics import load_didactics
from coach.result import CoachingResult, DidacticQuestionOut, Source, Suggestion, Timings
from coach.vocabulary import DraftState
from tests.conftest import DIDACTICS_SOURCE

ZONE = ZoneInfo("Europe/Amsterdam")
# Up to a day of a cycle still to come (whether a cycle was held is judged by the clock).
PERIOD = Period(date(2026, 1, 1), date(2099, 6, 30))
MADE_ON = date(2026, 7, 1)
CALLBACKS = "Klanten bellen ons steeds opnieuw over dezelfde storing."
SCRIPT = "Mijn planning loopt vast <script>alert('x')</script> & niemand weet waarom."
PIET_SITUATION = "PIET: the heat pump leaves the house cold."
QUESTION = "Wat wilde je bereiken, en wat gebeurde er werkelijk?"


def result(situation: str, grounded: bool = True) -> CoachingResult:
    source = Source(
        id="terugbellen-topdesk",
        title="Terugbellen via Topdesk",
        type="lesson",
        language="nl",
        team="Servicedesk",
        owner="Sanne",
        path="lessons/terugbellen-topdesk.md",
        score=0.8,
        snippet="...",
    )
    return CoachingResult(
        situation=situation,
        language="nl",
        grounded=grounded,
        suggestions=[
            Suggestion(
                title="Zet terugbelverzoeken in Topdesk",
                action="Maak er een taak van.",
                kind="improve",
                citations=[source.id],
            )
        ]
        if grounded
        else [],
        didactic_questions=[DidacticQuestionOut(id="aar", text=QUESTION, why="AAR")],
        colleagues=[],
        sources=[source] if grounded else [],
        generator="extractive",
        notes=[],
        timings_ms=Timings(retrieval=1, generation=1, total=2),
    )


def session(
    at: datetime,
    situation: str,
    user: str = "pia",
    helpful: bool | None = None,
    comment: str | None = None,
    grounded: bool = True,
) -> StoredSession:
    return StoredSession(
        f"s-{situation[:8]}-{at:%Y%m%d}", user, at, result(situation, grounded), helpful, comment
    )


def draft(
    at: datetime, doc_id: str, session_id: str, state: DraftState, user: str = "pia"
) -> StoredDraft:
    return StoredDraft(f"d-{doc_id}", user, at, doc_id, session_id, state, None, None)


def meetings(first: date) -> tuple[Meeting, ...]:
    days = [first + timedelta(days=n) for n in range(4)]
    return tuple(
        Meeting(
            n,
            datetime(d.year, d.month, d.day, 9, 30, tzinfo=ZONE),
            datetime(d.year, d.month, d.day, 10, 30, tzinfo=ZONE),
        )
        for n, d in enumerate(days, start=1)
    )


GROUP = StoredGroup(
    "g1",
    "Storingen",
    datetime(2026, 1, 5, tzinfo=UTC),
    "gijs",
    [Person("pia", MEMBER), Person("piet", MEMBER)],
)
PIA_CYCLE_SESSION = session(datetime(2026, 3, 20, 8, tzinfo=UTC), SCRIPT)
PIET_CYCLE_SESSION = session(datetime(2026, 3, 20, 8, tzinfo=UTC), PIET_SITUATION, user="piet")


def cycle(first: date, state: str = "planned", cycle_id: str = "c1") -> StoredCycle:
    members = [
        MemberSituation(member="pia", situation=SCRIPT, session_id=PIA_CYCLE_SESSION.id),
        MemberSituation(member="piet", situation=PIET_SITUATION, session_id=PIET_CYCLE_SESSION.id),
    ]
    agenda = agenda_from_results(
        load_didactics(DIDACTICS_SOURCE),
        members,
        [PIA_CYCLE_SESSION.result, PIET_CYCLE_SESSION.result],
    )
    return StoredCycle(
        id=cycle_id,
        group=GROUP,
        proposed_by="pia",
        created_at=datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(days=7),
        start=first,
        time="09:30",
        time_zone="Europe/Amsterdam",
        place=None,
        holidays=[],
        meetings=meetings(first),
        agenda=agenda,
        state=state,
        sequence=0,
        notes=[
            Note(3, "pia", "Drie klanten binnen twee uur teruggebeld", "Ze waren opgelucht"),
            Note(3, "piet", "PIET-DID", "PIET-NOTICED"),
        ],
        check_ins=[
            CheckIn(1, "pia", 4, "rustig", False),
            CheckIn(1, "piet", 2, "PIET-WORD", True),  # shared with the group, still his
        ],
    )


def build(user: str = "pia") -> Portfolio:
    sessions = [
        session(datetime(2026, 3, 2, 10, tzinfo=UTC), CALLBACKS, helpful=True, comment="Helder!"),
        session(datetime(2025, 6, 1, 10, tzinfo=UTC), "OLD: voor de periode"),
        # 00:30 on New Year's Day in Amsterdam: in the period, though still 2025 in UTC
        session(
            datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "NEW-YEAR: net op tijd", grounded=False
        ),
        PIA_CYCLE_SESSION,
        PIET_CYCLE_SESSION,
        session(datetime(2026, 3, 3, 10, tzinfo=UTC), "PIET-SESSION", user="piet", helpful=False),
    ]
    drafts = [
        draft(
            datetime(2026, 3, 27, 12, tzinfo=UTC),
            "les-terugbellen",
            PIA_CYCLE_SESSION.id,
            "approved",
        ),
        draft(datetime(2026, 3, 4, 12, tzinfo=UTC), "les-pending", sessions[0].id, "pending"),
        draft(datetime(2025, 6, 2, 12, tzinfo=UTC), "les-old", sessions[1].id, "rejected"),
        draft(
            datetime(2026, 3, 27, 12, tzinfo=UTC),
            "les-piet",
            PIET_CYCLE_SESSION.id,
            "approved",
            "piet",
        ),
    ]
    titles = {
        "les-terugbellen": "Bel terug binnen twee uur",
        "les-pending": "Een les in afwachting",
        "les-old": "OLD-LESSON",
        "les-piet": "PIET-LESSON",
    }
    cycles = [
        cycle(date(2026, 3, 23)),  # held: its last meeting has ended
        cycle(date(2026, 5, 4), state="cancelled", cycle_id="c2"),
        cycle(date(2099, 6, 29), cycle_id="c3"),  # planned; two of its days in the period
        cycle(date(2025, 11, 3), cycle_id="c0"),  # before the period
    ]
    return portfolio_of(user, PERIOD, MADE_ON, ZONE, sessions, drafts, titles, cycles)


def test_only_the_owners_own_data_appears() -> None:
    text = markdown(build(), "nl")
    for others in ("PIET", "piet"):
        assert others not in text  # his situation, notes, check-in word, session and lesson
    assert "Drie klanten binnen twee uur teruggebeld" in text and "rustig" in text
    assert html_page(build(), "nl").count("PIET") == 0


def test_the_period_holds_what_happened_in_it_by_local_date() -> None:
    made = build()
    assert [entry.session.result.situation for entry in made.sessions] == [
        "NEW-YEAR: net op tijd",
        CALLBACKS,
        SCRIPT,
    ]
    assert [lesson.title for lesson in made.lessons] == [
        "Een les in afwachting",
        "Bel terug binnen twee uur",
    ]
    # A cycle is in the period when one of its meetings is; oldest first.
    assert [c.days[0].on for c in made.cycles] == [
        date(2026, 3, 23),
        date(2026, 5, 4),
        date(2099, 6, 29),
    ]
    text = markdown(made, "nl")
    assert "OLD" not in text and "2025-11-03" not in text


def test_the_markdown_shows_sessions_cycles_and_lessons_in_dutch() -> None:
    text = markdown(build(), "nl")
    assert text.startswith("# Talentontwikkelportfolio van pia\n")
    assert "**Periode:** 2026-01-01 t/m 2099-06-30" in text
    assert "**Gemaakt op:** 2026-07-01" in text
    assert "jij bepaalt met wie je het deelt" in text
    summary = text.split("## Overzicht\n")[1].split("\n## ")[0]
    assert summary.strip().splitlines() == [
        "- Coachingsessies: 3",
        "- Vitale weekcycli: 3 (1 afgerond, 1 geannuleerd, 1 gepland)",
        "- Lessen vastgelegd: 2",
        "- Lessen opgenomen in het corpus: 1",
        "- Feedback gegeven: 1",
    ]
    # The questions worked on, the cited suggestion, the feedback.
    assert f"- {QUESTION}" in text
    assert "- Zet terugbelverzoeken in Topdesk (terugbellen-topdesk)" in text
    assert "**Jouw feedback:** nuttig: Helder!" in text
    # The cycle: state, own situation, day 1's check-in, day 3's experiment, its lesson.
    held = text.split("### Storingen: 2026-03-23 t/m 2026-03-26\n")[1].split("\n### ")[0]
    assert "**Status:** afgerond" in held and "**Jouw rol:** deelnemer" in held
    assert f"**Jouw situatie:** {SCRIPT}" in held
    assert "- Check-in: energie 4 van 5, “rustig”" in held
    experiment = held.split("#### Dag 3, 2026-03-25: Actie (je experiment)\n")[1]
    assert experiment.startswith(
        "\n- Gedaan: Drie klanten binnen twee uur teruggebeld\n- Opgemerkt: Ze waren opgelucht"
    )
    assert "- 2026-03-27: Bel terug binnen twee uur (opgenomen in het corpus)" in held
    assert (
        "## Geleerde lessen (2)\n\n- 2026-03-04: Een les in afwachting (wacht op beoordeling)"
        in text
    )
    assert "## Feedback (1)\n\n- 2026-03-02: nuttig: Helder!" in text


def test_labels_follow_the_chosen_language_and_the_users_text_stays_as_written() -> None:
    text = markdown(build(), "en")
    assert text.startswith("# Talent development portfolio of pia\n")
    assert "- Vital week cycles: 3 (1 completed, 1 cancelled, 1 planned)" in text
    assert "#### Day 3, 2026-03-25: Action (your experiment)" in text
    assert "(accepted into the corpus)" in text
    assert "- Did: Drie klanten binnen twee uur teruggebeld" in text  # not translated
    assert "Talentontwikkel" not in text and "Gedaan" not in text


def test_the_facilitator_sees_the_cycle_but_no_members_content() -> None:
    text = markdown(build("gijs"), "nl")
    assert "**Jouw rol:** begeleider" in text
    assert "Geen eigen notities of check-ins." in text
    for members in ("pia", "PIET", "rustig", "Drie klanten", "alert"):
        assert members not in text
    assert "- Coachingsessies: 0" in text and "Niets in deze periode." in text


def test_the_html_page_escapes_user_text_and_links_its_stylesheets() -> None:
    page = html_page(build(), "nl")
    assert "<script>" not in page and "alert('x')</script>" not in page
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; niemand" in page
    assert page.startswith('<!doctype html>\n<html lang="nl">')
    # The CSP refuses inline styles: the styles come from the linked files only.
    assert "<style" not in page and "style=" not in page
    for href in STYLESHEETS:
        assert f'<link rel="stylesheet" href="/{href}">' in page
    # From the service's full address, a saved copy finds them too.
    saved = html_page(build(), "nl", "https://coach.example/")
    assert '<link rel="stylesheet" href="https://coach.example/static/print.css">' in saved
    assert "<h4>Dag 3, 2026-03-25: Actie (je experiment)</h4>" in page


def test_a_multi_line_text_stays_in_its_list_item_and_heading() -> None:
    note = Note(3, "pia", "regel een\nregel twee", "")
    day = CycleDay(3, date(2026, 3, 25), {"nl": "Actie", "en": "Action"}, note, None)
    entry = CycleEntry("Twee\nregels", False, "planned", None, (day,), ())
    made = Portfolio("pia", PERIOD, MADE_ON, (), (entry,), ())
    text = markdown(made, "nl")
    assert "### Twee regels: 2026-03-25 t/m 2026-03-25" in text
    assert "- Gedaan: regel een\n  regel twee\n" in text
    assert "<li>Gedaan: regel een<br>\nregel twee</li>" in html_page(made, "nl")


def test_the_period_is_twelve_months_up_to_today_unless_given() -> None:
    today = date(2026, 11, 30)
    assert period_of(None, None, today) == Period(date(2025, 11, 30), today)
    assert period_of(None, date(2024, 2, 29), today) == Period(date(2023, 2, 28), date(2024, 2, 29))
    assert period_of(date(2020, 1, 1), None, today) == Period(date(2020, 1, 1), today)
    assert period_of(None, date(1, 6, 1), today).first == date.min
    after = period_of(date(2026, 12, 1), None, today)  # a start after the end: no days
    assert after == Period(date(2026, 12, 1), today) and not after.holds(today)


def test_the_file_name_is_safe_whatever_the_user_id() -> None:
    assert file_name("pia", PERIOD) == "portfolio-pia-2026-01-01-2099-06-30"
    assert file_name('a"b/../c d\n', PERIOD) == "portfolio-a-b-c-d-2026-01-01-2099-06-30"
    assert file_name("Zoë", PERIOD).startswith("portfolio-Zo-2026")
    assert file_name("///", PERIOD).startswith("portfolio-user-")
