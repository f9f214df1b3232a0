"""Event ingest (single and batch, all-or-nothing) and timelines."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import AwareDatetime, Field
from sqlalchemy import and_, func, insert, or_, select
from sqlalchemy.orm import Session

from leadwell.db.models import Base, Contact, Event
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput, NotFound
from leadwell.events.types import validate_properties
from leadwell.ids import BadId, IdCodec
from leadwell.inputs import Input
from leadwell.outreach.stops import stop_enrollments
from leadwell.pagination import Page, check_limit
from leadwell.scoring.engine import EventRow, apply_events

MAX_BATCH = 1000
# Batches up to this size are inserted with INSERT … RETURNING on PostgreSQL too (see _insert_rows).
RETURNING_BATCH = 16
# Clocks disagree; an event a little in the future is skew, a day ahead is a bug in the sender.
FUTURE_TOLERANCE = timedelta(hours=1)


class EventIn(Input):
    """One event as a client sends it."""

    contact_id: str = Field(description="Public id of the contact the event is about.")
    type: str = Field(max_length=40, description="One of the types in docs/events.md.")
    occurred_at: AwareDatetime | None = Field(default=None, description="With a time zone; default now.")
    properties: dict[str, Any] = Field(default_factory=dict)
    source: str | None = Field(default=None, max_length=120)
    campaign: str | None = Field(default=None, max_length=200)
    idempotency_key: str | None = Field(
        default=None, min_length=1, max_length=200, description="Resending the same key stores nothing new."
    )


@dataclass(frozen=True)
class Recorded:
    id: int
    created: bool


def _contact_ids(
    session: Session, codec: IdCodec, workspace_id: int, items: list[EventIn], prefix: str
) -> list[int]:
    decoded: list[int | None] = []
    for item in items:
        try:
            decoded.append(codec.decode("contact", item.contact_id))
        except BadId:
            decoded.append(None)
    wanted = {number for number in decoded if number is not None}
    known = (
        set(
            session.scalars(
                select(Contact.id).where(Contact.workspace_id == workspace_id, Contact.id.in_(wanted))
            )
        )
        if wanted
        else set()
    )
    for index, number in enumerate(decoded):
        if number is None or number not in known:
            field = f"{prefix}[{index}].contact_id" if prefix else "contact_id"
            raise InvalidInput(f"{field}: no such contact in this workspace", field=field)
    return [number for number in decoded if number is not None]


def _row(
    workspace_id: int, contact_id: int, item: EventIn, index: int, prefix: str, now: datetime
) -> dict[str, Any]:
    where = f"{prefix}[{index}]" if prefix else ""
    occurred = item.occurred_at or now
    if occurred > now + FUTURE_TOLERANCE:
        field = f"{where}.occurred_at" if where else "occurred_at"
        raise InvalidInput(f"{field}: more than an hour in the future", field=field)
    return {
        "workspace_id": workspace_id,
        "contact_id": contact_id,
        "type": item.type,
        "occurred_at": occurred,
        "received_at": now,
        "properties": validate_properties(item.type, item.properties, where),
        "source": item.source,
        "campaign": item.campaign,
        "idempotency_key": item.idempotency_key,
    }


def record_events(
    session: Session, codec: IdCodec, workspace_id: int, items: list[EventIn], prefix: str = "events"
) -> list[Recorded]:
    """Validate every item, then store them all or none.

    An item whose ``idempotency_key`` was stored before (or repeats an earlier item of the batch)
    is not stored again; its result points at the first copy with ``created=False``.
    """
    if len(items) > MAX_BATCH:
        raise InvalidInput(f"{prefix}: at most {MAX_BATCH} events per batch", field=prefix)
    now = utcnow()
    contact_ids = _contact_ids(session, codec, workspace_id, items, prefix)
    rows = [
        _row(workspace_id, cid, item, i, prefix, now)
        for i, (cid, item) in enumerate(zip(contact_ids, items, strict=True))
    ]
    keys = {row["idempotency_key"] for row in rows if row["idempotency_key"]}
    seen: dict[str, int] = {}
    if keys:
        stored = session.execute(
            select(Event.idempotency_key, Event.id).where(
                Event.workspace_id == workspace_id, Event.idempotency_key.in_(keys)
            )
        )
        seen = {key: event_id for key, event_id in stored if key}
    fresh: list[dict[str, Any]] = []
    fresh_keys: set[str] = set()
    for row in rows:
        key = row["idempotency_key"]
        if key and (key in seen or key in fresh_keys):
            continue
        if key:
            fresh_keys.add(key)
        fresh.append(row)
    new_ids = _insert_rows(session, fresh)
    # Scores move with the events that earn them, in the same transaction.
    scored = [
        EventRow(event_id, row["contact_id"], row["type"], row["occurred_at"], row["properties"])
        for row, event_id in zip(fresh, new_ids, strict=True)
    ]
    apply_events(session, workspace_id, scored, now)
    _stop_sequences_on_meetings(session, workspace_id, fresh, now)
    return _results(rows, fresh, new_ids, seen)


def _stop_sequences_on_meetings(
    session: Session, workspace_id: int, rows: list[dict[str, Any]], now: datetime
) -> None:
    """A meeting booked (recorded from a calendar tool, say) ends the contact's email sequences."""
    met = sorted({row["contact_id"] for row in rows if row["type"] == "meeting_booked"})
    for contact_id in met:
        stop_enrollments(session, workspace_id, contact_id, "meeting_booked", now)


