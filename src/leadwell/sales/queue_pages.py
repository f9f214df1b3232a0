"""The call queue page: who to call now and why, a call panel per lead, and its CSV export.

The page works from the keyboard (``static/queue.js``: j/k select, o or Enter opens the call
panel, 1–6 pick the outcome, n the note, Ctrl+Enter or s logs it, Esc closes) and without
JavaScript (every lead's "Log call" link opens its panel on the server). Logging a call posts the
panel's form; the answer redirects back to the queue with the next lead selected and a notice
written from the contact as it now stands (``?logged=ct_…``), so a reload repeats nothing and a
crafted link cannot put words on the page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from sqlalchemy import select

from leadwell.db.models import Contact, Engagement
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.ids import BadId
from leadwell.sales.deals import money_text
from leadwell.sales.outcomes import OUTCOME_LABELS, OUTCOMES, date_text, log_outcome
from leadwell.sales.queue import DEFAULT_LIMIT, MAX_LIMIT, QueueItem, call_queue, person_name
from leadwell.sales.why_now import WEEKDAYS
from leadwell.scoring.stages import STAGE_LABELS
from leadwell.web.deps import Page, PageScope, check_csrf
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
LIMITS = (10, 25, 50, 100)
# A notice is for the call just logged: an old ``?logged=`` link shows nothing.
NOTICE_WINDOW = timedelta(minutes=30)
EXPORT_COLUMNS = (
    "rank", "contact_id", "name", "title", "organization", "phones", "email", "stage", "grade",
    "fit_score", "engagement", "probability", "expected_value", "currency", "why_now", "ask",
    "last_outcome", "last_called_at", "due_at",
)  # fmt: skip


async def form_fields(request: Request) -> dict[str, str]:
    """A posted form's text fields (parsed here, async, so the routes run in a worker thread)."""
    form = await request.form()
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


Fields = Annotated[dict[str, str], Depends(form_fields)]


@dataclass(frozen=True)
class LeadView:
    """A queue item as the page shows it."""

    rank: int
    id: str
    item: QueueItem
    url: str
    action: str
    expected_value: str
    last_call: str | None


def _owner(scope: PageScope, owner: str) -> int | None:
    return scope.user.id if owner == "me" else None


def _limit(limit: int) -> int:
    """``?limit=`` when it is 1–200, else the default (a page never fails over its length)."""
    return limit if 1 <= limit <= MAX_LIMIT else DEFAULT_LIMIT


def _kept(owner: str, limit: int) -> dict[str, str]:
    values = {"owner": "me" if owner == "me" else "", "limit": str(limit) if limit != DEFAULT_LIMIT else ""}
    return {name: value for name, value in values.items() if value}


def _url(request: Request, route: str, params: dict[str, str], **path: str) -> str:
    base = str(request.app.url_path_for(route, **path))
    return f"{base}?{urlencode(params)}" if params else base


def ahead_words(moment: datetime, now: datetime) -> str:
    """ "later today", "tomorrow", "in 14 days", "on Friday 12 Dec 2025" (UTC calendar days)."""
    gap = (moment.date() - now.date()).days
    if gap <= 0:
        return "later today"
    if gap == 1:
        return "tomorrow"
    if gap <= 31:
        return f"in {gap} days"
    return f"on {WEEKDAYS[moment.weekday()]} {date_text(moment.date())}"


def ago_words(moment: datetime, now: datetime) -> str:
    """ "today", "yesterday", "3 days ago" (UTC calendar days)."""
    gap = (now.date() - moment.date()).days
    return "today" if gap <= 0 else "yesterday" if gap == 1 else f"{gap} days ago"


def notice_words(name: str, outcome: str, stage: str, due_at: datetime | None, now: datetime) -> str:
    """ "Logged: no answer — Ada Lovelace, back in the queue tomorrow"."""
    head = f"Logged: {OUTCOME_LABELS.get(outcome, outcome)} — {name}"
    if outcome == "not_a_fit":
        return f"{head}, now {STAGE_LABELS[stage]} and out of the queue"
    if outcome == "not_now" and due_at is not None:
        return f"{head}, in nurture until {date_text(due_at.date())}"
    back = f"back in the queue {ahead_words(due_at, now)}" if due_at is not None else "still in the queue"
    if outcome == "meeting_booked":
        return f"{head}, now {STAGE_LABELS[stage]}; {back}"
    return f"{head}, {back}"


