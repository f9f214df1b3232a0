"""Turning stored tracking hits into events: the worker's half of the tracking inbox.

A batch of pending hits is claimed (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers
share the inbox without taking the same hit; on SQLite the batch holds the write lock from its
first statement), turned into events that move engagement scores, and marked processed in the same
transaction: a hit becomes its events exactly once, or not at all.

- ``open`` → ``email_opened``, one per message and contact (a mail client loading the pixel again
  changes nothing); ``click`` → ``email_clicked``, one per message, contact and link.
- ``view`` → ``page_viewed`` for the page's visitor; it belongs to the visitor's contact once a form
  has identified them (and is scored then), until then to the visitor alone.
- ``read`` / ``video`` → :func:`leadwell.capture.reading.process_progress_hits`.

A hit that cannot become an event (its contact deleted, a payload that does not check out) is
marked processed with its ``error`` set, so it never blocks the hits behind it.
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from leadwell.capture.hits import HitRow, mark_processed, pending_hits
from leadwell.capture.visitors import visitor_for
from leadwell.capture.write_gate import write_gate
from leadwell.db.models import Base, Contact
from leadwell.db.session import Database, is_write_conflict, with_retries
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.events.types import validate_properties
from leadwell.scoring.engine import EventRow, apply_events

log = logging.getLogger(__name__)

EVENTS = Base.metadata.tables["events"]
EVENT_KINDS = ("open", "click", "view")
PROGRESS_KINDS = ("read", "video")
DEFAULT_BATCH = 500
# On SQLite a batch holds the one write lock, which the tracking endpoints' commits wait for: keep
# batches short there.
SQLITE_BATCH = 100
_INSERT_CHUNK = 400  # rows per INSERT: well under SQLite's limit on bound parameters
_MERGE_HOPS = 5

ProgressHandler = Callable[[Session, Sequence[HitRow], datetime], None]


class HitRefused(ValueError):
    """A hit that cannot be turned into an event; the message is stored as its ``error``."""


@dataclass
class Outcome:
    """What one call did: hits handled, hits set aside with an error, events stored."""

    processed: int = 0
    failed: int = 0
    events: int = 0

    def add(self, other: Outcome) -> None:
        self.processed += other.processed
        self.failed += other.failed
        self.events += other.events


@dataclass
class _Batch:
    now: datetime
    errors: dict[int, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)


def progress_handler() -> ProgressHandler | None:
    """The reader's progress handler, when that part of the product is installed."""
    try:
        from leadwell.capture.reading import process_progress_hits
    except ImportError:
        return None
    handler: ProgressHandler = process_progress_hits
    return handler


def handled_kinds() -> tuple[str, ...]:
    """The hit kinds this process can turn into events; others wait in the inbox."""
    return EVENT_KINDS + (PROGRESS_KINDS if progress_handler() is not None else ())


def _take_write_lock(session: Session) -> None:
    # SQLite: a transaction that reads first and writes later fails at once when another writer
    # (the web process's inbox) committed in between. A no-op write as the first statement takes
    # the write lock up front, waiting for it through the busy timeout instead.
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("UPDATE tracking_hits SET id = id WHERE 0"))


def _live_contacts(session: Session, workspace_id: int, wanted: set[int]) -> dict[int, int]:
    """Each wanted contact id → the contact to credit (a merged contact's survivor); deleted ones absent."""
    resolved: dict[int, int] = {}
    pending = {contact_id: contact_id for contact_id in wanted}
    for _ in range(_MERGE_HOPS):
        if not pending:
            break
        rows = session.execute(
            select(Contact.id, Contact.merged_into_id).where(
                Contact.workspace_id == workspace_id, Contact.id.in_(set(pending.values()))
            )
        ).all()
        found = {contact_id: merged_into for contact_id, merged_into in rows}
        following: dict[int, int] = {}
        for original, current in pending.items():
            if current not in found:
                continue
            survivor = found[current]
            if survivor is None:
                resolved[original] = current
            else:
                following[original] = survivor
        pending = following
    return resolved


