"""Pipeline pages: the board of open deals, its CSV export, the new-deal form and the card actions.

Every action is a plain form posted to its own URL (move to a stage, mark won, mark lost with a
reason, edit value and expected close), so the board works from the keyboard and without
JavaScript; there is no dragging. Action URLs carry the board's query string (owner, search,
period), so a successful action redirects back to the same board, and a refused one (a loss without
a reason) shows that board again with the error on the card. The redirect names what was done and
to which deal (``?done=won&deal=dl_…``); the notice is written from the deal as it now stands, so a
reload repeats nothing and a crafted link cannot put words on the page.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from leadwell.contacts.pages import spreadsheet_safe
from leadwell.contacts.service import ContactFilters, filtered_contacts
from leadwell.db.models import Contact
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.ids import BadId
from leadwell.sales import deals
from leadwell.sales.deals import DealCreate, DealUpdate, pipeline_stages, stage_label
from leadwell.sales.periods import all_periods, period
from leadwell.sales.pipeline import (
    EXPORT_COLUMNS,
    BoardFilters,
    board,
    export_rows,
    owners,
    person_name,
)
from leadwell.web.deps import Page, PageScope, check_csrf
from leadwell.web.templating import render

router = APIRouter(include_in_schema=False)
PICKER_SIZE = 20
ACTIONS = ("created", "moved", "won", "lost", "edited")


async def form_fields(request: Request) -> dict[str, str]:
    """A posted form's text fields (parsed here, async, so the routes run in a worker thread)."""
    form = await request.form()
    return {key: value for key, value in form.multi_items() if isinstance(value, str)}


Fields = Annotated[dict[str, str], Depends(form_fields)]


def _filters(scope: PageScope, owner: str, q: str) -> BoardFilters:
    """Board filters from the query string: ``owner`` is "me", a user id or empty (anyone)."""
    owner_id: int | None = None
    if owner == "me":
        owner_id = scope.user.id
    elif owner:
        try:
            owner_id = scope.codec.decode("user", owner)
        except BadId:
            raise HTTPException(400, "owner: no such person in this workspace.") from None
    return BoardFilters(owner_id=owner_id, q=q.strip()[:200] or None)


def _board_params(owner: str, q: str, period_key: str) -> dict[str, str]:
    values = {"owner": owner, "q": q.strip(), "period": period_key}
    return {name: value for name, value in values.items() if value}


def _url(request: Request, route: str, params: dict[str, str], **path: str) -> str:
    base = str(request.app.url_path_for(route, **path))
    return f"{base}?{urlencode(params)}" if params else base


def _deal_number(scope: PageScope, public_id: str) -> int:
    try:
        return scope.codec.decode("deal", public_id)
    except BadId:
        raise HTTPException(404, "No such deal in this workspace.") from None


def _notice(session: Session, scope: PageScope, done: str, public_id: str) -> str | None:
    """What was just done to the deal, told from the deal and its contact as they now stand."""
    if done not in ACTIONS or not public_id:
        return None
    try:
        deal = deals.get_deal(session, scope.workspace_id, scope.codec.decode("deal", public_id))
    except (BadId, NotFound):
        return None
    contact = session.get(Contact, deal.contact_id) if deal.contact_id else None
    who = person_name(contact.first_name, contact.last_name, contact.email) if contact else None
    stage = f"{who} is now {contact.stage}." if contact and who else ""
    told = {
        "created": f"Opened “{deal.name}” in {stage_label(deal.stage)}. {stage}",
        "moved": f"Moved “{deal.name}” to {stage_label(deal.stage)}.",
        "won": f"Won “{deal.name}” ({deals.money_text(deal.value, deal.currency)}). {stage}",
        "lost": f"Lost “{deal.name}”: {deal.reason}. {stage}",
        "edited": f"Saved “{deal.name}”.",
    }
    return told[done].strip()