def _notice(scope: PageScope, public_id: str, now: datetime) -> str | None:
    """What the call just logged on ``public_id`` did, from the contact as it now stands."""
    try:
        number = scope.codec.decode("contact", public_id)
    except BadId:
        return None
    with scope.db.session() as session:
        found = session.execute(
            select(Contact, Engagement)
            .join(Engagement, Engagement.contact_id == Contact.id)
            .where(Contact.id == number, Contact.workspace_id == scope.workspace_id)
        ).first()
        if found is None:
            return None
        contact, engagement = found
        called = engagement.last_called_at
        if engagement.last_outcome is None or called is None or now - called > NOTICE_WINDOW:
            return None
        return notice_words(
            person_name(contact), engagement.last_outcome, contact.stage, engagement.due_at, now
        )


PLACEHOLDER = "__contact__"


@dataclass(frozen=True)
class Links:
    """Each lead's page and form action, from route templates resolved once per page (resolving a
    route walks every route of the app: 50 times a page would cost more than the queue itself)."""

    contact: str
    action: str

    @classmethod
    def of(cls, request: Request, kept: dict[str, str]) -> Links:
        """The links of a page showing the queue with the query parameters ``kept``."""
        return cls(
            _url(request, "contact_detail", {}, contact_id=PLACEHOLDER),
            _url(request, "queue_outcome", kept, contact_id=PLACEHOLDER),
        )


def _view(scope: PageScope, links: Links, rank: int, item: QueueItem, now: datetime) -> LeadView:
    public_id = scope.codec.encode("contact", item.contact_id)
    last_call = None
    if item.last_outcome and item.last_called_at:
        label = OUTCOME_LABELS.get(item.last_outcome, item.last_outcome.replace("_", " "))
        last_call = f"{label} {ago_words(item.last_called_at, now)}"
    return LeadView(
        rank=rank,
        id=public_id,
        item=item,
        url=links.contact.replace(PLACEHOLDER, public_id),
        action=links.action.replace(PLACEHOLDER, public_id),
        expected_value=money_text(item.expected_value.quantize(Decimal(1)), item.currency),
        last_call=last_call,
    )


@dataclass(frozen=True)
class Panel:
    """The call panel to show open on the page: its lead, and the refused form's values and error."""

    lead: str
    values: dict[str, str]
    error: str | None = None
    field: str | None = None


def _queue_page(
    request: Request,
    scope: PageScope,
    owner: str,
    limit: int,
    *,
    selected: str = "",
    notice: str | None = None,
    panel: Panel | None = None,
    status: int = 200,
) -> HTMLResponse:
    now = utcnow()
    with scope.db.session() as session:
        items = call_queue(session, scope.workspace_id, now, limit, _owner(scope, owner))
    kept = _kept(owner, limit)
    links = Links.of(request, kept)
    leads = [_view(scope, links, rank, item, now) for rank, item in enumerate(items, 1)]
    ids = [lead.id for lead in leads]
    chosen = panel.lead if panel else selected
    return render(
        request,
        "queue/page.html",
        status_code=status,
        scope=scope,
        active="queue_page",
        leads=leads,
        following={ids[n]: ids[n + 1] if n + 1 < len(ids) else "" for n in range(len(ids))},
        selected=chosen if chosen in ids else (ids[0] if ids else ""),
        panel=panel,
        notice=notice,
        outcomes=[(key, OUTCOME_LABELS[key]) for key in OUTCOMES],
        owner="me" if owner == "me" else "",
        limit=limit,
        limits=sorted({*LIMITS, limit}),
        deal_value=items[0].deal_value if items else None,
        model_version=next((item.model_version for item in items if item.model_version), None),
        export_url=_url(request, "queue_export", kept),
        tomorrow=(now + timedelta(days=1)).date().isoformat(),
    )


