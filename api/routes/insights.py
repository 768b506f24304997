"""What L&D staff learn from the stored sessions (the computation is `api.insights`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CuratorRole, Svc
from api.insights import compute_insights, cycle_insights

router = APIRouter(prefix="/v1", tags=["insights"])


@router.get("/insights")
def insights(who: CuratorRole, svc: Svc) -> dict[str, Any]:
    """Frequent themes, ungrounded situations (corpus gaps), feedback per document. Counts
    and themes come from every session; the text of an ungrounded situation only from users
    who share theirs (`PUT /v1/me/settings`), and never with who wrote it. `cycles`: the
    vital week cycles in counts (in all, completed, cancelled, planned; by team), the documents
    their agendas cited most and the situations the corpus had nothing on; no names, no text."""
    found = compute_insights(svc.sessions.insight_rows())
    return found | {"cycles": cycle_insights(svc.cycles.all_cycles())}
