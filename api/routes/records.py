"""Learning records for an operator: the outbox of xAPI statements waiting for the Learning
Record Store, and how delivery goes (`coach xapi status` shows the same)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.db import Outbox
from api.deps import AdminRole, Svc

router = APIRouter(prefix="/v1/admin", tags=["learning records"])


class RecordsStatus(BaseModel):
    enabled: bool  # an LRS is set (COACH_LRS_URL)
    lrs_url: str | None  # where statements go (without credentials)
    pending: int  # waiting for delivery
    failing: int  # of those, tried and refused or unreachable at least once
    delivered: int
    oldest_pending: datetime | None
    next_attempt: datetime | None
    last_error: str | None  # the latest failure's reason, while statements wait


@router.get("/xapi", response_model=RecordsStatus)
def records_status(who: AdminRole, svc: Svc) -> RecordsStatus:
    """The learning records' queue: how many wait, fail and went, and the latest failure."""
    found = Outbox(svc.sessions).status()
    return RecordsStatus(
        enabled=svc.records is not None,
        lrs_url=svc.records.lrs_url if svc.records else None,
        **vars(found),
    )
