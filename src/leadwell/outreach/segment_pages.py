"""Segment pages: the list with live counts, the editor with a count that follows the filters as
they are typed (htmx; without JavaScript the "Count" button does the same), delete, and the
contacts a segment holds."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import PostedForm, done
from leadwell.contacts.service import contact_values
from leadwell.db.models import CONSENT_STATES, LIFECYCLE_STAGES, ContactList, Membership, Segment, User
from leadwell.errors import LeadwellError
from leadwell.outreach import segments as service
from leadwell.outreach.sequence_page_common import (
    not_found_as_404,
    page,
    people_page,
    refused,
    require_editor,
)
from leadwell.scoring.stages import STAGE_LABELS
from leadwell.web.deps import Page, PageScope

router = APIRouter(include_in_schema=False)
NOTICES = {"created": "Segment created.", "saved": "Saved.", "deleted": "Segment deleted."}


def filters_from(values: Mapping[str, list[str]]) -> dict[str, Any]:
    """The raw filters from posted or query values (repeated names for the lists of choices)."""
    raw: dict[str, Any] = {}
    for key in service.FILTER_KEYS:
        given = [value for value in values.get(key, []) if value.strip()]
        if given:
            raw[key] = given if key in service.LIST_FILTERS else given[-1]
    return raw


def _choices(session: Session, workspace_id: int) -> dict[str, Any]:
    """What the editor offers: stages, grades, consent states, lists, members, known sources."""
    lists = session.execute(
        select(ContactList.slug, ContactList.name)
        .where(ContactList.workspace_id == workspace_id)
        .order_by(ContactList.name)
    ).all()
    members = session.scalars(
        select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id)
        .order_by(func.lower(User.email))
    ).all()
    return {
        "stages": [(stage, STAGE_LABELS[stage]) for stage in LIFECYCLE_STAGES],
        "grades": service.GRADES,
        "consents": CONSENT_STATES,
        "lists": list(lists),
        "members": [email.lower() for email in members],
        "sources": contact_values(session, workspace_id, "source"),
    }


def _editor(
    request: Request, scope: PageScope, draft: dict[str, Any], segment: Segment | None, **extra: Any
) -> HTMLResponse:
    with scope.db.session() as session:
        context = {"draft": draft, "segment": segment, **_choices(session, scope.workspace_id)}
        if "count" not in extra:
            extra["count"] = _count(session, scope.workspace_id, draft.get("filters", {}))
    if "error" in extra:
        return refused(request, "outreach/segment.html", scope, extra.pop("error"), **context, **extra)
    return page(request, "outreach/segment.html", scope, **context, **extra)


def _count(session: Session, workspace_id: int, raw: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """(how many contacts the filters keep, None) or (None, what is wrong with them)."""
    try:
        filters = service.check_filters(session, workspace_id, raw)
    except LeadwellError as error:
        return None, error.detail
    return service.count_ids(session, service.filters_clause(session, workspace_id, filters)), None


def _draft(segment: Segment) -> dict[str, Any]:
    return {"name": segment.name, "slug": segment.slug, "filters": dict(segment.filters)}


def _posted_draft(posted: Any) -> dict[str, Any]:
    return {"name": posted.get("name"), "slug": posted.get("slug"), "filters": filters_from(posted.lists)}


@router.get("/outreach/segments", name="outreach_segments")
def segments_list(request: Request, scope: Page) -> HTMLResponse:
    """Every segment with its filters in words and how many contacts it holds now."""
    with scope.db.session() as session:
        rows = service.list_segments(session, scope.workspace_id)
        shown = [
            (
                segment,
                service.describe(segment.filters),
                service.count_segment(session, scope.workspace_id, segment),
            )
            for segment in rows
        ]
    notice = NOTICES.get(request.query_params.get("done", ""))
    return page(request, "outreach/segments.html", scope, segments=shown, notice=notice)


@router.get("/outreach/segments/new", name="outreach_segment_new")
def segment_new(request: Request, scope: Page) -> HTMLResponse:
    """The editor for a new segment."""
    require_editor(scope)
    return _editor(request, scope, {"name": "", "slug": "", "filters": {}}, None)


@router.post("/outreach/segments/new", name="outreach_segment_create", response_model=None)
def segment_create(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Save a new segment, or show the editor again with what is wrong (or the count, for "Count")."""
    require_editor(scope)
    draft = _posted_draft(posted)
    if posted.get("action") == "count":
        return _editor(request, scope, draft, None)
    data = service.SegmentInput(draft["name"], draft["slug"], draft["filters"])
    try:
        with scope.db.session() as session:
            slug = service.create_segment(session, scope.workspace_id, data).slug
    except LeadwellError as error:
        return _editor(request, scope, draft, None, error=error)
    return done(request, "created", "outreach_segment", slug=slug)


