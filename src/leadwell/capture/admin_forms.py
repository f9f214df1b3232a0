"""Form pages: a new form and a form's editor (fields, consent, gated magnet, allowed origins,
limits), with the snippet that embeds it on another site. The editor is a plain HTML form: "Add a
field" and "Remove" post the draft back, so it works without JavaScript and nothing is saved until
"Save"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from leadwell.capture import form_defs as service
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
from leadwell.capture.assets import list_assets
from leadwell.db.models import Form
from leadwell.errors import LeadwellError
from leadwell.web.deps import PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
NOTICES = {
    "created": "Form created.",
    "saved": "Saved.",
    "archived": "Archived: it has submissions, so it is kept.",
}
MAX_ROWS = service.MAX_FIELDS + 5


def input_of(posted: Posted) -> service.FormInput:
    """The form as the editor posted it, blank field rows included (the service skips them)."""
    rows: list[service.FieldInput] = []
    for index in range(MAX_ROWS):
        prefix = f"fields[{index}]"
        if f"{prefix}.key" not in posted.values:
            break
        rows.append(
            service.FieldInput(
                key=posted.get(f"{prefix}.key"),
                label=posted.get(f"{prefix}.label"),
                type=posted.get(f"{prefix}.type", "text"),
                maps_to=posted.get(f"{prefix}.maps_to"),
                required=posted.checked(f"{prefix}.required"),
                options=posted.get(f"{prefix}.options"),
            )
        )
    return service.FormInput(
        name=posted.get("name"),
        slug=posted.get("slug"),
        fields=rows,
        consent_text=posted.get("consent_text"),
        consent_required=posted.checked("consent_required"),
        asset=posted.get("asset"),
        allowed_origins=posted.get("allowed_origins"),
        submit_label=posted.get("submit_label"),
        thank_you=posted.get("thank_you"),
        min_fill_seconds=posted.get("min_fill_seconds"),
        per_ip_per_hour=posted.get("per_ip_per_hour"),
        per_form_per_minute=posted.get("per_form_per_minute"),
        source=posted.get("source"),
    )


def input_from(form: Form, asset_slug: str) -> service.FormInput:
    """A stored form as editor values."""
    return service.FormInput(
        name=form.name,
        slug=form.slug,
        fields=service.field_inputs(form),
        consent_text=form.consent_text or "",
        consent_required=form.consent_required,
        asset=asset_slug,
        allowed_origins="\n".join(form.allowed_origins),
        submit_label=form.submit_label,
        thank_you=form.thank_you,
        min_fill_seconds=str(form.min_fill_seconds),
        per_ip_per_hour=str(form.per_ip_per_hour),
        per_form_per_minute=str(form.per_form_per_minute),
        source=form.source or "",
    )


def embed_snippet(base: str, slug: str) -> str:
    """The HTML a user pastes into their site to show the form (see docs/forms.md)."""
    return f'<div data-leadwell-form="{slug}"></div>\n<script src="{base}/f/{slug}/embed.js" async></script>'


def _editor(
    request: Request,
    scope: PageScope,
    draft: service.FormInput,
    form: Form | None,
    status: int = 200,
    **extra: Any,
) -> HTMLResponse:
    with scope.db.session() as session:
        # Archived magnets are offered no more, but a form keeps the one it has.
        magnets = [
            (a.slug, a.title)
            for a in list_assets(session, scope.workspace_id, archived=True)
            if a.archived_at is None or (form is not None and a.id == form.asset_id)
        ]
    context: dict[str, Any] = {
        "scope": scope,
        "draft": draft,
        "form": form,
        "magnets": magnets,
        "field_types": service.FIELD_TYPES,
        "contact_fields": service.CONTACT_FIELDS,
        "snippet": embed_snippet(base_url(request), form.slug) if form else None,
        "notice": NOTICES.get(request.query_params.get("done", "")),
    }
    if "error" in extra:
        error = extra.pop("error")
        return refused_page(request, "capture/form.html", error, **context, **extra)
    return render(request, "capture/form.html", status_code=status, active=ACTIVE, **context, **extra)


def _load(scope: PageScope, slug: str) -> tuple[Form, str]:
    with scope.db.session() as session:
        with missing_as_404("form"):
            form = service.get_form(session, scope.workspace_id, slug)
        gated = ""
        if form.asset_id is not None:
            gated = next(
                (a.slug for a in list_assets(session, scope.workspace_id, True) if a.id == form.asset_id), ""
            )
        session.expunge(form)
        return form, gated


def _edit_rows(draft: service.FormInput, action: str) -> bool:
    """Add or remove a field row as a button asked; False when the action is saving."""
    kind, _, number = action.partition(":")
    if kind == "add-field" and len(draft.fields) < MAX_ROWS:
        draft.fields.append(service.FieldInput())
        return True
    if kind == "remove-field" and number.isdigit() and int(number) < len(draft.fields):
        del draft.fields[int(number)]
        return True
    return False


@router.get("/capture/forms/new", name="capture_form_new")
def form_new(request: Request, scope: Editor, asset: str = "") -> HTMLResponse:
    """The editor for a new form (email, first and last name to start with)."""
    draft = service.FormInput("", fields=[*service.default_fields(), service.FieldInput()], asset=asset[:80])
    return _editor(request, scope, draft, None)


@router.post("/capture/forms/new", name="capture_form_create", response_model=None)
def form_create(request: Request, scope: Editor, posted: PostedForm) -> Response:
    """Create the form, or show the draft again with a row added or removed, or with what is wrong."""
    draft = input_of(posted)
    if _edit_rows(draft, posted.get("action", "save")):
        return _editor(request, scope, draft, None)
    try:
        with scope.db.session() as session:
            slug = service.create_form(session, scope.workspace_id, draft).slug
    except LeadwellError as error:
        return _editor(request, scope, draft, None, error=error)
    return done(request, "created", "capture_form", slug=slug)


@router.get("/capture/forms/{slug}", name="capture_form")
def form_page(request: Request, scope: Editor, slug: str) -> HTMLResponse:
    """A form's editor with its embed snippet."""
    form, gated = _load(scope, slug)
    return _editor(request, scope, input_from(form, gated), form)


