"""Learning records of vital week cycles mean what they say, on SQLite and on PostgreSQL: a
member attended a day once that meeting has started (stamped with its start, not with when a
note was written), completed the cycle once its last meeting has ended, each told once; a
cancelled cycle takes no notes and tells nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime, time, timedelta

import pytest
from sqlalchemy.orm import Session

from api.db import CycleStore, GroupStore, SessionStore
from api.db.cycle_records import CycleRecords
from api.db.groups import GroupError
from api.db.learning import LearningEvent
from api.db.stored_cycles import CyclePlan
from api.xapi.statements import RecordsConfig, statement
from coach.cycles.agenda import agenda_from_results
from coach.cycles.planning import plan_cycle
from coach.ingest.didactics import Didactics

ZONE = "Europe/Amsterdam"


@pytest.fixture
def store(database_url: str) -> Iterator[SessionStore]:
    with closing(SessionStore(database_url)) as made:
        yield made


def heard(store: SessionStore) -> list[LearningEvent]:
    told: list[LearningEvent] = []

    def listen(_db: Session, event: LearningEvent) -> None:
        told.append(event)

    store.listeners.append(listen)
    return told


def a_cycle(store: SessionStore, start: date) -> tuple[CycleStore, str]:
    groups = GroupStore(store)
    group = groups.create("pia", "Storingen", ["piet"], None)
    groups.accept(group.id, "piet")
    cycles = CycleStore(store, groups, ZONE, lambda: Didactics(phases=(), questions=()))
    meetings = plan_cycle(start, time(9, 0), time_zone_name=ZONE)
    plan = CyclePlan(start, "09:00", None, [], meetings)
    cycle = cycles.create(group.id, "pia", plan, None, None, {})
    return cycles, cycle.id


def test_attended_is_told_once_the_meeting_started_and_completed_once_it_all_ended(
    store: SessionStore,
) -> None:
    today = datetime.now(UTC).date()
    cycles, cycle_id = a_cycle(store, today - timedelta(days=1))
    told = heard(store)
    meetings = cycles.get(cycle_id, "pia").meetings
    cycles.note(cycle_id, "pia", 1, "Teruggebeld", "Rustig")
    cycles.note(cycle_id, "pia", 4, "Vooruit geschreven", "")  # day 4 has not started
    cycles.check_in(cycle_id, "piet", 1, 3, None, False)
    assert told == []  # writing tells nothing by itself
    records = CycleRecords(store)
    now = meetings[0].end
    assert records.record_due(now) == 2
    assert {(e.kind, e.user, e.day, e.at) for e in told} == {
        ("attended_day", "pia", 1, meetings[0].start),
        ("attended_day", "piet", 1, meetings[0].start),
    }
    assert records.record_due(now) == 0  # once
    after = meetings[-1].end + timedelta(minutes=1)
    assert records.record_due(after) == 3
    assert sorted((e.kind, e.user, e.day) for e in told[2:]) == [
        ("attended_day", "pia", 4),
        ("completed_cycle", "pia", None),
        ("completed_cycle", "piet", None),
    ]
    assert {e.at for e in told if e.kind == "completed_cycle"} == {meetings[-1].end}
    assert records.record_due(after + timedelta(days=1)) == 0
    config = RecordsConfig("http://lrs.invalid/xAPI", "coach", "s3cret", "http://coach.test")
    made = statement(config, "key", told[-1], show_situation=False)
    assert made["result"] == {"completion": True}


def test_a_cancelled_cycle_takes_no_notes_and_tells_nothing(store: SessionStore) -> None:
    today = datetime.now(UTC).date()
    cycles, cycle_id = a_cycle(store, today + timedelta(days=7))
    cycles.note(cycle_id, "pia", 2, "Gedaan", "")
    cycles.cancel(cycle_id, "piet")
    told = heard(store)
    with pytest.raises(GroupError) as refused:
        cycles.note(cycle_id, "pia", 4, "Dag 4", "")
    assert refused.value.status == 409 and "cancelled" in refused.value.detail
    with pytest.raises(GroupError):
        cycles.check_in(cycle_id, "piet", 4, 3, None, False)
    assert CycleRecords(store).record_due(datetime.now(UTC) + timedelta(days=30)) == 0
    assert told == []


def test_a_held_cycle_is_neither_moved_nor_cancelled_and_completed_is_for_members(
    store: SessionStore,
) -> None:
    today = datetime.now(UTC).date()
    cycles, cycle_id = a_cycle(store, today - timedelta(days=14))
    cycles.check_in(cycle_id, "piet", 1, 3, None, False)
    cycles.note(cycle_id, "pia", 4, "Gedaan", "")
    later = plan_cycle(today + timedelta(days=7), time(9, 0), time_zone_name=ZONE)
    with pytest.raises(GroupError) as moved:
        cycles.move(cycle_id, "pia", today + timedelta(days=7), later)
    with pytest.raises(GroupError) as cancelled:
        cycles.cancel(cycle_id, "pia")
    assert (moved.value.status, cancelled.value.status) == (409, 409)
    assert cycles.get(cycle_id, "pia").sequence == 0
    group_id = cycles.get(cycle_id, "pia").group.id
    GroupStore(store).leave(group_id, "piet")  # took part on day 1, then left
    told = heard(store)
    CycleRecords(store).record_due(datetime.now(UTC))
    assert sorted((e.kind, e.user) for e in told) == [
        ("attended_day", "pia"),
        ("attended_day", "piet"),
        ("completed_cycle", "pia"),
    ]


def test_an_empty_agenda_holds_the_days_with_no_items() -> None:
    agenda = agenda_from_results(Didactics(phases=(), questions=()), [], [])
    assert len(agenda.days) == 4 and all(day.items == () for day in agenda.days)
