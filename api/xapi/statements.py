"""xAPI 1.0.3 statements for learning events (`api.db.learning`).

Verbs come from the ADL vocabulary where one fits; "had a lesson accepted into the corpus" has
none, so it is the coach's own verb under the base URL. Activities have stable ids under the
base URL (a session, a lesson document, a group, a cycle and its days). The actor is an
`account`: the home page and an opaque id (an HMAC of the user id under the deployment's key),
never an e-mail address. A situation's text goes in only when its user allows it.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from api.db.learning import EventKind, LearningEvent
from coach.settings import Settings

ADL = "http://adlnet.gov/expapi/verbs/"
MEETING = "http://adlnet.gov/expapi/activities/meeting"
INTERACTION = "http://adlnet.gov/expapi/activities/interaction"
FILE = "http://adlnet.gov/expapi/activities/file"


@dataclass(frozen=True)
class RecordsConfig:
    """Where statements go and how they name things; built once from the settings."""

    lrs_url: str  # the LRS's xAPI endpoint, e.g. https://lrs.example.org/xAPI
    username: str
    password: str
    base_url: str  # activities, the coach's own verbs and extensions live under it
    interval_seconds: float = 2.0  # how often a worker looks for statements to deliver

    @classmethod
    def from_settings(cls, settings: Settings) -> RecordsConfig | None:
        """The configuration, or None when no LRS is set (no records are kept then)."""
        if not (settings.lrs_url and settings.lrs_username and settings.lrs_password):
            return None
        return cls(
            lrs_url=settings.lrs_url,
            username=settings.lrs_username,
            password=settings.lrs_password.get_secret_value(),
            base_url=settings.xapi_base_url.rstrip("/"),
            interval_seconds=settings.xapi_interval_seconds,
        )

    def __repr__(self) -> str:  # the password stays out of logs and tracebacks
        return f"RecordsConfig(lrs_url={self.lrs_url!r}, base_url={self.base_url!r})"


def _verbs(base: str) -> dict[EventKind, tuple[str, str]]:
    return {
        "asked": (ADL + "asked", "asked"),
        "feedback": (ADL + "responded", "responded"),
        "lesson_recorded": (ADL + "shared", "shared"),
        "lesson_accepted": (f"{base}/verbs/contributed", "had a lesson accepted into"),
        "joined_group": (ADL + "registered", "registered"),
        "attended_day": (ADL + "attended", "attended"),
        "completed_cycle": (ADL + "completed", "completed"),
    }


def opaque_id(key: str, user: str) -> str:
    """The same 32 hex digits for a user in every statement of this deployment; not the user
    id, and not to be reversed without the key (the LRS's admins can still tell statements of
    one person apart, as they must)."""
    return hmac.new(key.encode(), user.encode(), hashlib.sha256).hexdigest()[:32]


def _activity(
    config: RecordsConfig, path: str, kind: str, name: str, description: dict[str, str] | None
) -> dict[str, Any]:
    definition: dict[str, Any] = {"type": kind, "name": {"en-US": name}}
    if description:
        definition["description"] = description
    return {"objectType": "Activity", "id": f"{config.base_url}/{path}", "definition": definition}


def _object(config: RecordsConfig, event: LearningEvent, show_situation: bool) -> dict[str, Any]:
    situation = (
        {event.language or "und": event.situation} if show_situation and event.situation else None
    )
    if event.kind in ("asked", "feedback"):
        return _activity(
            config, f"sessions/{event.object_id}", INTERACTION, "Coaching session", situation
        )
    if event.kind in ("lesson_recorded", "lesson_accepted"):
        return _activity(config, f"lessons/{event.object_id}", FILE, "Lesson learned", None)
    if event.kind == "joined_group":
        kind = f"{config.base_url}/activity-types/learning-group"
        return _activity(config, f"groups/{event.object_id}", kind, "Learning group", None)
    if event.kind == "attended_day":
        path = f"cycles/{event.object_id}/days/{event.day}"
        return _activity(config, path, MEETING, f"Vital week cycle, day {event.day}", None)
    return _activity(config, f"cycles/{event.object_id}", MEETING, "Vital week cycle", None)


def without_situation(made: dict[str, Any]) -> dict[str, Any]:
    """`made` without what only sharing one's situations allows (the situation's text, the
    object's description): for statements still queued when their user stops sharing."""
    definition = made.get("object", {}).get("definition", {})
    if "description" not in definition:
        return made
    kept = {key: value for key, value in definition.items() if key != "description"}
    return made | {"object": made["object"] | {"definition": kept}}


def statement(
    config: RecordsConfig, actor_key: str, event: LearningEvent, *, show_situation: bool
) -> dict[str, Any]:
    """The statement of `event`, with a new id (the one the LRS keeps: a retry sends it again
    and cannot add a second)."""
    verb, display = _verbs(config.base_url)[event.kind]
    context: dict[str, Any] = {"platform": "coach"}
    if event.language:
        context["language"] = event.language
    if event.team:
        context["extensions"] = {f"{config.base_url}/extensions/team": event.team}
    if event.kind == "attended_day":
        cycle = _activity(config, f"cycles/{event.object_id}", MEETING, "Vital week cycle", None)
        context["contextActivities"] = {"parent": [cycle]}
    made: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "actor": {
            "objectType": "Agent",
            "account": {"homePage": config.base_url, "name": opaque_id(actor_key, event.user)},
        },
        "verb": {"id": verb, "display": {"en-US": display}},
        "object": _object(config, event, show_situation),
        "context": context,
        "timestamp": event.at.isoformat(),
    }
    if event.kind == "completed_cycle":  # told once its last meeting has ended
        made["result"] = {"completion": True}
    if event.kind == "feedback" and event.helpful is not None:
        made["result"] = {
            "success": event.helpful,
            "response": "helpful" if event.helpful else "not helpful",
        }
    return made
