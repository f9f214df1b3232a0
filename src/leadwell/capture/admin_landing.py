"""Landing page editor: title, slug, markdown body with a preview, image, form, published.

The preview is the body rendered as the public page renders it (raw HTML off, only safe links), so
what the editor shows is what prospects see. "Preview" renders the draft without saving it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from leadwell.capture import page_defs as service
from leadwell.capture.admin_common import (
    ACTIVE,
    Editor,
    Posted,
    PostedForm,
    base_url,
    done,
    missing_as_404,
    refused_page,
)
from leadwell.capture.form_defs import list_forms
from leadwell.capture.markdown import render_markdown
from leadwell.db.models import LandingPage
from leadwell.errors import LeadwellError
from leadwell.web.deps import PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
NOTICES = {
    "created": "Page created.",
    "saved": "Saved.",
    "unpublished": "Unpublished: forms were sent from it, so it is kept.",
}


def input_of(posted: Posted) -> service.PageInput:
    """The page as the editor posted it."""
    return service.PageInput(
        title=posted.get("title"),
        slug=posted.get("slug"),
        body_markdown=posted.get("body_markdown"),
        form=posted.get("form"),
        image_alt=posted.get("image_alt"),
        published=posted.checked("published"),
        remove_image=posted.checked("remove_image"),
    )


def input_from(page: LandingPage, form_slug: str) -> service.PageInput:
    """A stored page as editor values."""
    return service.PageInput(
        title=page.title,
        slug=page.slug,
        body_markdown=page.body_markdown,
        form=form_slug,
        image_alt=page.image_alt,
        published=page.published,
    )


def preview_of(draft: service.PageInput, page: LandingPage | None) -> Markup:
    """The body as the public page shows it."""
    image = f"/p/{page.slug}/image" if page is not None and page.image_type else None
    return Markup(render_markdown(draft.body_markdown, image))


def _editor(
    request: Request, scope: PageScope, draft: service.PageInput, page: LandingPage | None, **extra: Any
) -> HTMLResponse:
    with scope.db.session() as session:
        # Archived forms are offered no more, but a page keeps the one it has.
        forms = [
            (f.slug, f.name)
            for f in list_forms(session, scope.workspace_id, archived=True)
            if f.archived_at is None or (page is not None and f.id == page.form_id)
        ]
    context: dict[str, Any] = {
        "scope": scope,
        "draft": draft,
        "page": page,
        "forms": forms,
        "preview": preview_of(draft, page),
        "public_url": f"{base_url(request)}/p/{page.slug}" if page else None,
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    if "error" in extra:
        error = extra.pop("error")
        return refused_page(request, "capture/page.html", error, **context, **extra)
    return render(request, "capture/page.html", active=ACTIVE, **context, **extra)


def _load(scope: PageScope, slug: str) -> tuple[LandingPage, str]:
    with scope.db.session() as session:
        with missing_as_404("landing page"):
            page = service.get_page(session, scope.workspace_id, slug)
        forms = {f.id: f.slug for f in list_forms(session, scope.workspace_id, archived=True)}
        session.expunge(page)
        return page, forms.get(page.form_id, "") if page.form_id else ""


@router.get("/capture/pages/new", name="capture_page_new")
def page_new(request: Request, scope: Editor, form: str = "") -> HTMLResponse:
    """The editor for a new landing page."""
    return _editor(request, scope, service.PageInput("", form=form[:80]), None)


@router.post("/capture/pages/new", name="capture_page_create", response_model=None)
def page_create(request: Request, scope: Editor, posted: PostedForm) -> Response:
    """Create the page (or preview the draft)."""
    draft = input_of(posted)
    if posted.get("action") == "preview":
        return _editor(request, scope, draft, None, previewing=True)
    try:
        with scope.db.session() as session:
            slug = service.create_page(session, scope.workspace_id, draft, posted.files.get("image")).slug
    except LeadwellError as error:
        return _editor(request, scope, draft, None, error=error)
    return done(request, "created", "capture_page", slug=slug)


@router.get("/capture/pages/{slug}", name="capture_page")
def page_editor(request: Request, scope: Editor, slug: str) -> HTMLResponse:
    """A landing page's editor, with its body's preview and its public address."""
    page, form_slug = _load(scope, slug)
    return _editor(request, scope, input_from(page, form_slug), page)


@router.post("/capture/pages/{slug}", name="capture_page_save", response_model=None)
def page_save(request: Request, scope: Editor, posted: PostedForm, slug: str) -> Response:
    """Save the page (or preview the draft)."""
    page, _form = _load(scope, slug)
    draft = input_of(posted)
    draft.slug = page.slug
    if posted.get("action") == "preview":
        return _editor(request, scope, draft, page, previewing=True)
    try:
        with scope.db.session() as session:
            service.update_page(session, scope.workspace_id, slug, draft, posted.files.get("image"))
    except LeadwellError as error:
        return _editor(request, scope, draft, page, error=error)
    return done(request, "saved", "capture_page", slug=slug)


@router.post("/capture/pages/{slug}/remove", name="capture_page_remove")
def page_remove(request: Request, scope: Editor, posted: PostedForm, slug: str) -> RedirectResponse:
    """Delete a page no form was sent from, or unpublish one that has submissions."""
    with scope.db.session() as session, missing_as_404("landing page"):
        outcome = service.remove_page(session, scope.workspace_id, slug)
    if outcome == "deleted":
        return done(request, "deleted", "capture_overview")
    return done(request, "unpublished", "capture_page", slug=slug)