def _board_page(
    request: Request,
    scope: PageScope,
    params: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    owner, q = params.get("owner", ""), params.get("q", "")
    filters = _filters(scope, owner, q)
    today = utcnow().date()
    chosen = period(params.get("period"), today)
    with scope.db.session() as session:
        shown = board(session, scope.codec, scope.workspace_id, filters, chosen, today)
        people = owners(session, scope.workspace_id)
        stages = pipeline_stages(session, scope.workspace_id)
        if notice is None:
            notice = _notice(session, scope, params.get("done", ""), params.get("deal", ""))
    kept = _board_params(owner, q, params.get("period", ""))
    contacts_base = str(request.app.url_path_for("contacts_list"))
    return render(
        request,
        "pipeline/board.html",
        status_code=status,
        scope=scope,
        active="pipeline_board",
        board=shown,
        stages=[(stage, stage_label(stage)) for stage in stages],
        owners=[(scope.codec.encode("user", user_id), name) for user_id, name in people],
        owner=owner,
        q=q,
        periods=all_periods(today),
        period_urls={
            p.key: _url(request, "pipeline_board", {**kept, "period": p.key}) for p in all_periods(today)
        },
        today=today,
        query=urlencode(kept),
        filtered=bool(owner or q.strip()),
        errors=errors or {},
        notice=notice,
        export_url=_url(request, "pipeline_export", kept),
        new_url=str(request.app.url_path_for("deal_new")),
        won_url=f"{contacts_base}?{urlencode({'deal': 'won', 'deal_since': chosen.start})}",
        lost_url=f"{contacts_base}?{urlencode({'deal': 'lost', 'deal_since': chosen.start})}",
    )


@router.get("/pipeline", name="pipeline_board")
def pipeline_board(
    request: Request,
    scope: Page,
    owner: str = "",
    q: str = "",
    period: str = "",
    done: str = "",
    deal: str = "",
) -> HTMLResponse:
    """The board: a column per pipeline stage, deals won and lost in the period beside it."""
    params = {"owner": owner, "q": q, "period": period, "done": done, "deal": deal}
    return _board_page(request, scope, params)


def _csv_lines(scope: PageScope, filters: BoardFilters) -> Iterator[str]:
    """The CSV text, a chunk at a time (each batch of deals read in its own short transaction)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    today = utcnow().date()
    for row in export_rows(scope.db.session, scope.codec, scope.workspace_id, filters, today):
        writer.writerow(spreadsheet_safe(_csv_value(value)) for value in row)
        if buffer.tell() > 64_000:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return value


@router.get("/pipeline.csv", name="pipeline_export")
def pipeline_export(scope: Page, owner: str = "", q: str = "") -> StreamingResponse:
    """Every open deal on the board (all of them, not only the cards shown), as CSV."""
    filters = _filters(scope, owner, q)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    headers = {"Content-Disposition": f'attachment; filename="pipeline-{stamp}.csv"'}
    return StreamingResponse(
        _csv_lines(scope, filters), media_type="text/csv; charset=utf-8", headers=headers
    )


# --- card actions --------------------------------------------------------------------------------


def _act(
    request: Request,
    scope: PageScope,
    public_id: str,
    fields: dict[str, str],
    change: dict[str, Any],
    done: str,
) -> Response:
    """Apply ``change`` to the deal; back to the board, or the board with the error on the card."""
    check_csrf(request, fields.get("csrf_token"))
    number = _deal_number(scope, public_id)
    params = {key: request.query_params.get(key, "") for key in ("owner", "q", "period")}
    try:
        data = DealUpdate.model_validate(change)
        with scope.db.session() as session:
            deals.update_deal(
                session, scope.codec, scope.workspace_id, number, data, by_user_id=scope.user.id
            )
    except NotFound:
        raise HTTPException(404, "No such deal in this workspace.") from None
    except (InvalidInput, ValidationError) as error:
        message = error.detail if isinstance(error, InvalidInput) else _first_error(error)
        return _board_page(request, scope, params, errors={public_id: message}, status=422)
    kept = _board_params(params["owner"], params["q"], params["period"])
    target = _url(request, "pipeline_board", {**kept, "done": done, "deal": public_id})
    return RedirectResponse(f"{target}#deal-{public_id}", status_code=303)


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "deal"
    return f"{where}: {first['msg']}"


@router.post("/pipeline/deals/{deal_id}/stage", name="deal_move", response_model=None)
def deal_move(request: Request, scope: Page, deal_id: str, fields: Fields) -> Response:
    """Move a deal to another pipeline stage."""
    return _act(request, scope, deal_id, fields, {"stage": fields.get("stage", "")}, "moved")


@router.post("/pipeline/deals/{deal_id}/won", name="deal_won", response_model=None)
def deal_won(request: Request, scope: Page, deal_id: str, fields: Fields) -> Response:
    """Mark a deal won: its contact becomes a customer."""
    change: dict[str, Any] = {"status": "won"}
    if fields.get("reason", "").strip():
        change["reason"] = fields["reason"]
    return _act(request, scope, deal_id, fields, change, "won")


@router.post("/pipeline/deals/{deal_id}/lost", name="deal_lost", response_model=None)
def deal_lost(request: Request, scope: Page, deal_id: str, fields: Fields) -> Response:
    """Mark a deal lost, with the reason (required)."""
    change = {"status": "lost", "reason": fields.get("reason", "")}
    return _act(request, scope, deal_id, fields, change, "lost")


@router.post("/pipeline/deals/{deal_id}/edit", name="deal_edit", response_model=None)
def deal_edit(request: Request, scope: Page, deal_id: str, fields: Fields) -> Response:
    """Change a deal's value and expected close date (an empty date clears it)."""
    change: dict[str, Any] = {
        "value": fields.get("value", "").replace(",", "").strip() or "0",
        "expected_close_on": fields.get("expected_close_on", "").strip() or None,
    }
    return _act(request, scope, deal_id, fields, change, "edited")


# --- a new deal ----------------------------------------------------------------------------------


def _picker(session: Session, scope: PageScope, find: str) -> list[tuple[str, str, str | None, str | None]]:
    """Up to :data:`PICKER_SIZE` contacts matching ``find``, by last name: (public id, name,
    organization, email)."""
    if not find.strip():
        return []
    query = filtered_contacts(scope.workspace_id, ContactFilters(q=find.strip()[:200]))
    query = query.order_by(func.lower(Contact.last_name), Contact.id).limit(PICKER_SIZE)
    query = query.options(selectinload(Contact.organization))
    return [
        (
            scope.codec.encode("contact", c.id),
            person_name(c.first_name, c.last_name, c.email),
            c.organization.name if c.organization else None,
            c.email,
        )
        for c in session.scalars(query)
    ]


def _chosen_contact(session: Session, scope: PageScope, public_id: str) -> Contact | None:
    if not public_id:
        return None
    try:
        number = scope.codec.decode("contact", public_id)
    except BadId:
        return None
    return session.scalar(
        select(Contact).where(Contact.id == number, Contact.workspace_id == scope.workspace_id)
    )


def _new_page(
    request: Request,
    scope: PageScope,
    values: dict[str, str],
    find: str = "",
    error: tuple[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    with scope.db.session() as session:
        contact = _chosen_contact(session, scope, values.get("contact_id", ""))
        picked = _picker(session, scope, find) if contact is None else []
        stages = pipeline_stages(session, scope.workspace_id)
        people = owners(session, scope.workspace_id)
        currency = deals.qualification_settings(session, scope.workspace_id).queue.currency
        organization = contact.organization.name if contact and contact.organization else None
    return render(
        request,
        "pipeline/new.html",
        status_code=status,
        scope=scope,
        active="pipeline_board",
        contact=contact,
        contact_name=person_name(contact.first_name, contact.last_name, contact.email) if contact else None,
        organization=organization,
        contact_url=_url(request, "contact_detail", {}, contact_id=scope.codec.encode("contact", contact.id))
        if contact
        else None,
        picked=picked,
        find=find,
        values={
            "currency": currency,
            "stage": stages[0],
            "owner_id": scope.codec.encode("user", scope.user.id),
        }
        | values,
        stages=[(stage, stage_label(stage)) for stage in stages],
        owners=[(scope.codec.encode("user", user_id), name) for user_id, name in people],
        error_field=error[0] if error else None,
        error=error[1] if error else None,
    )


@router.get("/pipeline/new", name="deal_new")
def deal_new(request: Request, scope: Page, contact: str = "", find: str = "") -> HTMLResponse:
    """The new-deal form; ``contact`` preselects the contact (the contact page links here),
    otherwise ``find`` searches contacts to pick from."""
    return _new_page(request, scope, {"contact_id": contact} if contact else {}, find)


NEW_FIELDS = ("name", "contact_id", "value", "currency", "stage", "expected_close_on", "owner_id")


@router.post("/pipeline/deals", name="deal_create", response_model=None)
def deal_create(request: Request, scope: Page, fields: Fields) -> Response:
    """Open a deal from the form; its contact becomes an opportunity."""
    check_csrf(request, fields.get("csrf_token"))
    values = {name: fields.get(name, "").strip() for name in NEW_FIELDS}
    if not values["contact_id"]:
        return _new_page(
            request,
            scope,
            values,
            fields.get("find", ""),
            ("contact_id", "contact_id: choose the contact"),
            422,
        )
    body: dict[str, Any] = {name: value for name, value in values.items() if value}
    body.setdefault("owner_id", scope.codec.encode("user", scope.user.id))
    if "value" in body:
        body["value"] = body["value"].replace(",", "")
    try:
        data = DealCreate.model_validate(body)
        with scope.db.session() as session:
            deal = deals.create_deal(session, scope.codec, scope.workspace_id, data, by_user_id=scope.user.id)
            public_id = scope.codec.encode("deal", deal.id)
    except InvalidInput as error:
        return _new_page(request, scope, values, "", (error.field or "", error.detail), 422)
    except ValidationError as error:
        field = str(error.errors()[0]["loc"][0]) if error.errors()[0]["loc"] else ""
        return _new_page(request, scope, values, "", (field, _first_error(error)), 422)
    target = _url(request, "pipeline_board", {"done": "created", "deal": public_id})
    return RedirectResponse(f"{target}#deal-{public_id}", status_code=303)
