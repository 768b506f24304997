"""What L&D staff learn from the stored sessions (the computation is `api.insights`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CuratorRole, Svc
from api.insights import compute_insights

router = APIRouter(prefix="/v1", tags=["insights"])


@router.get("/insights")
def insights(who: CuratorRole, svc: Svc) -> dict[str, Any]:
    """Frequent themes, ungrounded situations (corpus gaps), feedback per document."""
    return compute_insights(svc.sessions.all_results())
