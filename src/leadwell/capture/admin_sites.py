"""Tracking site pages: add a site, change its name and host names, see its script snippet, remove it."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadwell.capture import sites as service
from leadwell.capture.admin_common import (
    ACTIVE,
    Editor,
    PostedForm,
    base_url,
    done,
    missing_as_404,
    refused_page,
)
from leadwell.db.models import TrackingSite
from leadwell.errors import LeadwellError
from leadwell.web.deps import PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
NOTICES = {"created": "Site added: paste the snippet into every page of it.", "saved": "Saved."}


def script_snippet(base: str, key: str) -> str:
    """The tag a user puts on every page of their site (see docs/tracking.md)."""
    return f'<script src="{base}/t/{key}.js" async></script>'


def _editor(
    request: Request, scope: PageScope, draft: service.SiteInput, site: TrackingSite | None, **extra: Any
) -> HTMLResponse:
    context: dict[str, Any] = {
        "scope": scope,
        "draft": draft,
        "site": site,
        "snippet": script_snippet(base_url(request), site.key) if site else None,
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    if "error" in extra:
        return refused_page(request, "capture/site.html", extra["error"], **context)
    return render(request, "capture/site.html", active=ACTIVE, **context)


def _load(scope: PageScope, key: str) -> TrackingSite:
    with scope.db.session() as session:
        with missing_as_404("tracking site"):
            site = service.get_site(session, scope.workspace_id, key)
        session.expunge(site)
        return site


@router.get("/capture/sites/new", name="capture_site_new")
def site_new(request: Request, scope: Editor) -> HTMLResponse:
    """The form for a new tracking site."""
    return _editor(request, scope, service.SiteInput(""), None)


@router.post("/capture/sites/new", name="capture_site_create", response_model=None)
def site_create(request: Request, scope: Editor, posted: PostedForm) -> Response:
    """Add the site with a fresh key, then show its snippet."""
    draft = service.SiteInput(posted.get("name"), posted.get("domains"))
    try:
        with scope.db.session() as session:
            key = service.create_site(session, scope.workspace_id, draft).key
    except LeadwellError as error:
        return _editor(request, scope, draft, None, error=error)
    return done(request, "created", "capture_site", key=key)


@router.get("/capture/sites/{key}", name="capture_site")
def site_page(request: Request, scope: Editor, key: str) -> HTMLResponse:
    """A tracking site: its script snippet, name and host names."""
    site = _load(scope, key)
    return _editor(request, scope, service.SiteInput(site.name, "\n".join(site.domains)), site)


@router.post("/capture/sites/{key}", name="capture_site_save", response_model=None)
def site_save(request: Request, scope: Editor, posted: PostedForm, key: str) -> Response:
    """Save the site's name and host names."""
    site = _load(scope, key)
    draft = service.SiteInput(posted.get("name"), posted.get("domains"))
    try:
        with scope.db.session() as session:
            service.update_site(session, scope.workspace_id, key, draft)
    except LeadwellError as error:
        return _editor(request, scope, draft, site, error=error)
    return done(request, "saved", "capture_site", key=key)


@router.post("/capture/sites/{key}/remove", name="capture_site_remove")
def site_remove(request: Request, scope: Editor, posted: PostedForm, key: str) -> RedirectResponse:
    """Remove the site; its script stops counting."""
    with scope.db.session() as session, missing_as_404("tracking site"):
        service.delete_site(session, scope.workspace_id, key)
    return done(request, "deleted", "capture_overview")
