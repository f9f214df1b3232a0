"""Newsletter pages: the list, a new broadcast (send now, schedule for a time in a chosen time
zone, or keep as a draft), a broadcast's status, audience and numbers, changing it before it goes
out, cancelling it, and the people behind each number. Broadcasts travel as opaque ids (``bc_…``)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import Posted, PostedForm, done
from leadwell.db.models import Broadcast, ContactList, EmailTemplate, Mailbox, Segment
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, LeadwellError
from leadwell.ids import BadId
from leadwell.outreach import broadcasts as service
from leadwell.outreach.numbers import METRIC_LABELS, broadcast_numbers, broadcast_people
from leadwell.outreach.sequence_page_common import (
    not_found_as_404,
    page,
    people_page,
    refused,
    require_editor,
)
from leadwell.outreach.sequence_pages import ZONES
from leadwell.web.deps import Page, PageScope

router = APIRouter(include_in_schema=False)
NOTICES = {
    "created": "Saved as a draft.",
    "scheduled": "Scheduled: it goes out at the time shown.",
    "sending": "On its way: the messages are being queued now.",
    "saved": "Saved.",
    "cancelled": "Cancelled.",
}
ACTIONS = {"now": "now", "schedule": None, "draft": ""}


def _number(scope: PageScope, public_id: str) -> int:
    try:
        return scope.codec.decode("broadcast", public_id)
    except BadId:
        raise HTTPException(404, "No such newsletter in this workspace.") from None


def input_of(posted: Posted) -> service.BroadcastInput:
    """The broadcast as posted; the button pressed says when (now, the time given, or a draft)."""
    action = posted.get("action", "draft")
    send_at = posted.get("send_at") if action == "schedule" else ACTIONS.get(action, "")
    if action == "schedule" and not (send_at or "").strip():
        raise InvalidInput("send_at: choose when to send it", field="send_at")
    audience = posted.get("audience")
    kind, _, slug = audience.partition(":")
    return service.BroadcastInput(
        name=posted.get("name"),
        template=posted.get("template"),
        segment=slug if kind == "segment" else "",
        list=slug if kind == "list" else "",
        mailbox=posted.get("mailbox"),
        send_at=send_at or "",
        timezone=posted.get("timezone", "UTC") or "UTC",
    )


def _draft_of(session: Session, broadcast: Broadcast) -> dict[str, str]:
    def slug(model: Any, row_id: int | None) -> str:
        return str(session.scalar(select(model.slug).where(model.id == row_id)) or "") if row_id else ""

    audience = f"segment:{slug(Segment, broadcast.segment_id)}" if broadcast.segment_id else ""
    if broadcast.list_id:
        audience = f"list:{slug(ContactList, broadcast.list_id)}"
    scheduled = broadcast.scheduled_at
    return {
        "name": broadcast.name,
        "template": slug(EmailTemplate, broadcast.template_id),
        "audience": audience,
        "mailbox": slug(Mailbox, broadcast.mailbox_id),
        "send_at": scheduled.strftime("%Y-%m-%dT%H:%M") if scheduled else "",
        "timezone": "UTC",
    }


def _posted_draft(posted: Posted) -> dict[str, str]:
    return {
        key: posted.get(key) for key in ("name", "template", "audience", "mailbox", "send_at", "timezone")
    }


def _choices(session: Session, workspace_id: int) -> dict[str, Any]:
    def pairs(query: Any) -> list[tuple[str, str]]:
        return [(row[0], row[1]) for row in session.execute(query)]

    return {
        "templates": pairs(
            select(EmailTemplate.slug, EmailTemplate.name)
            .where(EmailTemplate.workspace_id == workspace_id, EmailTemplate.archived_at.is_(None))
            .order_by(EmailTemplate.name)
        ),
        "segments": pairs(
            select(Segment.slug, Segment.name)
            .where(Segment.workspace_id == workspace_id)
            .order_by(Segment.name)
        ),
        "lists": pairs(
            select(ContactList.slug, ContactList.name)
            .where(ContactList.workspace_id == workspace_id)
            .order_by(ContactList.name)
        ),
        "mailboxes": pairs(
            select(Mailbox.slug, Mailbox.from_email)
            .where(Mailbox.workspace_id == workspace_id, Mailbox.archived_at.is_(None))
            .order_by(Mailbox.slug)
        ),
        "zones": ZONES,
    }


def _broadcast_context(scope: PageScope, number: int) -> dict[str, Any]:
    with scope.db.session() as session, not_found_as_404("newsletter"):
        broadcast = service.get_broadcast(session, scope.workspace_id, number)
        context = {
            "broadcast": broadcast,
            "public_id": scope.codec.encode("broadcast", broadcast.id),
            "audience": service.audience_size(session, scope.workspace_id, broadcast),
            "numbers": broadcast_numbers(session, scope.workspace_id, [broadcast.id])[broadcast.id],
            "draft": _draft_of(session, broadcast),
            "labels": METRIC_LABELS,
            "status_labels": service.STATUS_LABELS,
            **_choices(session, scope.workspace_id),
        }
        session.expunge_all()
    return context


def _editor(request: Request, scope: PageScope, number: int | None, **extra: Any) -> HTMLResponse:
    if number is None:
        with scope.db.session() as session:
            context = {
                "broadcast": None,
                "draft": {"timezone": "UTC"},
                **_choices(session, scope.workspace_id),
            }
    else:
        context = _broadcast_context(scope, number)
    if "draft" in extra:
        context["draft"] = extra.pop("draft")
    template = "outreach/broadcast.html"
    if "error" in extra:
        return refused(request, template, scope, extra.pop("error"), **context)
    return page(request, template, scope, notice=NOTICES.get(request.query_params.get("done", "")), **context)


@router.get("/outreach/broadcasts", name="outreach_broadcasts")
def broadcasts_list(request: Request, scope: Page) -> HTMLResponse:
    """Every newsletter, the latest first, with its status and numbers."""
    with scope.db.session() as session:
        rows = service.list_broadcasts(session, scope.workspace_id)
        numbers = broadcast_numbers(session, scope.workspace_id, [b.id for b in rows])
        session.expunge_all()
    shown = [(scope.codec.encode("broadcast", b.id), b, numbers[b.id]) for b in rows]
    return page(
        request,
        "outreach/broadcasts.html",
        scope,
        broadcasts=shown,
        broadcast_status=service.STATUS_LABELS,
        notice=NOTICES.get(request.query_params.get("done", "")),
    )


@router.get("/outreach/broadcasts/new", name="outreach_broadcast_new")
def broadcast_new(request: Request, scope: Page) -> HTMLResponse:
    """The form of a new newsletter."""
    require_editor(scope)
    return _editor(request, scope, None)


@router.post("/outreach/broadcasts/new", name="outreach_broadcast_create", response_model=None)
def broadcast_create(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Save it as a draft, schedule it, or send it now."""
    require_editor(scope)
    try:
        data = input_of(posted)
        with scope.db.session() as session:
            broadcast = service.create_broadcast(session, scope.workspace_id, data, scope.user.id, utcnow())
            public_id, status = scope.codec.encode("broadcast", broadcast.id), broadcast.status
    except LeadwellError as error:
        return _editor(request, scope, None, draft=_posted_draft(posted), error=error)
    outcome = "created" if status == "draft" else ("sending" if data.send_at == "now" else "scheduled")
    return done(request, outcome, "outreach_broadcast", public_id=public_id)