@router.get("/outreach/segments/count", name="outreach_segment_count")
def segment_count(request: Request, scope: Page) -> HTMLResponse:
    """The live count of the editor's filters (an htmx fragment)."""
    values: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        values.setdefault(key, []).append(value)
    with scope.db.session() as session:
        count = _count(session, scope.workspace_id, filters_from(values))
    return page(request, "outreach/_segment_count.html", scope, count=count)


def _segment(scope: PageScope, slug: str) -> Segment:
    with scope.db.session() as session, not_found_as_404("segment"):
        segment = service.get_segment(session, scope.workspace_id, slug)
        session.expunge(segment)
        return segment


@router.get("/outreach/segments/{slug}", name="outreach_segment")
def segment_page(request: Request, scope: Page, slug: str) -> HTMLResponse:
    """A segment's editor (read-only for salespeople) with its count."""
    segment = _segment(scope, slug)
    notice = NOTICES.get(request.query_params.get("done", ""))
    return _editor(request, scope, _draft(segment), segment, notice=notice)


@router.post("/outreach/segments/{slug}", name="outreach_segment_save", response_model=None)
def segment_save(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Save the segment's name and filters."""
    require_editor(scope)
    segment = _segment(scope, slug)
    draft = _posted_draft(posted)
    draft["slug"] = segment.slug
    if posted.get("action") == "count":
        return _editor(request, scope, draft, segment)
    data = service.SegmentInput(draft["name"], segment.slug, draft["filters"])
    try:
        with scope.db.session() as session:
            service.update_segment(session, scope.workspace_id, slug, data)
    except LeadwellError as error:
        return _editor(request, scope, draft, segment, error=error)
    return done(request, "saved", "outreach_segment", slug=slug)


@router.post("/outreach/segments/{slug}/delete", name="outreach_segment_delete", response_model=None)
def segment_delete(request: Request, scope: Page, posted: PostedForm, slug: str) -> Response:
    """Delete the segment (refused while a broadcast not yet sent goes to it)."""
    require_editor(scope)
    segment = _segment(scope, slug)
    try:
        with scope.db.session() as session:
            service.delete_segment(session, scope.workspace_id, slug)
    except LeadwellError as error:
        return _editor(request, scope, _draft(segment), segment, error=error)
    return done(request, "deleted", "outreach_segments")


@router.get("/outreach/segments/{slug}/people", name="outreach_segment_people")
def segment_people(request: Request, scope: Page, slug: str, after: str = "") -> HTMLResponse:
    """The contacts in the segment now, newest first."""
    segment = _segment(scope, slug)
    with scope.db.session() as session:
        shown = people_page(
            session, scope, service.segment_contact_ids(session, scope.workspace_id, segment), after
        )
    back = (request.app.url_path_for("outreach_segment", slug=slug), segment.name)
    return page(
        request,
        "outreach/people.html",
        scope,
        title=f"In the segment {segment.name}",
        back=back,
        listing=shown,
        continued=bool(after),
        section=("Segments", request.app.url_path_for("outreach_segments")),
        query="",
    )
