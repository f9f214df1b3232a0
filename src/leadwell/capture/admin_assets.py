"""Magnet pages: a new magnet of each kind, a magnet's page (its numbers, its details to edit, and
for webinars the attendance upload), removing (or archiving) and restoring.

Every POST here sits under ``/capture/assets/``, where the upload size limit applies.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from leadwell.capture import assets as service
from leadwell.capture.admin_common import (
    ACTIVE,
    Editor,
    Posted,
    PostedForm,
    done,
    missing_as_404,
    refused_page,
)
from leadwell.capture.attendance import CONCURRENT, AttendanceSummary, import_attendance_file
from leadwell.capture.form_defs import list_forms
from leadwell.capture.stats import DEFAULT_PERIOD, PERIOD_LABELS, PERIODS, magnet_numbers, since_of
from leadwell.db.models import ASSET_KINDS, Asset
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, LeadwellError
from leadwell.web.deps import PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
NOTICES = {
    "created": "Magnet created.",
    "saved": "Saved.",
    "archived": "Archived: it has history, so it is kept but no longer offered.",
    "restored": "Restored.",
}


def period_of(request: Request) -> str:
    """The period asked for in the query string, else the default."""
    period = request.query_params.get("period", DEFAULT_PERIOD)
    return period if period in PERIODS else DEFAULT_PERIOD


def input_of(kind: str, posted: Posted) -> service.AssetInput:
    """The magnet as posted by the editor."""
    return service.AssetInput(
        kind=kind,
        title=posted.get("title"),
        slug=posted.get("slug"),
        description=posted.get("description"),
        video_url=posted.get("video_url"),
        starts_at=posted.get("starts_at"),
        timezone=posted.get("timezone"),
        duration_minutes=posted.get("duration_minutes"),
        location=posted.get("location"),
    )


def input_from(asset: Asset) -> service.AssetInput:
    """A stored magnet as editor values (start time in UTC)."""
    return service.AssetInput(
        kind=asset.kind,
        title=asset.title,
        slug=asset.slug,
        description=asset.description,
        video_url=asset.video_url or "",
        starts_at=asset.starts_at.strftime("%Y-%m-%dT%H:%M") if asset.starts_at else "",
        timezone="UTC" if asset.starts_at else "",
        duration_minutes=str(asset.duration_minutes or ""),
        location=asset.location or "",
    )


def _load(scope: PageScope, slug: str) -> Asset:
    with scope.db.session() as session:
        with missing_as_404("magnet"):
            asset = service.get_asset(session, scope.workspace_id, slug)
        session.expunge(asset)
        return asset


def _asset_page(
    request: Request, scope: PageScope, asset: Asset, status: int = 200, **context: Any
) -> HTMLResponse:
    period = period_of(request)
    with scope.db.session() as session:
        steps = magnet_numbers(session, scope.workspace_id, [asset], since_of(period, utcnow()))[asset.id]
        gating = [form for form in list_forms(session, scope.workspace_id, True) if form.asset_id == asset.id]
    context.setdefault("draft", input_from(asset))
    return render(
        request,
        "capture/asset.html",
        status_code=status,
        scope=scope,
        active=ACTIVE,
        asset=asset,
        steps=steps,
        period=period,
        periods=PERIOD_LABELS,
        gating=gating,
        kind_label=service.KIND_LABELS[asset.kind],
        notice=NOTICES.get(request.query_params.get("done", "")),
        **context,
    )


@router.get("/capture/assets/new", name="capture_asset_new")
def asset_new(request: Request, scope: Editor, kind: str = "pdf") -> HTMLResponse:
    """The editor for a new magnet of ``kind``."""
    if kind not in ASSET_KINDS:
        kind = "pdf"
    return render(
        request,
        "capture/asset_new.html",
        scope=scope,
        active=ACTIVE,
        draft=service.AssetInput(kind, ""),
        kinds=service.KIND_LABELS,
    )


@router.post("/capture/assets/new", name="capture_asset_create", response_model=None)
def asset_create(request: Request, scope: Editor, posted: PostedForm) -> Response:
    """Create the magnet, its file checked and stored with it, then open its page."""
    kind = posted.get("kind")
    data = input_of(kind, posted)
    limit = scope.app.settings.max_upload_bytes
    try:
        with scope.db.session() as session:
            asset = service.create_asset(session, scope.workspace_id, data, posted.files.get("file"), limit)
            slug = asset.slug
    except LeadwellError as error:
        data.kind = kind if kind in ASSET_KINDS else "pdf"
        return refused_page(
            request, "capture/asset_new.html", error, scope=scope, draft=data, kinds=service.KIND_LABELS
        )
    return done(request, "created", "capture_asset", slug=slug)


@router.get("/capture/assets/{slug}", name="capture_asset")
def asset_page(request: Request, scope: Editor, slug: str) -> HTMLResponse:
    """A magnet: its numbers over a period, the forms that offer it, and its details to edit."""
    return _asset_page(request, scope, _load(scope, slug))


@router.post("/capture/assets/{slug}", name="capture_asset_save", response_model=None)
def asset_save(request: Request, scope: Editor, posted: PostedForm, slug: str) -> Response:
    """Save a magnet's details (and its file, when a new one is uploaded)."""
    asset = _load(scope, slug)
    data = input_of(asset.kind, posted)
    limit = scope.app.settings.max_upload_bytes
    try:
        with scope.db.session() as session:
            service.update_asset(session, scope.workspace_id, slug, data, posted.files.get("file"), limit)
    except LeadwellError as error:
        return _refused(request, scope, asset, error, draft=data)
    return done(request, "saved", "capture_asset", slug=slug)


