"""The outbox's listener: a learning event becomes an xAPI statement queued in the transaction
that stores the action, unless its user opted out of learning records."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.db.learning import LearningEvent
from api.db.outbox import Outbox
from api.db.tables import UserSettingsRow
from api.xapi.statements import RecordsConfig, statement


class LearningRecords:
    """Give it to `SessionStore.listeners`. `actor_key` is the deployment's (`Outbox.actor_key`),
    read once at start: inside a transaction it could not be made."""

    def __init__(self, config: RecordsConfig, actor_key: str) -> None:
        self.config = config
        self._actor_key = actor_key

    def __call__(self, db: Session, event: LearningEvent) -> None:
        chosen = db.get(UserSettingsRow, event.user)
        if chosen is not None and chosen.learning_records is False:
            return
        shows = bool(chosen is not None and chosen.share_situations)
        made = statement(self.config, self._actor_key, event, show_situation=shows)
        Outbox.add(db, event.user, made, event.at)
