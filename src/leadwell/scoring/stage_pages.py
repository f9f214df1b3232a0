"""Lifecycle stages on the contact page and in the API: the current stage and where the contact
stands with the call queue, the stage history (from → to, why, who or which rule, when), and a
manual move with a required reason.

``GET /api/v1/contacts/{id}/stages`` returns the same history, newest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    LIFECYCLE_STAGES,
    Contact,
    ContactList,
    Engagement,
    ListMember,
    StageChange,
    User,
)
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, LeadwellError, NotFound
from leadwell.ids import BadId, IdCodec
from leadwell.pagination import DEFAULT_LIMIT, MAX_LIMIT, newest_first, page_of
from leadwell.sales.queue import queue_place
from leadwell.scoring.stages import NURTURE_LIST, STAGE_LABELS, check_stage, move_stage
from leadwell.web.deps import Api, Page, PageScope, check_csrf
from leadwell.web.problems import PROBLEM_RESPONSES

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/v1", tags=["contacts"], responses=PROBLEM_RESPONSES)
MAX_REASON = 500
HISTORY_SHOWN = 100
QUEUE_WORDS = {
    "open": "In the call queue",
    "parked": "Parked in nurture: back in the queue on its revisit date or when it engages again",
    "closed": "Out of the call queue",
}


@dataclass(frozen=True)
class HistoryRow:
    """One stage move as the contact page shows it."""

    from_label: str
    to_label: str
    to_stage: str
    why: str
    by: str
    at: datetime


@dataclass(frozen=True)
class StagePanel:
    """Everything the contact page's stage panel shows."""

    stage: str
    label: str
    queue: str
    due_at: datetime | None
    resurfaced_why: str | None
    on_newsletter: bool
    history: list[HistoryRow]
    choices: list[tuple[str, str]]
    movable: bool
    # The contact's place among the call queue's first 25 now, None below them or out of the queue.
    queue_place: int | None = None


def _label(stage: str | None) -> str:
    return "—" if stage is None else STAGE_LABELS.get(stage, stage)


def _by(change: StageChange, names: dict[int, str]) -> str:
    """Who made a move: a person, an automatic rule, or leadwell itself."""
    if change.changed_by_id is not None:
        return names.get(change.changed_by_id, "a former member")
    if change.rule:
        return f"rule {change.rule}"
    return "leadwell"


def history_rows(session: Session, workspace_id: int, contact_id: int, limit: int) -> list[HistoryRow]:
    """A contact's latest stage moves, newest first, with who made each."""
    changes = list(
        session.scalars(
            select(StageChange)
            .where(StageChange.workspace_id == workspace_id, StageChange.contact_id == contact_id)
            .order_by(StageChange.changed_at.desc(), StageChange.id.desc())
            .limit(limit)
        )
    )
    people = {c.changed_by_id for c in changes if c.changed_by_id is not None}
    names = {
        user_id: name or email
        for user_id, name, email in session.execute(
            select(User.id, User.name, User.email).where(User.id.in_(sorted(people)))
        )
    }
    return [
        HistoryRow(_label(c.from_stage), _label(c.to_stage), c.to_stage, c.why, _by(c, names), c.changed_at)
        for c in changes
    ]


def stage_panel(session: Session, contact: Contact) -> StagePanel:
    """The stage panel of a contact's page."""
    engagement = session.get(Engagement, contact.id)
    place = (
        queue_place(session, contact.workspace_id, contact.id, utcnow())
        if engagement is not None and engagement.queue_state != "closed" and contact.merged_into_id is None
        else None
    )
    on_list = session.scalar(
        select(ListMember.contact_id)
        .join(ContactList, ContactList.id == ListMember.list_id)
        .where(
            ContactList.workspace_id == contact.workspace_id,
            ContactList.slug == NURTURE_LIST[0],
            ListMember.contact_id == contact.id,
        )
    )
    state = (
        "closed" if contact.merged_into_id is not None else (engagement.queue_state if engagement else "open")
    )
    return StagePanel(
        stage=contact.stage,
        label=_label(contact.stage),
        queue=QUEUE_WORDS.get(state, state),
        due_at=engagement.due_at if engagement else None,
        resurfaced_why=engagement.resurfaced_why if engagement else None,
        on_newsletter=on_list is not None,
        history=history_rows(session, contact.workspace_id, contact.id, HISTORY_SHOWN),
        choices=[(stage, _label(stage)) for stage in LIFECYCLE_STAGES if stage != contact.stage],
        movable=contact.merged_into_id is None,
        queue_place=place,
    )


