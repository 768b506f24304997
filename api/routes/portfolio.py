"""A professional's talent development portfolio (`api.portfolio`): only they can make it, from
their own key, and it holds their own data only, so there is no user to ask for; whom they give
it to is theirs to decide.

The handler is a plain function: FastAPI runs it in its threadpool (database and corpus)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BeforeValidator

from api.deps import Professional, PublicUrl, Svc
from api.portfolio import Period, html_page, markdown, portfolio_of
from api.routes.drafts import drafts_out
from api.schemas import iso_day
from coach.vocabulary import Language

router = APIRouter(prefix="/v1", tags=["your data"])

MEDIA = {"markdown": "text/markdown; charset=utf-8", "html": "text/html; charset=utf-8"}
TEXT = {"schema": {"type": "string"}}


Day = Annotated[date | None, BeforeValidator(iso_day)]


def period_of(first: date | None, last: date | None, today: date) -> Period:
    """The days asked for, both included; by default the twelve months up to today. A start
    after the end is a period without days: nothing is in it (not an error, which the schema,
    two optional days, could not state), and the portfolio names the period it covers."""
    end = last or today
    return Period(first or _year_before(end), end)


def _year_before(day: date) -> date:
    if day.year == 1:
        return date.min
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def file_name(user: str, period: Period) -> str:
    """A name (without extension) any file system and the Content-Disposition header take,
    whatever the user id."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "-", user).strip("-")[:60] or "user"
    return f"portfolio-{safe}-{period.first}-{period.last}"


@router.get(
    "/portfolio",
    response_class=Response,
    responses={
        200: {
            "description": "Your portfolio: a Markdown file, or a page to print.",
            "content": {"text/markdown": TEXT, "text/html": TEXT},
        }
    },
)
def portfolio(
    who: Professional,
    svc: Svc,
    site: PublicUrl,
    first: Annotated[
        Day,
        Query(
            alias="from",
            description="Default: a year before `to`. A day after `to` makes an empty period.",
        ),
    ] = None,
    last: Annotated[Day, Query(alias="to", description="Included; default: today.")] = None,
    format: Annotated[Literal["markdown", "html"], Query()] = "markdown",
    lang: Annotated[Language, Query(description="The language of headings and labels.")] = "nl",
) -> Response:
    """Your talent development portfolio for a period: your coaching sessions (the questions
    you worked on, the suggestions and their sources, your feedback), your vital week cycles
    (your situation, your notes and check-ins per day, the lessons that came from them) and
    your lessons, with what the corpus accepted. Yours only, to share as you choose."""
    zone = ZoneInfo(svc.cycles.time_zone)
    today = datetime.now(zone).date()
    period = period_of(first, last, today)
    drafts = svc.drafts.list_for_user(who.user)
    titles = {d.doc_id: d.document.title for d in drafts_out(drafts, svc) if d.document}
    made = portfolio_of(
        who.user,
        period,
        today,
        zone,
        svc.sessions.all_for(who.user),
        drafts,
        titles,
        svc.cycles.for_user(who.user),
    )
    name = file_name(who.user, period)
    # The Markdown is a file to keep; the page opens in the browser, to print.
    if format == "html":
        page = html_page(made, lang, f"{site}/")
        body, disposition = page, f'inline; filename="{name}.html"'
    else:
        body, disposition = markdown(made, lang), f'attachment; filename="{name}.md"'
    return Response(body, media_type=MEDIA[format], headers={"Content-Disposition": disposition})
