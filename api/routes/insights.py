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
    come from every session; themes only from the words of users who share their situations
    (`PUT /v1/me/settings`), each a word several of them used (`people`; `sessions`: in how
    many of their sessions); the text of an ungrounded situation only from users who share
    theirs, and never with who wrote it. `cycles`: the vital week cycles in counts (in all,
    completed, cancelled, planned), the documents their agendas cited most and the situations
    the corpus had nothing on; no names, no teams, no text."""
    found = compute_insights(svc.sessions.insight_rows())
    return found | {"cycles": cycle_insights(svc.cycles.all_cycles())}