def _event_row(
    hit: HitRow, contact_id: int | None, type_: str, properties: dict[str, Any], key: str
) -> dict[str, Any]:
    try:
        checked = validate_properties(type_, properties, "")
    except InvalidInput as error:
        raise HitRefused(f"payload: {error.detail}") from None
    return {
        "workspace_id": hit.workspace_id,
        "contact_id": contact_id,
        "visitor_id": None,
        "type": type_,
        "occurred_at": hit.received_at,
        "properties": checked,
        "source": "tracking",
        "campaign": None,
        "idempotency_key": key,
    }


def _email_row(hit: HitRow, contacts: dict[int, int]) -> dict[str, Any]:
    payload = hit.payload
    contact, message = payload.get("c"), payload.get("m")
    if payload.get("w") != hit.workspace_id or not isinstance(contact, int) or not isinstance(message, str):
        raise HitRefused("payload: not a tracking token's contents")
    if contact not in contacts:
        raise HitRefused("contact: no longer exists")
    if hit.kind == "open":
        return _event_row(
            hit, contacts[contact], "email_opened", {"message": message}, f"open:{message}:{contact}"
        )
    url = payload.get("u")
    if not isinstance(url, str):
        raise HitRefused("payload: the link's address is missing")
    digest = hashlib.sha256(url.encode()).hexdigest()[:20]
    properties = {"message": message, "url": url}
    return _event_row(
        hit, contacts[contact], "email_clicked", properties, f"click:{message}:{contact}:{digest}"
    )


def _view_row(session: Session, hit: HitRow) -> dict[str, Any]:
    payload = hit.payload
    url, key = payload.get("u"), payload.get("v")
    if not isinstance(url, str) or not isinstance(key, str):
        raise HitRefused("payload: not a page view")
    properties = {
        name: payload.get(short) for name, short in (("url", "u"), ("title", "t"), ("referrer", "r"))
    }
    properties = {name: value for name, value in properties.items() if value is not None}
    row = _event_row(hit, None, "page_viewed", properties, f"view:{hit.id}")  # checked before any visitor
    visitor = visitor_for(session, hit.workspace_id, key, hit.received_at)
    if visitor.contact_id is not None:
        live = _live_contacts(session, hit.workspace_id, {visitor.contact_id})
        row["contact_id"] = live.get(visitor.contact_id)
    row["visitor_id"] = visitor.id
    return row


def _rows_for(session: Session, hits: Sequence[HitRow], batch: _Batch) -> None:
    """Event rows for the open, click and view hits of one workspace; refusals into ``batch.errors``."""
    workspace_id = hits[0].workspace_id
    wanted = {
        hit.payload["c"] for hit in hits if hit.kind != "view" and isinstance(hit.payload.get("c"), int)
    }
    contacts = _live_contacts(session, workspace_id, wanted) if wanted else {}
    for hit in hits:
        try:
            row = _view_row(session, hit) if hit.kind == "view" else _email_row(hit, contacts)
        except HitRefused as refused:
            batch.errors[hit.id] = str(refused)
            continue
        batch.rows.append(row)


def _insert_events(session: Session, rows: list[dict[str, Any]]) -> list[tuple[int, EventRow]]:
    """Insert rows whose idempotency key is new (one statement per chunk); the stored ones, each
    with its workspace."""
    unique = list({(row["workspace_id"], row["idempotency_key"]): row for row in rows}.values())
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stored: list[tuple[int, EventRow]] = []
    for start in range(0, len(unique), _INSERT_CHUNK):
        chunk = unique[start : start + _INSERT_CHUNK]
        statement = (
            insert(EVENTS)
            .values(chunk)
            .on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
            .returning(EVENTS.c.id, EVENTS.c.workspace_id, EVENTS.c.idempotency_key)
        )
        ids = {(ws, key): event_id for event_id, ws, key in session.execute(statement)}
        for row in chunk:
            event_id = ids.get((row["workspace_id"], row["idempotency_key"]))
            if event_id is not None:
                event = EventRow(
                    event_id, row["contact_id"], row["type"], row["occurred_at"], row["properties"]
                )
                stored.append((row["workspace_id"], event))
    return stored


