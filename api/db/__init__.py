"""The service's own database (SQLAlchemy): coaching sessions, the draft lessons recorded
after them, and what each user chose about their own data. SQLite by default, PostgreSQL by
URL; documents live in the corpus, not here."""

from api.db.cycles import CycleStore
from api.db.drafts import DraftStore, StoredDraft
from api.db.groups import GroupStore, StoredGroup
from api.db.outbox import Outbox, OutboxStatus
from api.db.sessions import InsightRow, SessionStore, StoredSession
from api.db.users import Forgotten, UserSettings, UserStore

__all__ = [
    "CycleStore",
    "DraftStore",
    "Forgotten",
    "GroupStore",
    "InsightRow",
    "Outbox",
    "OutboxStatus",
    "SessionStore",
    "StoredDraft",
    "StoredGroup",
    "StoredSession",
    "UserSettings",
    "UserStore",
]