@router.get("/queue", name="queue_page")
def queue_page(
    request: Request,
    scope: Page,
    owner: str = "",
    limit: int = DEFAULT_LIMIT,
    logged: str = "",
    selected: Annotated[str, Query(alias="select")] = "",
    opened: Annotated[str, Query(alias="open")] = "",
) -> HTMLResponse:
    """The leads to call now, best first; ``open`` shows one lead's call panel (without scripts)."""
    notice = _notice(scope, logged, utcnow()) if logged else None
    panel = Panel(opened, {}) if opened else None
    return _queue_page(request, scope, owner, _limit(limit), selected=selected, notice=notice, panel=panel)


def _learned(fields: dict[str, str]) -> dict[str, str]:
    return {
        key.removeprefix("learned."): value for key, value in fields.items() if key.startswith("learned.")
    }


def _revisit(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(
            f"revisit_on: {text[:20]!r} is not a date (YYYY-MM-DD)", field="revisit_on"
        ) from None


@router.post("/queue/{contact_id}/outcome", name="queue_outcome", response_model=None)
def queue_outcome(request: Request, scope: Page, contact_id: str, fields: Fields) -> Response:
    """Log the call's outcome; back to the queue with the next lead selected and a notice."""
    check_csrf(request, fields.get("csrf_token"))
    owner, limit = request.query_params.get("owner", ""), _limit(_int(request.query_params.get("limit")))
    try:
        number = scope.codec.decode("contact", contact_id)
    except BadId:
        raise HTTPException(404, "No such contact in this workspace.") from None
    try:
        revisit_on = _revisit(fields.get("revisit_on", ""))
        with scope.db.session() as session:
            log_outcome(
                session,
                scope.codec,
                scope.workspace_id,
                number,
                fields.get("outcome", ""),
                note=fields.get("note"),
                reason=fields.get("reason"),
                revisit_on=revisit_on,
                learned=_learned(fields),
                by_user_id=scope.user.id,
            )
    except NotFound:
        raise HTTPException(404, "No such contact in this workspace.") from None
    except InvalidInput as error:
        refused = Panel(contact_id, fields, error.detail, error.field)
        return _queue_page(request, scope, owner, limit, panel=refused, status=422)
    params = {**_kept(owner, limit), "logged": contact_id}
    following = fields.get("next", "")
    if following:
        params["select"] = following
    target = _url(request, "queue_page", params)
    return RedirectResponse(f"{target}#lead-{following}" if following else target, status_code=303)


def _int(text: str | None) -> int:
    try:
        return int(text or DEFAULT_LIMIT)
    except ValueError:
        return DEFAULT_LIMIT


def export_row(scope: PageScope, rank: int, item: QueueItem) -> list[Any]:
    """One queue item as a CSV row (see :data:`EXPORT_COLUMNS`)."""
    return [
        rank, scope.codec.encode("contact", item.contact_id), item.name, item.title, item.organization,
        "; ".join(item.phones), item.email, item.stage, item.grade, item.fit_score,
        round(item.engagement, 1), round(item.probability, 4), item.expected_value, item.currency,
        "; ".join(item.why_now), "; ".join(item.ask), item.last_outcome,
        item.last_called_at.isoformat() if item.last_called_at else None,
        item.due_at.isoformat() if item.due_at else None,
    ]  # fmt: skip


def _csv_lines(scope: PageScope, items: list[QueueItem]) -> Iterator[str]:
    from leadwell.contacts.pages import spreadsheet_safe

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for rank, item in enumerate(items, 1):
        writer.writerow(spreadsheet_safe(value) for value in export_row(scope, rank, item))
    yield buffer.getvalue()


@router.get("/queue.csv", name="queue_export")
def queue_export(scope: Page, owner: str = "", limit: int = DEFAULT_LIMIT) -> StreamingResponse:
    """The queue as shown (same owner filter and length), as CSV."""
    with scope.db.session() as session:
        items = call_queue(session, scope.workspace_id, utcnow(), _limit(limit), _owner(scope, owner))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="queue-{stamp}.csv"'}
    return StreamingResponse(_csv_lines(scope, items), media_type="text/csv; charset=utf-8", headers=headers)