def _insert_rows(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert event rows in one round of statements; their new ids, in order.

    Core, not the ORM: the ORM leaves out None-valued keys and would split a batch whose events
    differ in which optional fields they carry into many small INSERTs. On PostgreSQL the ids are
    drawn from the sequence first and the rows sent with a plain executemany (psycopg pipelines
    it); one multi-row INSERT … RETURNING of a thousand rows spends most of its time having its
    placeholders parsed on the client. A batch of a few rows (a single tracked event, most often)
    is one INSERT … RETURNING there too: a round trip less.
    """
    if not rows:
        return []
    events = Base.metadata.tables["events"]
    connection = session.connection()
    if connection.dialect.name != "postgresql" or len(rows) <= RETURNING_BATCH:
        statement = insert(events).returning(events.c.id, sort_by_parameter_order=True)
        return list(connection.execute(statement, rows).scalars())
    sequence = func.pg_get_serial_sequence("events", "id")
    ids = list(
        connection.execute(
            select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows)))
        ).scalars()
    )
    connection.execute(insert(events), [{**row, "id": new_id} for row, new_id in zip(rows, ids, strict=True)])
    return ids


def _results(
    rows: list[dict[str, Any]], fresh: list[dict[str, Any]], new_ids: list[int], seen: dict[str, int]
) -> list[Recorded]:
    created = {id(row): event_id for row, event_id in zip(fresh, new_ids, strict=True)}
    by_key = dict(seen)
    by_key.update({row["idempotency_key"]: created[id(row)] for row in fresh if row["idempotency_key"]})
    results = []
    for row in rows:
        if id(row) in created:
            results.append(Recorded(created[id(row)], True))
        else:
            results.append(Recorded(by_key[row["idempotency_key"]], False))
    return results


@dataclass(frozen=True)
class EventFilters:
    contact_id: int | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def _encode(event: Event) -> str:
    raw = f"{event.occurred_at.isoformat()}|{event.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        when, _, number = raw.partition("|")
        moment = datetime.fromisoformat(when)
        if moment.tzinfo is None:  # forged: a naive time cannot be compared with stored ones
            raise ValueError
        return moment, int(number)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor: not a cursor returned by this API", field="cursor") from None


def list_events(
    session: Session, workspace_id: int, filters: EventFilters, cursor: str | None = None, limit: int = 50
) -> Page[Event]:
    """Events newest first by when they happened: a contact's timeline, or the workspace's log."""
    check_limit(limit)
    query = select(Event).where(Event.workspace_id == workspace_id)
    if filters.contact_id is not None:
        query = query.where(Event.contact_id == filters.contact_id)
    if filters.type:
        query = query.where(Event.type == filters.type)
    if filters.since:
        query = query.where(Event.occurred_at >= filters.since)
    if filters.until:
        query = query.where(Event.occurred_at < filters.until)
    if cursor:
        when, number = _decode(cursor)
        query = query.where(or_(Event.occurred_at < when, and_(Event.occurred_at == when, Event.id < number)))
    query = query.order_by(Event.occurred_at.desc(), Event.id.desc()).limit(limit + 1)
    rows = list(session.scalars(query))
    if len(rows) > limit:
        return Page(rows[:limit], _encode(rows[limit - 1]))
    return Page(rows, None)


def get_event(session: Session, workspace_id: int, event_id: int) -> Event:
    event = session.scalar(select(Event).where(Event.id == event_id, Event.workspace_id == workspace_id))
    if event is None:
        raise NotFound("event: no such event in this workspace", field="event")
    return event