@router.get("/outreach/broadcasts/{public_id}", name="outreach_broadcast")
def broadcast_page(request: Request, scope: Page, public_id: str) -> HTMLResponse:
    """A newsletter: status, audience, numbers; its form while it can still change."""
    return _editor(request, scope, _number(scope, public_id))


@router.post("/outreach/broadcasts/{public_id}", name="outreach_broadcast_save", response_model=None)
def broadcast_save(request: Request, scope: Page, posted: PostedForm, public_id: str) -> Response:
    """Change a draft or scheduled newsletter (and when it goes)."""
    require_editor(scope)
    number = _number(scope, public_id)
    try:
        data = input_of(posted)
        with scope.db.session() as session, not_found_as_404("newsletter"):
            status = service.update_broadcast(session, scope.workspace_id, number, data, utcnow()).status
    except LeadwellError as error:
        return _editor(request, scope, number, draft=_posted_draft(posted), error=error)
    outcome = "saved" if status == "draft" else ("sending" if data.send_at == "now" else "scheduled")
    return done(request, outcome, "outreach_broadcast", public_id=public_id)


@router.post("/outreach/broadcasts/{public_id}/cancel", name="outreach_broadcast_cancel", response_model=None)
def broadcast_cancel(request: Request, scope: Page, posted: PostedForm, public_id: str) -> Response:
    """Cancel a newsletter that has not finished going out."""
    require_editor(scope)
    number = _number(scope, public_id)
    try:
        with scope.db.session() as session, not_found_as_404("newsletter"):
            service.cancel_broadcast(session, scope.workspace_id, number, utcnow())
    except LeadwellError as error:
        return _editor(request, scope, number, error=error)
    return done(request, "cancelled", "outreach_broadcast", public_id=public_id)


@router.get("/outreach/broadcasts/{public_id}/people", name="outreach_broadcast_people")
def broadcast_people_page(
    request: Request, scope: Page, public_id: str, metric: str = "sent", after: str = ""
) -> HTMLResponse:
    """The people behind one of a newsletter's numbers."""
    number = _number(scope, public_id)
    with scope.db.session() as session:
        with not_found_as_404("newsletter"):
            broadcast = service.get_broadcast(session, scope.workspace_id, number)
        try:
            ids = broadcast_people(scope.workspace_id, broadcast.id, metric)
        except InvalidInput as error:
            raise HTTPException(400, error.detail) from None
        listing = people_page(session, scope, ids, after)
        name = broadcast.name
    query = urlencode({key: value for key, value in request.query_params.items() if key != "after"})
    return page(
        request,
        "outreach/people.html",
        scope,
        title=f"{METRIC_LABELS[metric]}: {name}",
        listing=listing,
        continued=bool(after),
        back=(request.app.url_path_for("outreach_broadcast", public_id=public_id), name),
        section=("Newsletters", request.app.url_path_for("outreach_broadcasts")),
        query=query,
    )