def move_by_hand(
    session: Session, workspace_id: int, contact_id: int, stage: str, reason: str, user_id: int | None
) -> StageChange | None:
    """A person's move of a contact to ``stage`` for ``reason``; :class:`InvalidInput` naming
    ``stage`` or ``reason`` when either is missing or wrong, or the contact was merged away."""
    check_stage(stage)
    why = " ".join(reason.split())
    if not why:
        raise InvalidInput("reason: say why the contact moves", field="reason")
    if len(why) > MAX_REASON:
        raise InvalidInput(f"reason: at most {MAX_REASON} characters", field="reason")
    contact = session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.workspace_id == workspace_id)
    )
    if contact is None:
        raise NotFound("contact: no such contact in this workspace", field="contact")
    if contact.merged_into_id is not None:
        raise InvalidInput("stage: this contact was merged into another one; move that one", field="stage")
    return move_stage(session, contact, stage, why, by_user_id=user_id)


def _contact_number(codec: IdCodec, public_id: str) -> int:
    try:
        return codec.decode("contact", public_id)
    except BadId:
        raise HTTPException(404, "No such contact in this workspace.") from None


@router.post("/contacts/{contact_id}/stage", name="contact_stage_move")
def contact_stage_move(
    request: Request,
    scope: Page,
    contact_id: str,
    csrf: Annotated[str, Form(alias="csrf_token")] = "",
    stage: Annotated[str, Form()] = "",
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    """Move a contact to another stage by hand, then show its page again at the stage panel."""
    check_csrf(request, csrf)
    number = _contact_number(scope.codec, contact_id)
    try:
        with scope.db.session() as session:
            move_by_hand(session, scope.workspace_id, number, stage, reason, scope.user.id)
    except LeadwellError as error:
        raise HTTPException(error.status, error.detail) from None
    path = request.app.url_path_for("contact_detail", contact_id=contact_id)
    return RedirectResponse(f"{path}?{urlencode({'moved': stage})}#stage", status_code=303)


def newsletter_url(request: Request) -> str:
    """Where the newsletter list (nurture contacts' list) is shown."""
    return str(request.app.url_path_for("list_detail", slug=NURTURE_LIST[0]))


def panel_context(request: Request, scope: PageScope, session: Session, contact: Contact) -> dict[str, Any]:
    """What the contact page's template needs for the stage panel."""
    moved = request.query_params.get("moved", "")
    return {
        "stage_panel": stage_panel(session, contact),
        "stage_moved": _label(moved) if moved in LIFECYCLE_STAGES else None,
        "stage_move_url": request.app.url_path_for(
            "contact_stage_move", contact_id=scope.codec.encode("contact", contact.id)
        ),
        "newsletter_url": newsletter_url(request),
    }


# --- API -------------------------------------------------------------------------------------------


class StageChangeOut(BaseModel):
    from_stage: str | None = Field(description="None for the stage a contact was created in.")
    to_stage: str
    why: str
    rule: str | None = Field(description="The automatic stage rule that made the move, if one did.")
    changed_by: str | None = Field(description="Public id of the person who made the move, if one did.")
    changed_at: datetime


class StageChangePage(BaseModel):
    items: list[StageChangeOut]
    next_cursor: str | None


@api_router.get(
    "/contacts/{contact_id}/stages",
    response_model=StageChangePage,
    summary="A contact's stage history, newest first",
)
def contact_stages(
    api: Api,
    contact_id: str,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> StageChangePage:
    try:
        number = api.codec.decode("contact", contact_id)
    except BadId:
        raise NotFound("contact: no such contact in this workspace", field="contact") from None
    with api.db.session() as session:
        found = session.scalar(
            select(Contact.id).where(Contact.id == number, Contact.workspace_id == api.workspace_id)
        )
        if found is None:
            raise NotFound("contact: no such contact in this workspace", field="contact")
        query = select(StageChange).where(
            StageChange.workspace_id == api.workspace_id, StageChange.contact_id == number
        )
        page = page_of(list(session.scalars(newest_first(query, StageChange.id, cursor, limit))), limit, _id)
        items = [
            StageChangeOut(
                from_stage=c.from_stage,
                to_stage=c.to_stage,
                why=c.why,
                rule=c.rule,
                changed_by=api.codec.encode("user", c.changed_by_id) if c.changed_by_id else None,
                changed_at=c.changed_at,
            )
            for c in page.items
        ]
    return StageChangePage(items=items, next_cursor=page.next_cursor)


def _id(change: StageChange) -> int:
    return change.id