def _refused(
    request: Request, scope: PageScope, asset: Asset, error: LeadwellError, **context: Any
) -> HTMLResponse:
    status = 409 if error.status == 409 else 422
    return _asset_page(
        request, scope, asset, status, error=error.detail, error_field=error.field or "", **context
    )


@router.post("/capture/assets/{slug}/remove", name="capture_asset_remove")
def asset_remove(request: Request, scope: Editor, posted: PostedForm, slug: str) -> RedirectResponse:
    """Delete an unused magnet, or archive one with history."""
    with scope.db.session() as session, missing_as_404("magnet"):
        outcome = service.remove_asset(session, scope.workspace_id, slug)
    if outcome == "deleted":
        return done(request, "deleted", "capture_overview")
    return done(request, "archived", "capture_asset", slug=slug)


@router.post("/capture/assets/{slug}/restore", name="capture_asset_restore")
def asset_restore(request: Request, scope: Editor, posted: PostedForm, slug: str) -> RedirectResponse:
    """Offer an archived magnet again."""
    with scope.db.session() as session, missing_as_404("magnet"):
        service.restore_asset(session, scope.workspace_id, slug)
    return done(request, "restored", "capture_asset", slug=slug)


@router.post("/capture/assets/{slug}/attendance", name="capture_attendance")
def attendance_upload(request: Request, scope: Editor, posted: PostedForm, slug: str) -> HTMLResponse:
    """Import an attendance export for a webinar or seminar; the page shows what was done."""
    asset = _load(scope, slug)
    upload = posted.files.get("attendance")
    summary: AttendanceSummary | None = None
    try:
        if upload is None:
            raise LeadwellError("attendance: choose the export file to import", field="attendance")
        with scope.db.session() as session:
            summary = import_attendance_file(
                session, scope.codec, scope.workspace_id, slug, upload.content, utcnow()
            )
    except LeadwellError as error:
        return _refused(request, scope, asset, error)
    except IntegrityError:
        return _refused(request, scope, asset, Conflict(f"attendance: {CONCURRENT}", field="attendance"))
    return _asset_page(request, scope, asset, summary=summary)
