"""Jinja2 set-up shared by every domain's pages (autoescaping on: prospects' data is untrusted)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from leadwell.auth.accounts import workspaces_of
from leadwell.events.types import EVENT_LABELS

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
TEMPLATES.env.globals["EVENT_LABELS"] = EVENT_LABELS

# The areas of the product; an entry without a route is shown but not yet a link.
NAVIGATION: tuple[tuple[str, str | None], ...] = (
    ("Dashboard", "dashboard"),
    ("Contacts", "contacts_list"),
    ("Ideal clients", "icp_list"),
    ("Call queue", "queue_page"),
    ("Pipeline", "pipeline_board"),
    ("Capture", "capture_overview"),
    ("Outreach", "outreach_overview"),
    ("Experiments", "experiments_list"),
    ("Reports", "reports_index"),
    ("Settings", "settings"),
)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with the request's page scope (when logged in) and navigation."""
    scope = context.setdefault("scope", None)
    context["navigation"] = NAVIGATION
    if scope is not None and "workspaces" not in context:
        with scope.db.session() as session:
            context["workspaces"] = workspaces_of(session, scope.user.id)
    return TEMPLATES.TemplateResponse(request, template, context, status_code=status_code)


def error_page(request: Request, status_code: int, detail: str) -> HTMLResponse:
    """A plain error page for browsers (the API answers problem+json instead)."""
    return render(request, "error.html", status_code=status_code, status=status_code, detail=detail)
