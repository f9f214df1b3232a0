"""``/channels/spend``: spend rows in a range with totals per channel and currency, typed-in spend,
uploading an ad platform's export (with the import's summary), and deleting a row."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from leadwell.capture.admin_common import Posted, PostedForm
from leadwell.channels import ledger, service
from leadwell.channels.catalog import ensure_channels
from leadwell.channels.spend_import import ImportSummary, import_spend
from leadwell.channels.spend_layouts import PLATFORMS
from leadwell.channels.values import parse_amount
from leadwell.channels.web_common import REFUSAL, done, posted_day, posted_int
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, LeadwellError, NotFound
from leadwell.web.deps import Page, PageScope
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
DEFAULT_DAYS = 90
NOTICES = {"spend": "Spend added.", "deleted": "Spend row deleted."}
PLATFORM_LABELS = {
    "": "Detect from the header",
    "meta": "Meta Ads Manager",
    "google": "Google Ads",
    "linkedin": "LinkedIn Campaign Manager",
    "generic": "Generic (date, channel, campaign, cost, currency)",
}


def _range(request: Request) -> tuple[date, date]:
    """The ``from``/``to`` query's days; the last 90 days by default (or when unreadable)."""
    today = utcnow().date()
    since, until = today - timedelta(days=DEFAULT_DAYS - 1), today
    try:
        if request.query_params.get("from"):
            since = posted_day(request.query_params["from"], "from")
        if request.query_params.get("to"):
            until = posted_day(request.query_params["to"], "to")
    except InvalidInput:
        pass  # a hand-edited address: show the default range rather than an error
    return (since, until) if since <= until else (until, since)


def spend_view(request: Request, scope: PageScope, status: int = 200, **context: Any) -> HTMLResponse:
    """The spend page, with ``context`` (a refusal, an import's summary) on top."""
    since, until = _range(request)
    with scope.db.session() as session:
        ensure_channels(session, scope.workspace_id)
        channels = service.list_channels(session, scope.workspace_id)
        lines = ledger.list_spend(session, scope.workspace_id, since, until)
        session.expunge_all()
    return render(
        request,
        "channels/spend.html",
        status_code=status,
        scope=scope,
        active=None,
        channels=channels,
        lines=lines,
        totals=ledger.totals(lines),
        since=since,
        until=until,
        today=utcnow().date(),
        platforms=PLATFORM_LABELS,
        currency=scope.workspace.currency,
        editor=scope.can_edit,
        notice=NOTICES.get(request.query_params.get("done", "")),
        **context,
    )


@router.get("/channels/spend", name="spend_page")
def spend_page(request: Request, scope: Page) -> HTMLResponse:
    """Spend rows overlapping the range, totals per channel and currency, and the forms."""
    return spend_view(request, scope)


def _spend_input(session: Session, scope: PageScope, posted: Posted) -> service.SpendInput:
    channel_id = posted_int(posted, "channel_id")
    try:
        amount = parse_amount(posted.get("amount"))
    except ValueError:
        amount = None
    if amount is None:
        raise InvalidInput(f"amount: {posted.get('amount')!r} is not an amount", "amount")
    first = posted_day(posted.get("from"), "from")
    last = posted_day(posted.get("to"), "to") if posted.get("to").strip() else None
    campaign = posted.get("campaign").strip()
    campaign_id = (
        service.campaign_for(session, scope.workspace_id, channel_id, campaign).id if campaign else None
    )
    currency = posted.get("currency").strip() or scope.workspace.currency
    return service.SpendInput(
        channel_id, Decimal(amount), currency, first, last, campaign_id, posted.get("description")
    )


@router.post("/channels/spend", name="spend_add", response_model=None)
def spend_add(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Typed-in spend: a speaking fee, a retainer, a sponsorship."""
    scope.require_editor(REFUSAL)
    try:
        with scope.db.session() as session:
            service.add_spend(
                session, scope.workspace_id, _spend_input(session, scope, posted), scope.user.id
            )
    except NotFound as error:
        raise HTTPException(404, error.detail) from None
    except LeadwellError as error:
        return spend_view(request, scope, 422, error=error.detail, error_field=error.field, posted=posted)
    return done(request, "spend_page", "spend")


@router.post("/channels/spend/import", name="spend_upload", response_model=None)
def spend_upload(request: Request, scope: Page, posted: PostedForm) -> Response:
    """Import an uploaded export; the page again with what was stored, replaced and skipped."""
    scope.require_editor(REFUSAL)
    upload = posted.files.get("file")
    platform = posted.get("platform") or None
    try:
        if upload is None:
            raise InvalidInput("file: choose the export to upload", "file")
        if platform is not None and platform not in PLATFORMS:
            raise InvalidInput(f"platform: {platform!r} is not one of {', '.join(PLATFORMS)}", "platform")
        with scope.db.session() as session:
            summary: ImportSummary = import_spend(
                session, scope.workspace_id, upload.content, platform, user_id=scope.user.id
            )
    except LeadwellError as error:
        return spend_view(request, scope, 422, error=error.detail, error_field=error.field or "file")
    return spend_view(request, scope, summary=summary, file_name=upload.file_name)


@router.post("/channels/spend/{spend_id}/delete", name="spend_delete", response_model=None)
def spend_delete(request: Request, scope: Page, posted: PostedForm, spend_id: int) -> Response:
    """Delete one spend row."""
    scope.require_editor(REFUSAL)
    try:
        with scope.db.session() as session:
            ledger.delete_spend(session, scope.workspace_id, spend_id)
    except NotFound as error:
        raise HTTPException(404, error.detail) from None
    kept = {key: posted.get(key) for key in ("from", "to") if posted.get(key)}
    query = f"&{urlencode(kept)}" if kept else ""
    return done(request, "spend_page", "deleted", query)
