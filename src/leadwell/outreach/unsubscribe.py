"""The unsubscribe endpoint: ``/u/{token}``, the address in every message's ``List-Unsubscribe``.

The token is signed (purpose ``unsubscribe``, payload workspace ``w``, contact ``c``, message ``m``):
nobody can unsubscribe someone else by guessing, and an altered link is refused with a friendly
page. ``GET`` only shows a page with a button — link scanners and mail previews fetch every link,
and must not unsubscribe anyone. ``POST`` unsubscribes: the button, and mail clients' one-click
(RFC 8058: a POST with the body ``List-Unsubscribe=One-Click``, which can carry no CSRF token —
the signed token is the proof). Unsubscribing puts the address on the suppression list, marks the
contact opted out (with a consent record), writes ``email_unsubscribed`` and stops their
sequences. Doing it again changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.capture.beacons import open_payload_fields
from leadwell.capture.public_views import secure
from leadwell.capture.tokens import BadToken, TokenSigner
from leadwell.db.models import Consent, Contact, Event, OutboxMessage, Workspace
from leadwell.db.types import utcnow
from leadwell.outreach.addresses import normalize_address
from leadwell.outreach.outbox_delivery import email_properties
from leadwell.outreach.stops import stop_enrollments
from leadwell.outreach.suppressions import suppress, suppression_of
from leadwell.scoring.engine import score_new_events
from leadwell.web.deps import get_app
from leadwell.web.ratelimit import RateLimiter
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
# Mail providers send one-click unsubscribes for all their users from a few addresses: generous.
REQUESTS_PER_MINUTE = 600
CONSENT_TEXT = "Unsubscribed with the link in an email."
_MERGE_HOPS = 5


@dataclass(frozen=True)
class Target:
    """Who a genuine token unsubscribes: the workspace, the contact (merged ones followed), the
    message it came in, and the address."""

    workspace: Workspace
    contact: Contact | None
    message: OutboxMessage | None
    address: str | None


def read_token(signer: TokenSigner, token: str) -> dict[str, Any]:
    """The checked payload of an unsubscribe token; :class:`BadToken` otherwise."""
    return open_payload_fields(signer.verify("unsubscribe", token))


def _survivor(session: Session, workspace_id: int, contact_id: int) -> Contact | None:
    contact = session.get(Contact, contact_id)
    for _ in range(_MERGE_HOPS):
        if contact is None or contact.workspace_id != workspace_id or contact.merged_into_id is None:
            break
        contact = session.get(Contact, contact.merged_into_id)
    return contact if contact is not None and contact.workspace_id == workspace_id else None


def find_target(session: Session, payload: dict[str, Any]) -> Target | None:
    """What the token points at; None when its workspace no longer exists."""
    workspace = session.get(Workspace, payload["w"])
    if workspace is None:
        return None
    message = session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.workspace_id == workspace.id, OutboxMessage.message_id == payload["m"]
        )
    )
    contact = _survivor(session, workspace.id, payload["c"])
    address = message.to_email if message is not None and message.to_email else None
    if address is None and contact is not None and contact.email:
        address = normalize_address(contact.email)
    return Target(workspace, contact, message, address)


def _event(session: Session, target: Target, message_key: str, now: datetime) -> None:
    assert target.contact is not None
    properties = email_properties(session, target.message) if target.message else {"message": message_key}
    event = Event(
        workspace_id=target.workspace.id,
        contact_id=target.contact.id,
        type="email_unsubscribed",
        occurred_at=now,
        properties=properties,
        source="outreach",
        idempotency_key=f"email-unsubscribed:{message_key}",
    )
    session.add(event)
    score_new_events(session, target.workspace.id, [event])


def unsubscribe(session: Session, target: Target, message_key: str, ip: str | None, now: datetime) -> bool:
    """Unsubscribe the target; whether anything changed (False when it already was)."""
    if target.address is None or suppression_of(session, target.workspace.id, target.address) is not None:
        return False
    message_id = target.message.id if target.message else None
    suppress(session, target.workspace.id, target.address, "unsubscribed", message_id=message_id)
    contact = target.contact
    if contact is not None:
        contact.consent, contact.consent_at = "opted_out", now
        session.add(
            Consent(
                workspace_id=contact.workspace_id,
                contact_id=contact.id,
                state="opted_out",
                text=CONSENT_TEXT,
                ip=ip,
            )
        )
        _event(session, target, message_key, now)
        stop_enrollments(session, contact.workspace_id, contact.id, "unsubscribed", now)
    return True


def masked(address: str | None) -> str:
    """``a…@example.com``: enough for its owner to recognise, little for anyone it was forwarded to."""
    if not address:
        return "your address"
    local, _, domain = address.partition("@")
    return f"{local[:1]}…@{domain}"


def _limiter(request: Request) -> RateLimiter:
    state = request.app.state
    limiter: RateLimiter | None = getattr(state, "unsubscribe_limiter", None)
    if limiter is None:
        limiter = RateLimiter(REQUESTS_PER_MINUTE)
        state.unsubscribe_limiter = limiter
    return limiter


def _page(request: Request, status: int, **context: Any) -> Response:
    return secure(render(request, "public/unsubscribe.html", status_code=status, **context))


def _refusal(request: Request) -> Response | None:
    """The 429 page when this address asked too often."""
    address = request.client.host if request.client else "unknown"
    if _limiter(request).hit(address):
        return None
    response = _page(request, 429, state="busy", retry_after=60)
    response.headers["Retry-After"] = "60"
    return response


def _bad_link(request: Request) -> Response:
    return _page(request, 400, state="bad")


@router.get("/u/{token}")
def unsubscribe_page(request: Request, token: str) -> Response:
    """The confirmation page: who is unsubscribed from what, and the button."""
    refused = _refusal(request)
    if refused is not None:
        return refused
    app = get_app(request)
    try:
        payload = read_token(app.signer, token)
    except BadToken:
        return _bad_link(request)
    with app.db.session() as session:
        target = find_target(session, payload)
        if target is None:
            return _bad_link(request)
        done = (
            target.address is not None
            and suppression_of(session, target.workspace.id, target.address) is not None
        )
        context = {"sender": target.workspace.name, "address": masked(target.address)}
    return _page(request, 200, state="done" if done else "confirm", action=request.url.path, **context)


@router.post("/u/{token}")
def unsubscribe_post(request: Request, token: str) -> Response:
    """Unsubscribe (the page's button, or a mail client's one-click POST)."""
    refused = _refusal(request)
    if refused is not None:
        return refused
    app = get_app(request)
    try:
        payload = read_token(app.signer, token)
    except BadToken:
        return _bad_link(request)
    ip = request.client.host if request.client else None
    with app.db.session() as session:
        target = find_target(session, payload)
        if target is None:
            return _bad_link(request)
        unsubscribe(session, target, payload["m"], ip, utcnow())
        context = {"sender": target.workspace.name, "address": masked(target.address)}
    return _page(request, 200, state="done", **context)
