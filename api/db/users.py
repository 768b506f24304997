"""What a user chose about their own data, and forgetting a user: every row about them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete

from api.db.sessions import SessionStore
from api.db.tables import DraftRow, SessionRow, UserSettingsRow


@dataclass(frozen=True)
class UserSettings:
    """Off by default: nothing of a user's is shown to others until they turn it on."""

    # L&D may read the situations the corpus had nothing on (without any user id)
    share_situations: bool = False


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
            return UserSettings(row.share_situations) if row is not None else UserSettings()

    def update(self, user_id: str, settings: UserSettings) -> UserSettings:
        with self._sessions.transaction() as db:
            row = db.get(UserSettingsRow, user_id, with_for_update=True)
            if row is None:
                row = UserSettingsRow(user_id=user_id)
                db.add(row)
            row.share_situations = settings.share_situations
            row.updated_at = datetime.now(UTC)
        return settings

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
