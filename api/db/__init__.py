"""The service's own database (SQLAlchemy): coaching sessions and the draft lessons recorded
after them. SQLite by default, PostgreSQL by URL; documents live in the corpus, not here."""

from api.db.drafts import DraftStore, StoredDraft
from api.db.sessions import SessionStore, StoredSession

__all__ = ["DraftStore", "SessionStore", "StoredDraft", "StoredSession"]
