"""What a user chose about their own data, and forgetting a user: every row about them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite

from api.db.sessions import SessionStore
from api.db.tables import DraftRow, SessionRow, UserSettingsRow

# The two databases the service runs on spell "insert, or update on conflict" alike.
_INSERTS: dict[str, Callable[[type[UserSettingsRow]], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert,
    "postgresql": postgresql.insert,
}


@dataclass(frozen=True)
class UserSettings:
    """Off by default: nothing of a user's is shown to others until they turn it on."""

    # L&D may read the situations the corpus had nothing on (without any user id), and
    # learning records may carry a situation's text
    share_situations: bool = False
    # what they do is recorded in the organisation's LRS (when there is one): on unless they
    # opt out
    learning_records: bool = True


@dataclass(frozen=True)
class Forgotten:
    """How many rows of each kind went when a user was forgotten."""

    sessions: int
    drafts: int
    settings: int


class UserStore:
    """User settings share the sessions' database (the session store is passed in)."""

    def __init__(self, sessions: SessionStore) -> None:
        self._sessions = sessions

    def settings(self, user_id: str) -> UserSettings:
        with self._sessions.transaction() as db:
            row = db.get(UserSettingsRow, user_id)
            if row is None:
                return UserSettings()
            return UserSettings(row.share_situations, row.learning_records is not False)

    def update(self, user_id: str, settings: UserSettings) -> UserSettings:
        """Both settings, as `change` sets them."""
        return self.change(user_id, settings.share_situations, settings.learning_records)

    def change(
        self,
        user_id: str,
        share_situations: bool | None = None,
        learning_records: bool | None = None,
    ) -> UserSettings:
        """Set the settings given (None: leave it), in one statement: two requests at once that
        change different settings both keep their change (reading both and writing both back
        lost one); the settings as stored afterwards."""
        given = {
            name: value
            for name, value in (
                ("share_situations", share_situations),
                ("learning_records", learning_records),
            )
            if value is not None
        }
        values = {**given, "updated_at": datetime.now(UTC)}
        upsert = _INSERTS[self._sessions.engine.dialect.name](UserSettingsRow)
        statement = upsert.values(
            user_id=user_id, **{"share_situations": False, **values}
        ).on_conflict_do_update(index_elements=[UserSettingsRow.user_id], set_=values)
        with self._sessions.transaction() as db:
            db.execute(statement)
            row = db.get(UserSettingsRow, user_id, populate_existing=True)
            assert row is not None
            return UserSettings(row.share_situations, row.learning_records is not False)

    def forget(self, user_id: str) -> Forgotten:
        """Delete the user's sessions (with their feedback), draft records and settings, in one
        transaction. The drafts' documents live in the corpus: the caller withdraws those."""
        with self._sessions.transaction() as db:
            counts = [
                db.execute(delete(table).where(table.user_id == user_id))
                for table in (SessionRow, DraftRow, UserSettingsRow)
            ]
        sessions, drafts, settings = (int(getattr(c, "rowcount", 0) or 0) for c in counts)
        return Forgotten(sessions=sessions, drafts=drafts, settings=settings)