def _score(session: Session, stored: list[tuple[int, EventRow]], now: datetime) -> None:
    """Move the engagement scores of the contacts the stored events belong to, per workspace."""
    by_workspace: dict[int, list[EventRow]] = defaultdict(list)
    for workspace_id, event in stored:
        if event.contact_id is not None:
            by_workspace[workspace_id].append(event)
    for workspace_id, events in sorted(by_workspace.items()):
        apply_events(session, workspace_id, sorted(events, key=lambda event: event.id), now)


def _progress(session: Session, hits: list[HitRow], batch: _Batch, handler: ProgressHandler) -> None:
    """Hand read/video hits to the reader's handler; one that fails is retried alone, then set aside."""
    try:
        with session.begin_nested():
            handler(session, hits, batch.now)
        return
    except Exception:
        log.warning("a batch of %d progress hits failed; retrying them one by one", len(hits))
    for hit in hits:
        try:
            with session.begin_nested():
                handler(session, [hit], batch.now)
        except Exception as error:
            log.warning("%s hit %d could not be processed: %s", hit.kind, hit.id, error)
            batch.errors[hit.id] = f"{type(error).__name__}: {error}"[:2000]


def _handle(session: Session, hits: list[HitRow], now: datetime) -> Outcome:
    batch = _Batch(now)
    by_workspace: dict[int, list[HitRow]] = defaultdict(list)
    for hit in hits:
        if hit.kind in EVENT_KINDS:
            by_workspace[hit.workspace_id].append(hit)
    for workspace_id in sorted(by_workspace):
        _rows_for(session, by_workspace[workspace_id], batch)
    stored = _insert_events(session, batch.rows)
    _score(session, stored, now)
    progress = [hit for hit in hits if hit.kind in PROGRESS_KINDS]
    handler = progress_handler()
    if progress and handler is not None:
        _progress(session, progress, batch, handler)
    mark_processed(session, [hit.id for hit in hits], now, batch.errors)
    return Outcome(len(hits) - len(batch.errors), len(batch.errors), len(stored))


def _claim_and_handle(session: Session, limit: int, kinds: tuple[str, ...], ids: list[int] | None) -> Outcome:
    _take_write_lock(session)
    hits = pending_hits(session, limit, kinds, ids)
    return _handle(session, hits, utcnow()) if hits else Outcome()


def process_pending(db: Database, limit: int = DEFAULT_BATCH) -> Outcome:
    """Turn up to ``limit`` pending hits into events, in one transaction with the hits marked processed.

    When that transaction fails for a reason other than a lost race (a bug, a row the database
    refuses), the hits are taken one at a time instead and the one that fails is set aside with
    its error, so one bad hit never holds up the inbox.
    """
    kinds = handled_kinds()
    try:
        with write_gate(db):
            return with_retries(db, lambda session: _claim_and_handle(session, limit, kinds, None))
    except DBAPIError as error:
        if is_write_conflict(error):
            raise
        log.warning("a batch of tracking hits failed (%s); taking them one by one", error)
    except Exception:
        log.exception("a batch of tracking hits failed; taking them one by one")
    with db.session() as session:
        ids = [hit.id for hit in pending_hits(session, limit, kinds)]
    outcome = Outcome()
    for hit_id in ids:
        outcome.add(_one(db, hit_id, kinds))
    return outcome


def default_batch(db: Database) -> int:
    """Hits per transaction for ``db``: short on SQLite, where a batch holds the write lock."""
    return SQLITE_BATCH if db.dialect == "sqlite" else DEFAULT_BATCH


def _one(db: Database, hit_id: int, kinds: tuple[str, ...]) -> Outcome:
    try:
        with write_gate(db):
            return with_retries(db, lambda session: _claim_and_handle(session, 1, kinds, [hit_id]))
    except Exception as error:
        log.warning("tracking hit %d set aside: %s", hit_id, error)
        with db.session() as session:
            mark_processed(session, [hit_id], utcnow(), {hit_id: f"{type(error).__name__}: {error}"})
        return Outcome(failed=1)
