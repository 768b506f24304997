"""The agenda of a vital week cycle (coach.cycles.agenda), built by a coach in memory over the
test coaching corpus: three members, one Dutch, one English, one out of scope."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from coach.cycles.agenda import (
    CHECK_IN,
    Agenda,
    MemberSituation,
    agenda_from_results,
    agenda_text,
    build_agenda,
    without_member,
)
from coach.engine import Coach
from coach.errors import InvalidRequestError
from coach.ingest.corpus import Document
from coach.ingest.didactics import Didactics, load_didactics
from coach.result import CoachingResult
from coach.retrieve.filters import Filters
from coach.testing import FixedGenerator, memory_coach
from tests.coaching_corpus import coaching_documents
from tests.conftest import DIDACTICS_SOURCE

CALLBACKS = "Klanten bellen ons steeds opnieuw over dezelfde storing omdat niemand terugbelt."
HEAT_PUMP = "After we install a heat pump the customer says the house stays cold."
OUT_OF_SCOPE = "Mijn buurman maakt al weken ruzie over de schutting tussen onze tuinen."
MEMBERS = (
    MemberSituation(member="Anna", situation=CALLBACKS),
    MemberSituation(member="Ben", situation=HEAT_PUMP),
    MemberSituation(member="Carla", situation=OUT_OF_SCOPE),
)


@pytest.fixture(scope="module")
def documents(tmp_path_factory: pytest.TempPathFactory) -> list[Document]:
    return coaching_documents(tmp_path_factory.mktemp("unit-cycle-agenda"))


@pytest.fixture(scope="module")
def didactics() -> Didactics:
    return load_didactics(DIDACTICS_SOURCE)


class Built:
    def __init__(self, documents: list[Document], didactics: Didactics) -> None:
        self.generator = FixedGenerator()
        self.coach = memory_coach(documents, didactics=didactics, generator=self.generator)
        self.asked: list[str] = []
        self.results: list[CoachingResult] = []
        ask = self.coach.ask

        def counted(
            situation: str,
            filters: Filters | None = None,
            k: int = 5,
            progress: Callable[[str], None] | None = None,
        ) -> CoachingResult:
            self.asked.append(situation)
            result = ask(situation, filters, k, progress)
            self.results.append(result)
            return result

        self.coach.ask = counted  # type: ignore[method-assign]  # a wrapper that counts calls
        self.agenda = build_agenda(self.coach, MEMBERS)

    def result_of(self, member: str) -> CoachingResult:
        return self.results[[m.member for m in MEMBERS].index(member)]


@pytest.fixture(scope="module")
def built(documents: list[Document], didactics: Didactics) -> Built:
    return Built(documents, didactics)


def _phases(didactics: Didactics, *phases: str) -> list[str]:
    return [q.id for phase in phases for q in didactics.questions if q.phase == phase]


def test_each_day_asks_the_questions_of_its_phases(built: Built, didactics: Didactics) -> None:
    expected = [
        ("situation", "analysis"),
        ("options",),
        ("action",),
        ("reflection", "sharing"),
    ]
    agenda = built.agenda
    assert [day.day for day in agenda.days] == [1, 2, 3, 4]
    for day, phases in zip(agenda.days, expected, strict=True):
        assert day.phases == phases
        assert day.check_in == CHECK_IN
        assert [item.member for item in day.items] == ["Anna", "Ben", "Carla"]
        for item in day.items:
            assert {q.phase for q in item.questions} == set(phases)
            assert [q.id for q in item.questions] == _phases(didactics, *phases)
            assert all(q.text and q.why for q in item.questions)
            assert item.lesson_draft == (day.day == 4)
            if day.day != 2:
                assert item.suggestions == () and item.sources == () and item.notes == ()


def test_the_coach_is_asked_once_per_member(built: Built) -> None:
    assert built.asked == [CALLBACKS, HEAT_PUMP, OUT_OF_SCOPE]
    # The two grounded members reached the generator, once each; the out-of-scope one did not.
    assert [request.situation for request in built.generator.requests] == [CALLBACKS, HEAT_PUMP]


def test_suggestions_on_day_two_cite_the_members_own_sources(built: Built) -> None:
    options = built.agenda.days[1]
    for item in options.items[:2]:
        result = built.result_of(item.member)
        assert item.grounded and item.suggestions
        assert list(item.suggestions) == result.suggestions
        source_ids = {source.id for source in result.sources}
        assert {source.id for source in item.sources} == source_ids
        for suggestion in item.suggestions:
            assert suggestion.citations and set(suggestion.citations) <= source_ids
    anna = options.items[0]
    assert {c.owner for c in anna.colleagues} == {"Ahmed Benali, servicedeskmedewerker"}


def test_an_ungrounded_member_gets_questions_and_the_note_but_no_suggestions(
    built: Built,
) -> None:
    carla = built.agenda.days[1].items[2]
    assert not carla.grounded
    assert carla.suggestions == () and carla.sources == () and carla.colleagues == ()
    assert carla.questions and all(q.phase == "options" for q in carla.questions)
    assert carla.notes and "zeggen niets over deze situatie" in carla.notes[0]
    assert "zeggen niets over deze situatie" in agenda_text(built.agenda, 2, "nl")


def test_questions_are_in_the_language_of_each_situation(
    built: Built, didactics: Didactics
) -> None:
    by_id = {q.id: q for q in didactics.questions}
    for day in built.agenda.days:
        anna, ben, carla = day.items
        assert (anna.language, ben.language, carla.language) == ("nl", "en", "nl")
        for item in day.items:
            for question in item.questions:
                assert question.text == by_id[question.id].text[item.language]
                assert question.why == by_id[question.id].why[item.language]
        assert ben.questions[0].text != anna.questions[0].text


def test_day_two_as_text_names_each_grounded_suggestion_and_its_sources(built: Built) -> None:
    text = agenda_text(built.agenda, 2, "en")
    assert text.startswith("Day 2 of 4: Options\n")
    assert CHECK_IN["en"] in text
    for item in built.agenda.days[1].items[:2]:
        first = item.suggestions[0]
        assert first.title in text
        assert all(citation in text for citation in first.citations)
    assert text.index("Anna") < text.index("Ben") < text.index("Carla")


def test_the_other_days_as_text(built: Built) -> None:
    first = agenda_text(built.agenda, 1, "nl")
    assert first.startswith("Dag 1 van 4: De situatie en het doel\n")
    assert CHECK_IN["nl"] in first
    assert all(situation in first for situation in (CALLBACKS, HEAT_PUMP, OUT_OF_SCOPE))
    for day in (2, 3, 4):
        assert CALLBACKS not in agenda_text(built.agenda, day, "nl")
    third = agenda_text(built.agenda, 3, "en")
    for item in built.agenda.days[2].items:
        assert all(q.text in third for q in item.questions)
    assert "lesconcept" in agenda_text(built.agenda, 4, "nl")
    with pytest.raises(InvalidRequestError):
        agenda_text(built.agenda, 5, "nl")


def test_the_agenda_is_json_data_that_reads_back(built: Built) -> None:
    data = json.loads(json.dumps(built.agenda.to_dict()))
    assert Agenda.model_validate(data) == built.agenda
    assert [len(day["items"]) for day in data["days"]] == [3, 3, 3, 3]


@pytest.mark.parametrize(
    "members",
    [
        [],
        [MemberSituation(member=" ", situation=CALLBACKS)],
        [MEMBERS[0], MemberSituation(member="Anna", situation=HEAT_PUMP)],
    ],
)
def test_a_group_needs_named_members_each_once(
    documents: list[Document], didactics: Didactics, members: list[MemberSituation]
) -> None:
    coach: Coach = memory_coach(documents, didactics=didactics, generator=FixedGenerator())
    with pytest.raises(InvalidRequestError):
        build_agenda(coach, members)


def test_an_empty_situation_is_refused_by_the_coach(
    documents: list[Document], didactics: Didactics
) -> None:
    coach = memory_coach(documents, didactics=didactics)
    with pytest.raises(InvalidRequestError, match="empty"):
        build_agenda(coach, [MemberSituation(member="Dirk", situation="  ")])


def test_an_earlier_result_builds_the_same_agenda_and_keeps_its_session(
    built: Built, didactics: Didactics
) -> None:
    brought = (MEMBERS[0].model_copy(update={"session_id": "s-anna"}), *MEMBERS[1:])
    agenda = agenda_from_results(didactics, brought, built.results)
    assert agenda.days == built.agenda.days
    assert [m.session_id for m in agenda.members] == ["s-anna", None, None]
    with pytest.raises(InvalidRequestError, match="3 members, 2 coaching results"):
        agenda_from_results(didactics, MEMBERS, built.results[:2])


def test_a_forgotten_member_is_gone_from_every_day(built: Built) -> None:
    kept = without_member(built.agenda, "Ben")
    assert [m.member for m in kept.members] == ["Anna", "Carla"]
    for before, after in zip(built.agenda.days, kept.days, strict=True):
        assert [item.member for item in after.items] == ["Anna", "Carla"]
        assert after.title == before.title and after.phases == before.phases
    assert HEAT_PUMP not in json.dumps(kept.to_dict())
    assert HEAT_PUMP in json.dumps(built.agenda.to_dict())
