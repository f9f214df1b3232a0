"""JSON API for the call queue and call outcomes under /api/v1."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, Field

from leadwell.contacts.api import path_id, query_id
from leadwell.db.types import utcnow
from leadwell.ids import IdCodec
from leadwell.inputs import Input
from leadwell.sales.outcomes import OutcomeResult, log_outcome
from leadwell.sales.queue import DEFAULT_LIMIT, MAX_LIMIT, QueueItem, call_queue
from leadwell.web.deps import Api
from leadwell.web.idempotency import create_once
from leadwell.web.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["queue"], responses=PROBLEM_RESPONSES)
Outcome = Literal["no_answer", "voicemail", "conversation", "meeting_booked", "not_a_fit", "not_now"]


class QueueItemOut(BaseModel):
    rank: int
    contact_id: str
    name: str
    title: str | None
    organization: str | None
    phones: list[str]
    email: str | None
    stage: str
    grade: str | None = Field(description="Best fit grade A–E; null when not graded.")
    fit_score: int | None
    engagement: float = Field(description="Engagement score as it stands now (decayed).")
    probability: float = Field(
        description="P(sale): the predictive model's when `model_version` is set, else from grade and "
        "engagement."
    )
    expected_value: Decimal = Field(description="probability × deal_value.")
    deal_value: Decimal
    currency: str
    deal_value_basis: Literal["settings", "won_deals"] = Field(
        description="The configured deal value, or the mean of the last year's won deals (5 or more)."
    )
    why_now: list[str]
    ask: list[str] = Field(description="What to find out, as people say it.")
    unknown_fields: list[str] = Field(description="The same as field paths, the keys of `learned`.")
    resurfaced_why: str | None
    due_at: datetime | None
    last_outcome: str | None
    last_called_at: datetime | None
    model_version: int | None = Field(
        default=None, description="The predictive model version P(sale) came from; null: fit and engagement."
    )
    model_reasons: list[str] = Field(
        default_factory=list, description="The model's strongest reasons, in plain words, strongest first."
    )


class QueueOut(BaseModel):
    items: list[QueueItemOut]


class CallIn(Input):
    """A call's outcome and what it found out."""

    outcome: Outcome
    note: str | None = Field(default=None, max_length=2000)
    reason: str | None = Field(default=None, max_length=500, description="Required for not_a_fit.")
    revisit_on: date | None = Field(default=None, description="Required for not_now; a future date.")
    learned: dict[str, str] | None = Field(
        default=None,
        description='Field values learned on the call, by field path: {"organization.employees": "250"}.',
    )


class CallOut(BaseModel):
    event_id: str
    contact_id: str
    outcome: Outcome
    stage: str
    stage_changed: bool
    queue_state: Literal["open", "parked", "closed"]
    due_at: datetime | None = Field(description="When the lead is back in the queue; null: never.")
    grade: str | None
    learned: list[str]


def item_out(codec: IdCodec, rank: int, item: QueueItem) -> QueueItemOut:
    """A queue item as the API answers it (public ids)."""
    return QueueItemOut(
        rank=rank,
        contact_id=codec.encode("contact", item.contact_id),
        name=item.name,
        title=item.title,
        organization=item.organization,
        phones=list(item.phones),
        email=item.email,
        stage=item.stage,
        grade=item.grade,
        fit_score=item.fit_score,
        engagement=round(item.engagement, 3),
        probability=round(item.probability, 6),
        expected_value=item.expected_value,
        deal_value=item.deal_value.amount,
        currency=item.currency,
        deal_value_basis="won_deals" if item.deal_value.basis == "won_deals" else "settings",
        why_now=list(item.why_now),
        ask=list(item.ask),
        unknown_fields=list(item.unknown_fields),
        resurfaced_why=item.resurfaced_why,
        due_at=item.due_at,
        last_outcome=item.last_outcome,
        last_called_at=item.last_called_at,
        model_version=item.model_version,
        model_reasons=list(item.model_reasons),
    )


def call_out(codec: IdCodec, result: OutcomeResult) -> CallOut:
    """What logging a call did, as the API answers it (public ids)."""
    return CallOut(
        event_id=codec.encode("event", result.event_id),
        contact_id=codec.encode("contact", result.contact_id),
        outcome=result.outcome,
        stage=result.stage,
        stage_changed=result.moved,
        queue_state=result.queue_state,
        due_at=result.due_at,
        grade=result.grade,
        learned=list(result.learned),
    )


@router.get("/queue", response_model=QueueOut, summary="The call queue: leads to call now, by expected value")
def get_queue(
    api: Api,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    owner_id: Annotated[str | None, Query(description="Public id of a user: their contacts only.")] = None,
) -> QueueOut:
    """The leads to call now, best first by expected value, with why now and what to ask."""
    owner = query_id(api.codec, "user", owner_id, "owner_id")
    with api.db.session() as session:
        items = call_queue(session, api.workspace_id, utcnow(), limit, owner)
    return QueueOut(items=[item_out(api.codec, rank, item) for rank, item in enumerate(items, 1)])


@router.post(
    "/contacts/{contact_id}/calls",
    status_code=201,
    response_model=CallOut,
    summary="Log a call's outcome; moves the stage and the lead's place in the queue",
)
def log_call(
    request: Request,
    api: Api,
    contact_id: str,
    body: CallIn,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> Response:
    """Log a call with the contact: its outcome, a note, and what the call found out (``learned``).
    Moves the stage and the contact's place in the queue as the outcome implies."""
    number = path_id(api.codec, "contact", contact_id)

    def create(session: Any) -> tuple[int, Any]:
        """Log it in the idempotency check's transaction."""
        result = log_outcome(
            session,
            api.codec,
            api.workspace_id,
            number,
            body.outcome,
            note=body.note,
            reason=body.reason,
            revisit_on=body.revisit_on,
            learned=body.learned,
        )
        return 201, jsonable_encoder(call_out(api.codec, result))

    return create_once(request, api, idempotency_key, body, create)
