"""The public surface of Capture: hosted landing pages (``/p/{slug}``), their forms, embedded form
frames (``/f/{slug}/frame`` and the ``embed.js`` that places them) and form posts (``/f/{slug}``).

Everything here answers strangers. Every answer carries a strict content policy (no inline script),
nosniff and a referrer policy; landing pages may not be framed, form frames only by leadwell and
the form's allowed origins. Posts are handled in :mod:`leadwell.capture.form_post`.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture import abuse, form_post
from leadwell.capture.public_views import (
    MAX_SLUG,
    VISITOR_COOKIE,
    form_by_slug,
    form_view,
    hidden_fields,
    not_found,
    page_context,
    secure,
    set_visitor_cookie,
)
from leadwell.capture.visitors import find_visitor, plausible_key, visitor_for
from leadwell.db.models import Event, Form, LandingPage
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.events.types import validate_properties
from leadwell.experiments.capture_variants import form_for_visitor, form_under_test, page_for_visitor
from leadwell.scoring.engine import score_new_events
from leadwell.web.deps import get_app
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
# New browsers one address may start per hour (an office behind one NAT stays well below it).
NEW_VISITORS_PER_IP_PER_HOUR = 300
IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
EMBED_SCRIPT = (Path(__file__).parent.parent / "web" / "static" / "public" / "embed.js").read_text()
router.include_router(form_post.router)


def _live_form(session: Session, form_id: int | None, workspace_id: int) -> Form | None:
    form = session.get(Form, form_id) if form_id is not None else None
    if form is None or form.workspace_id != workspace_id or form.archived_at is not None:
        return None
    return form


def _published_page(session: Session, slug: str) -> LandingPage | None:
    if len(slug) > MAX_SLUG:
        return None
    return session.scalar(select(LandingPage).where(LandingPage.slug == slug, LandingPage.published))


def _record_view(
    session: Session,
    request: Request,
    page: LandingPage,
    visitor_id: int,
    contact_id: int | None,
    now: datetime,
) -> None:
    """A ``page_viewed`` event for the visitor (scored at once when the visitor is known)."""
    referrer = (request.headers.get("referer") or "")[:2000] or None
    properties: dict[str, Any] = {"url": str(request.url), "title": page.title, "page": page.slug}
    if referrer:
        properties["referrer"] = referrer
    try:
        checked = validate_properties("page_viewed", properties)
    except InvalidInput:  # an address too odd to store: the view still counts, without the query
        checked = validate_properties(
            "page_viewed", {**properties, "url": str(request.url.replace(query=""))}
        )
    event = Event(
        workspace_id=page.workspace_id,
        contact_id=contact_id,
        visitor_id=visitor_id,
        type="page_viewed",
        occurred_at=now,
        received_at=now,
        properties=checked,
        source="landing_page",
        campaign=(request.query_params.get("utm_campaign") or "")[:200] or None,
    )
    session.add(event)
    session.flush()
    if contact_id is not None:
        score_new_events(session, page.workspace_id, [event])


def _may_add_visitor(request: Request) -> bool:
    """Whether this address may start another visitor: a client that never keeps its cookie would
    otherwise add a row per request. Past the limit the page is still served, just not recorded."""
    address = request.client.host if request.client else "unknown"
    rule = (f"new-visitor:{address}", NEW_VISITORS_PER_IP_PER_HOUR, 3600.0)
    return form_post.app_limiter(request).take([rule]) is None


@router.get("/p/{slug}")
def landing_page(request: Request, slug: str) -> Response:
    """A published landing page with its form; the visit is recorded for the browser's visitor."""
    app = get_app(request)
    now = utcnow()
    with app.db.session() as session:
        page = _published_page(session, slug)
        if page is None:
            return not_found(request)
        form = _live_form(session, page.form_id, page.workspace_id)
        cookie = request.cookies.get(VISITOR_COOKIE)
        key = None
        if find_visitor(session, page.workspace_id, cookie) is not None or _may_add_visitor(request):
            visitor = visitor_for(session, page.workspace_id, cookie, now)
            page = page_for_visitor(session, page, visitor, now)  # experiments: the visitor's variants
            form = form_for_visitor(session, form, visitor, now) if form is not None else None
            _record_view(session, request, page, visitor.id, visitor.contact_id, now)
            key = visitor.key
    view = None
    if form is not None:
        token = abuse.issue_render_token(app.signer, form.id, page.id, framed=False)
        hidden = hidden_fields(request.query_params, request.headers.get("referer"), str(request.url), key)
        view = form_view(form, token, hidden)
    context = {**page_context(page), "closed": page.form_id is not None and form is None}
    response = render(request, "public/landing.html", form_view=view, thanks=None, **context)
    set_visitor_cookie(request, response, key)
    return secure(response)


@router.get("/p/{slug}/image")
def landing_image(request: Request, slug: str) -> Response:
    """The page's image, as stored, with its type (only raster images are ever served)."""
    app = get_app(request)
    with app.db.session() as session:
        page = _published_page(session, slug)
        image = page.image if page is not None else None
        kind = page.image_type if page is not None else None
    if image is None or kind not in IMAGE_TYPES:
        return not_found(request)
    response = Response(image, media_type=kind, headers={"Cache-Control": "public, max-age=300"})
    return secure(response)


@router.get("/f/{slug}/embed.js")
def embed_script(request: Request, slug: str) -> Response:
    """The script that places the form's frame on another site (the same for every form)."""
    with get_app(request).db.session() as session:
        form = form_by_slug(session, slug)
    if form is None:
        return not_found(request)
    response = Response(
        EMBED_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"}
    )
    return secure(response)


def _tested_frame(request: Request, session: Session, form: Form, key: str | None) -> tuple[Form, str | None]:
    """A form under test is shown to a visitor — the browser's, else one started for the frame
    (within the new-visitor limit) — so that its post gets the variant it was shown."""
    if not form_under_test(session, form):
        return form, key
    if find_visitor(session, form.workspace_id, key) is None and not _may_add_visitor(request):
        return form, key
    now = utcnow()
    visitor = visitor_for(session, form.workspace_id, key, now)
    return form_for_visitor(session, form, visitor, now), visitor.key


@router.get("/f/{slug}/frame")
def form_frame(request: Request, slug: str) -> Response:
    """The form alone, for a frame on one of the form's allowed sites."""
    app = get_app(request)
    query = request.query_params
    key = query.get("vid") or request.cookies.get(VISITOR_COOKIE)
    shown_key = key
    with app.db.session() as session:
        form = form_by_slug(session, slug)
        if form is not None:
            form, shown_key = _tested_frame(request, session, form, key)
    if form is None:
        return not_found(request, framed=True)
    page_url = query.get("ref") or None
    token = abuse.issue_render_token(app.signer, form.id, None, framed=True)
    visitor_key = shown_key if plausible_key(shown_key) else None
    hidden = hidden_fields(query, query.get("rf") or None, page_url, visitor_key)
    response = render(
        request, "public/frame.html", title=form.name, form_view=form_view(form, token, hidden), thanks=None
    )
    if shown_key != key:  # a visitor started for the frame
        set_visitor_cookie(request, response, shown_key)
    return secure(response, form.allowed_origins)
