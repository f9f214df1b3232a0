"""JSON API for the event log: ingest one or a batch (all-or-nothing), list, get."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.orm import Session

from leadwell.contacts.api import path_id, query_id
from leadwell.db.models import Event
from leadwell.db.session import with_retries
from leadwell.errors import InvalidInput
from leadwell.events import service
from leadwell.events.service import MAX_BATCH, EventIn
from leadwell.events.types import EVENT_TYPES
from leadwell.ids import IdCodec
from leadwell.inputs import Input
from leadwell.pagination import DEFAULT_LIMIT, MAX_LIMIT
from leadwell.web.deps import Api
from leadwell.web.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["events"], responses=PROBLEM_RESPONSES)


class EventOut(BaseModel):
    id: str
    contact_id: str | None
    type: str
    occurred_at: datetime
    received_at: datetime
    properties: dict[str, Any]
    source: str | None
    campaign: str | None
    idempotency_key: str | None


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class EventBatch(Input):
    events: list[EventIn] = Field(min_length=1, max_length=MAX_BATCH)


class BatchResult(BaseModel):
    id: str
    created: bool


class BatchOut(BaseModel):
    created: int
    duplicates: int
    results: list[BatchResult]


def event_out(codec: IdCodec, event: Event) -> EventOut:
    return EventOut(
        id=codec.encode("event", event.id),
        contact_id=codec.encode("contact", event.contact_id) if event.contact_id else None,
        type=event.type,
        occurred_at=event.occurred_at,
        received_at=event.received_at,
        properties=dict(event.properties),
        source=event.source,
        campaign=event.campaign,
        idempotency_key=event.idempotency_key,
    )


@router.post(
    "/events",
    status_code=201,
    response_model=EventOut,
    summary="Record one event (200 with the stored event when its idempotency_key was seen before)",
)
def create_event(api: Api, body: EventIn) -> JSONResponse:
    def record(session: Session) -> tuple[bool, Any]:
        (recorded,) = service.record_events(session, api.codec, api.workspace_id, [body], prefix="")
        event = service.get_event(session, api.workspace_id, recorded.id)
        return recorded.created, jsonable_encoder(event_out(api.codec, event))

    created, payload = with_retries(api.db, record)
    return JSONResponse(payload, status_code=201 if created else 200)


@router.post(
    "/events/batch",
    status_code=201,
    response_model=BatchOut,
    summary="Record up to 1,000 events: all are stored, or none and the first fault is named",
)
def create_events(api: Api, body: EventBatch) -> BatchOut:
    results = with_retries(
        api.db, lambda session: service.record_events(session, api.codec, api.workspace_id, body.events)
    )
    created = sum(result.created for result in results)
    return BatchOut(
        created=created,
        duplicates=len(results) - created,
        results=[BatchResult(id=api.codec.encode("event", r.id), created=r.created) for r in results],
    )


@router.get("/events", response_model=EventPage, summary="List events, most recent first")
def list_events(
    api: Api,
    contact_id: str | None = None,
    type: str | None = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> EventPage:
    if type is not None and type not in EVENT_TYPES:
        raise InvalidInput(f"type: unknown event type {type[:60]!r}", field="type")
    filters = service.EventFilters(
        contact_id=query_id(api.codec, "contact", contact_id, "contact_id"),
        type=type,
        since=since,
        until=until,
    )
    with api.db.session() as session:
        page = service.list_events(session, api.workspace_id, filters, cursor, limit)
        return EventPage(items=[event_out(api.codec, e) for e in page.items], next_cursor=page.next_cursor)


@router.get("/events/{event_id}", response_model=EventOut, summary="Get an event")
def get_event(api: Api, event_id: str) -> EventOut:
    number = path_id(api.codec, "event", event_id)
    with api.db.session() as session:
        return event_out(api.codec, service.get_event(session, api.workspace_id, number))
