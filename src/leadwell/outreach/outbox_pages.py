"""The outbox and sent pages: messages waiting, being sent or stuck (with attempts, due time and
the last error; cancel a queued one, retry a failed one), and messages sent (with whether they were
opened, clicked, replied to), filtered by mailbox and state, newest first, a page at a time."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import PostedForm
from leadwell.db.models import (
    MESSAGE_STATES,
    Broadcast,
    Contact,
    EmailTemplate,
    Enrollment,
    Event,
    Mailbox,
    OutboxMessage,
    Sequence,
)
from leadwell.errors import LeadwellError
from leadwell.ids import BadId
from leadwell.outreach.outbox import cancel_message, retry_message
from leadwell.outreach.sequence_page_common import page, require_editor
from leadwell.pagination import decode_cursor, encode_cursor
from leadwell.web.deps import Page, PageScope

router = APIRouter(include_in_schema=False)
Listing = Select[*tuple[Any, ...]]
PAGE_SIZE = 50
# What the outbox shows unless asked for one state: everything not yet settled, and failures.
WAITING = ("queued", "claimed", "releasing", "failed")
OUTCOMES = {
    "email_opened": "opened",
    "email_clicked": "clicked",
    "email_replied": "replied",
    "email_bounced": "bounced",
    "email_unsubscribed": "unsubscribed",
}
NOTICES = {
    "test": "Test message queued: a worker sends it within moments.",
    "cancelled": "Cancelled: it will not be sent.",
    "retried": "Queued again, due now.",
}


@dataclass(frozen=True)
class Line:
    """One message as the pages list it."""

    message: OutboxMessage
    public_id: str
    mailbox: str
    contact_id: str | None
    contact_name: str
    template: str | None
    sequence: str | None
    broadcast: str | None
    outcomes: tuple[str, ...] = ()


def _listing(scope: PageScope, states: tuple[str, ...], mailbox: str, cursor: str | None) -> Listing:
    query: Listing = (
        select(OutboxMessage, Mailbox.slug, Contact, EmailTemplate.slug, Sequence.slug, Broadcast.name)
        .join(Mailbox, Mailbox.id == OutboxMessage.mailbox_id)
        .outerjoin(Contact, Contact.id == OutboxMessage.contact_id)
        .outerjoin(EmailTemplate, EmailTemplate.id == OutboxMessage.template_id)
        .outerjoin(Enrollment, Enrollment.id == OutboxMessage.enrollment_id)
        .outerjoin(Sequence, Sequence.id == Enrollment.sequence_id)
        .outerjoin(Broadcast, Broadcast.id == OutboxMessage.broadcast_id)
        .where(OutboxMessage.workspace_id == scope.workspace_id, OutboxMessage.state.in_(states))
    )
    if mailbox:
        query = query.where(Mailbox.slug == mailbox)
    if cursor:
        try:
            query = query.where(OutboxMessage.id < decode_cursor(cursor))
        except LeadwellError:
            raise HTTPException(400, "This page link is broken; start from the first page.") from None
    return query.order_by(OutboxMessage.id.desc()).limit(PAGE_SIZE + 1)


def _lines(session: Session, scope: PageScope, query: Listing) -> tuple[list[Line], str | None]:
    found = session.execute(query).all()
    more = len(found) > PAGE_SIZE
    lines = [
        Line(
            message,
            scope.codec.encode("message", message.id),
            mailbox,
            scope.codec.encode("contact", contact.id) if contact is not None else None,
            f"{contact.first_name} {contact.last_name}".strip() if contact is not None else "",
            template,
            sequence,
            broadcast,
        )
        for message, mailbox, contact, template, sequence, broadcast in found[:PAGE_SIZE]
    ]
    cursor = encode_cursor(lines[-1].message.id) if more and lines else None
    return lines, cursor


def _with_outcomes(session: Session, workspace_id: int, lines: list[Line]) -> list[Line]:
    """Each sent message with what its recipient did (events naming the message)."""
    contacts = {line.message.contact_id for line in lines if line.message.contact_id is not None}
    if not contacts:
        return lines
    events = session.execute(
        select(Event.type, Event.properties).where(
            Event.workspace_id == workspace_id, Event.contact_id.in_(contacts), Event.type.in_(OUTCOMES)
        )
    ).all()
    seen: dict[str, set[str]] = {}
    for type_, properties in events:
        key = (properties or {}).get("message")
        if isinstance(key, str):
            seen.setdefault(key, set()).add(OUTCOMES[type_])
    order = list(OUTCOMES.values())
    return [
        replace(line, outcomes=tuple(o for o in order if o in seen.get(line.message.message_id, ())))
        for line in lines
    ]


def _mailbox_slugs(session: Session, workspace_id: int) -> list[str]:
    query = select(Mailbox.slug).where(Mailbox.workspace_id == workspace_id).order_by(Mailbox.slug)
    return list(session.scalars(query))


def _states(state: str) -> tuple[str, ...]:
    if not state:
        return WAITING
    if state == "all":
        return MESSAGE_STATES
    if state not in MESSAGE_STATES:
        raise HTTPException(400, f"No such state {state[:20]!r}: one of {', '.join(MESSAGE_STATES)}.")
    return (state,)


@router.get("/outreach/outbox", name="outreach_outbox")
def outbox_page(
    request: Request, scope: Page, state: str = "", mailbox: str = "", cursor: str = "", done: str = ""
) -> HTMLResponse:
    """Messages not yet sent (or failed), newest first."""
    with scope.db.session() as session:
        lines, following = _lines(session, scope, _listing(scope, _states(state), mailbox, cursor or None))
        mailboxes = _mailbox_slugs(session, scope.workspace_id)
    context: dict[str, Any] = {
        "lines": lines,
        "cursor": following,
        "mailbox": mailbox,
        "mailboxes": mailboxes,
    }
    states = ["", *MESSAGE_STATES, "all"]
    notice = NOTICES.get(done)
    return page(request, "outreach/outbox.html", scope, state=state, states=states, notice=notice, **context)


@router.get("/outreach/sent", name="outreach_sent")
def sent_page(request: Request, scope: Page, mailbox: str = "", cursor: str = "") -> HTMLResponse:
    """Messages sent, newest first, with what their recipients did."""
    with scope.db.session() as session:
        lines, following = _lines(session, scope, _listing(scope, ("sent",), mailbox, cursor or None))
        lines = _with_outcomes(session, scope.workspace_id, lines)
        mailboxes = _mailbox_slugs(session, scope.workspace_id)
    context: dict[str, Any] = {
        "lines": lines,
        "cursor": following,
        "mailbox": mailbox,
        "mailboxes": mailboxes,
    }
    return page(request, "outreach/sent.html", scope, **context)


def _message_id(scope: PageScope, public_id: str) -> int:
    try:
        return scope.codec.decode("message", public_id)
    except BadId:
        raise HTTPException(404, "No such message in this workspace.") from None


def _act(request: Request, scope: Page, public_id: str, action: str) -> RedirectResponse:
    require_editor(scope)
    message_id = _message_id(scope, public_id)
    try:
        with scope.db.session() as session:
            if action == "cancel":
                cancel_message(session, scope.workspace_id, message_id)
            else:
                retry_message(session, scope.workspace_id, message_id)
    except LeadwellError as error:
        raise HTTPException(error.status, error.detail.removeprefix("message: ").capitalize()) from None
    url = request.app.url_path_for("outreach_outbox")
    outcome = "cancelled" if action == "cancel" else "retried"
    return RedirectResponse(f"{url}?done={outcome}", status_code=303)


@router.post("/outreach/outbox/{public_id}/cancel", name="outreach_message_cancel")
def message_cancel(request: Request, scope: Page, posted: PostedForm, public_id: str) -> RedirectResponse:
    """Cancel a queued message."""
    return _act(request, scope, public_id, "cancel")


@router.post("/outreach/outbox/{public_id}/retry", name="outreach_message_retry")
def message_retry(request: Request, scope: Page, posted: PostedForm, public_id: str) -> RedirectResponse:
    """Queue a failed message again."""
    return _act(request, scope, public_id, "retry")


def when(moment: datetime | None) -> str:
    """A time as the pages show it (UTC)."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"
