"""What a professional did that counts as learning, told by the stores as it happens: inside
the transaction that stores it, so a listener (the xAPI outbox, `api.xapi`) writes its record
in the same transaction and neither is kept without the other."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

EventKind = Literal[
    "asked",  # asked the coach about a situation (object: the session)
    "feedback",  # gave feedback on an answer (the session)
    "lesson_recorded",  # recorded a lesson learned (the lesson document)
    "lesson_accepted",  # a curator accepted their lesson into the corpus (the document)
    "joined_group",  # joined a learning group (the group)
    "attended_day",  # took part in one day of a vital week cycle (the cycle, with `day`)
    "completed_cycle",  # took part in its last day (the cycle)
]


@dataclass(frozen=True)
class LearningEvent:
    kind: EventKind
    user: str
    object_id: str  # the session, document, group or cycle id
    at: datetime  # when it happened (UTC)
    language: str | None = None  # of the situation, when there is one
    # the team a question was asked within (a filter on the corpus's teams); never a group's
    # team, which is free text its members typed
    team: str | None = None
    day: int | None = None  # a cycle day, 1 to 4
    situation: str | None = None  # its text: a listener shows it only if the user allows it
    helpful: bool | None = None  # feedback given


# Called with the open transaction and the event; whatever it adds commits with the action.
Listener = Callable[[Session, LearningEvent], None]