@router.post("/capture/forms/{slug}", name="capture_form_save", response_model=None)
def form_save(request: Request, scope: Editor, posted: PostedForm, slug: str) -> Response:
    """Save the form, or show the draft again with a row added or removed, or with what is wrong."""
    form, _gated = _load(scope, slug)
    draft = input_of(posted)
    draft.slug = form.slug
    if _edit_rows(draft, posted.get("action", "save")):
        return _editor(request, scope, draft, form)
    try:
        with scope.db.session() as session:
            service.update_form(session, scope.workspace_id, slug, draft)
    except LeadwellError as error:
        return _editor(request, scope, draft, form, error=error)
    return done(request, "saved", "capture_form", slug=slug)


@router.post("/capture/forms/{slug}/remove", name="capture_form_remove")
def form_remove(request: Request, scope: Editor, posted: PostedForm, slug: str) -> RedirectResponse:
    """Delete a form nobody submitted, or archive one with submissions."""
    with scope.db.session() as session, missing_as_404("form"):
        outcome = service.remove_form(session, scope.workspace_id, slug)
    if outcome == "deleted":
        return done(request, "deleted", "capture_overview")
    return done(request, "archived", "capture_form", slug=slug)


@router.post("/capture/forms/{slug}/restore", name="capture_form_restore")
def form_restore(request: Request, scope: Editor, posted: PostedForm, slug: str) -> RedirectResponse:
    """Take submissions on an archived form again."""
    with scope.db.session() as session, missing_as_404("form"):
        service.restore_form(session, scope.workspace_id, slug)
    return done(request, "restored", "capture_form", slug=slug)
