"""What the Channels pages share: who may change things, reading posted numbers and days, and the
redirect after a change."""

from __future__ import annotations

from datetime import date

from fastapi import Request
from fastapi.responses import RedirectResponse

from leadwell.capture.admin_common import Posted
from leadwell.channels.values import parse_date
from leadwell.errors import InvalidInput

REFUSAL = "Only owners and marketers change channels"


def posted_int(posted: Posted, name: str) -> int:
    """A chosen id from a select; InvalidInput naming the field when missing."""
    try:
        return int(posted.get(name))
    except ValueError:
        raise InvalidInput(f"{name}: choose one", name) from None


def posted_day(text: str, name: str) -> date:
    """A typed day (YYYY-MM-DD); InvalidInput naming the field otherwise."""
    try:
        return parse_date(text)
    except ValueError:
        raise InvalidInput(f"{name}: {text.strip()!r} is not a date (YYYY-MM-DD)", name) from None


def done(request: Request, route: str, outcome: str, query: str = "") -> RedirectResponse:
    """Back to ``route`` after a change; ``?done=`` names what happened for the page's banner."""
    return RedirectResponse(f"{request.app.url_path_for(route)}?done={outcome}{query}", status_code=303)
