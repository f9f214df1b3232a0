"""``POST /inbound/{token}``: replies and bounces forwarded by a mail provider's inbound webhook.

The body is one raw RFC 822 message (``Content-Type: message/rfc822``), at most 10 MiB. The token
in the path is signed (purpose ``inbound``) and names the workspace and mailbox, so the address
cannot be guessed and only says which mailbox the mail arrived at; an archived mailbox's address
stops working. Answers are RFC 9457 problems naming the field at fault; a message handled before
is acknowledged again without being acted on twice, so a provider retrying is harmless.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from leadwell.capture.tokens import BadToken, TokenSigner
from leadwell.db.models import Mailbox
from leadwell.db.session import with_retries
from leadwell.db.types import utcnow
from leadwell.outreach.inbound import handle_inbound
from leadwell.web.deps import get_app
from leadwell.web.problems import problem
from leadwell.web.ratelimit import RateLimiter

router = APIRouter(include_in_schema=False)

MAX_INBOUND_BYTES = 10 * 1024 * 1024
ACCEPTED_TYPES = ("message/rfc822",)
PER_ADDRESS_PER_MINUTE = 300
PER_MAILBOX_PER_MINUTE = 600


class Refused(Exception):
    """A post refused before anything is stored: the status, the field at fault and why."""

    def __init__(self, status: int, field: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(f"{field}: {message}")
        self.status, self.field, self.message, self.headers = status, field, message, headers


@dataclass
class _Limits:
    """Per-process rate limits of the webhook, kept on ``app.state``."""

    per_address: RateLimiter
    per_mailbox: RateLimiter


def inbound_token(signer: TokenSigner, mailbox: Mailbox) -> str:
    """The signed token naming ``mailbox`` in its webhook address."""
    return signer.sign("inbound", {"w": mailbox.workspace_id, "b": mailbox.id})


def inbound_url(signer: TokenSigner, public_url: str, mailbox: Mailbox) -> str:
    """The address a provider posts ``mailbox``'s inbound mail to."""
    return f"{public_url.rstrip('/')}/inbound/{inbound_token(signer, mailbox)}"


def read_token(signer: TokenSigner, token: str) -> tuple[int, int]:
    """(workspace id, mailbox id) of a genuine inbound token; :class:`BadToken` otherwise."""
    payload = signer.verify("inbound", token)
    workspace_id, mailbox_id = payload.get("w"), payload.get("b")
    if not isinstance(workspace_id, int) or not isinstance(mailbox_id, int):
        raise BadToken("token: not a valid link")
    return workspace_id, mailbox_id


def _limits(request: Request) -> _Limits:
    state = request.app.state
    limits: _Limits | None = getattr(state, "inbound_limits", None)
    if limits is None:
        limits = _Limits(RateLimiter(PER_ADDRESS_PER_MINUTE), RateLimiter(PER_MAILBOX_PER_MINUTE))
        state.inbound_limits = limits
    return limits


def _check_rate(request: Request, mailbox_id: int) -> None:
    limits = _limits(request)
    address = request.client.host if request.client else "unknown"
    if not limits.per_address.hit(address) or not limits.per_mailbox.hit(str(mailbox_id)):
        raise Refused(429, "rate", "too many messages: slow down", {"Retry-After": "60"})


def _check_type(request: Request) -> None:
    declared = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if declared not in ACCEPTED_TYPES:
        raise Refused(415, "Content-Type", "send the raw message as message/rfc822")


async def _body(request: Request) -> bytes:
    """The body, refused as soon as it passes :data:`MAX_INBOUND_BYTES` (whatever it declared)."""
    too_large = Refused(413, "body", f"larger than {MAX_INBOUND_BYTES} bytes")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_INBOUND_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_INBOUND_BYTES:
            raise too_large
        chunks.append(chunk)
    body = b"".join(chunks)
    if not body.strip():
        raise Refused(400, "body", "empty: send one raw email message")
    return body


def _store(request: Request, workspace_id: int, mailbox_id: int, raw: bytes) -> dict[str, Any]:
    db = get_app(request).db
    now = utcnow()

    def work(session: Session) -> dict[str, Any]:
        mailbox = session.get(Mailbox, mailbox_id)
        if mailbox is None or mailbox.workspace_id != workspace_id or mailbox.archived_at is not None:
            raise Refused(404, "token", "this inbound address belongs to no active mailbox")
        stored = handle_inbound(session, workspace_id, mailbox_id, raw, now)
        if stored is None:
            return {"status": "duplicate"}
        return {"status": "stored", "kind": stored.kind}

    return with_retries(db, work)


async def receive(request: Request) -> Response:
    """``POST /inbound/{token}``: handle one raw message for the token's mailbox."""
    try:
        try:
            workspace_id, mailbox_id = read_token(get_app(request).signer, request.path_params["token"])
        except BadToken:
            raise Refused(404, "token", "not an inbound address made here") from None
        _check_rate(request, mailbox_id)
        _check_type(request)
        raw = await _body(request)
        answer = await run_in_threadpool(_store, request, workspace_id, mailbox_id, raw)
    except Refused as refused:
        errors = [{"field": refused.field, "message": refused.message}]
        return problem(refused.status, str(refused), errors, headers=refused.headers)
    return JSONResponse(answer)


router.add_route("/inbound/{token}", receive, methods=["POST"], include_in_schema=False)
