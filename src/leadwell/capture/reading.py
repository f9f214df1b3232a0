"""Reading depth: the reader's and the player's beacons become ``Reading`` rows and milestone events.

A beacon repeats the whole state of one page load (its *session*): the distinct pages seen so far
and the cumulative active seconds. So the pages seen are a union, and the active time is the sum
over sessions of each session's highest report. Replayed, repeated and out-of-order beacons
therefore change nothing. A milestone (25/50/75/90/100 % of a document, 25/50/75/100 % of a video)
becomes one event the first time it is crossed, scored by the engine like any other event.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from leadwell.capture.hits import HitRow
from leadwell.db.models import Asset, Base, Contact, Reading
from leadwell.events.types import validate_properties
from leadwell.scoring.engine import EventRow, apply_events

# The asset kind each hit kind measures: the hosted reader shows PDFs, the player videos.
MEASURED_KINDS: Final = {"read": "pdf", "video": "video"}
READ_THRESHOLDS: Final = (25, 50, 75, 90, 100)
VIDEO_THRESHOLDS: Final = (25, 50, 75, 100)
# Bounds on what a client may claim: no document has more pages, no page load lasts longer, and
# a person does not open one asset more often than this (beyond it, new sessions add no time).
MAX_PAGES: Final = 10_000
MAX_SESSION_SECONDS: Final = 12 * 3600
MAX_SESSIONS: Final = 500
SESSION_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
# A contact merged into another is followed this many steps to the survivor at most.
MERGE_HOPS: Final = 8
EVENTS = Base.metadata.tables["events"]


@dataclass(frozen=True)
class Progress:
    """One beacon's numbers, checked: a page load's state of reading (or watching) one asset."""

    kind: str  # "read" | "video"
    workspace_id: int
    contact_id: int
    asset_id: int
    session_id: str
    seconds: int
    pages: frozenset[int] = frozenset()
    of: int | None = None
    percent: float = 0.0
    at: datetime | None = None


def _whole(value: Any, low: int, high: int) -> int | None:
    """``value`` when it is an integer (not a bool) within ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def _seconds(value: Any) -> int | None:
    """A reported number of seconds, whole, capped at what one page load can plausibly last."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 2**31:
        return None
    return min(round(value), MAX_SESSION_SECONDS)


def _session_id(value: Any) -> str | None:
    if isinstance(value, str) and 8 <= len(value) <= 32 and set(value) <= SESSION_CHARS:
        return value
    return None


def parse_hit(hit: HitRow) -> Progress | None:
    """The progress a read or video hit reports; None when it is malformed (it is then ignored)."""
    p = hit.payload if isinstance(hit.payload, dict) else {}
    workspace_id, contact_id, asset_id = (_whole(p.get(key), 1, 2**62) for key in ("w", "c", "a"))
    session_id = _session_id(p.get("s"))
    if workspace_id != hit.workspace_id or contact_id is None or asset_id is None or session_id is None:
        return None
    if hit.kind == "read":
        pages, seconds = p.get("pages"), _seconds(p.get("active"))
        of = _whole(p.get("of"), 1, MAX_PAGES)
        if not isinstance(pages, list) or len(pages) > MAX_PAGES or seconds is None:
            return None
        numbers = frozenset(n for n in (_whole(page, 1, MAX_PAGES) for page in pages) if n is not None)
        return Progress(
            "read", hit.workspace_id, contact_id, asset_id, session_id, seconds,
            pages=numbers, of=of, at=hit.received_at,
        )  # fmt: skip
    if hit.kind == "video":
        percent, seconds = p.get("percent"), _seconds(p.get("seconds"))
        if isinstance(percent, bool) or not isinstance(percent, int | float) or seconds is None:
            return None
        if not 0 <= percent <= 100:
            return None
        return Progress(
            "video", hit.workspace_id, contact_id, asset_id, session_id, seconds,
            percent=float(percent), at=hit.received_at,
        )  # fmt: skip
    return None


def process_progress_hits(session: Session, hits: Sequence[HitRow], now: datetime) -> None:
    """Fold read and video hits into ``Reading`` rows and record the milestones they cross.

    Works in the caller's transaction (the worker marks the hits processed in it). Malformed hits,
    and hits for a contact or asset that no longer exists, are ignored.
    """
    ordered = sorted(hits, key=lambda hit: hit.id)
    progress = [item for item in (parse_hit(hit) for hit in ordered) if item is not None]
    by_workspace: dict[int, list[Progress]] = {}
    for item in progress:
        by_workspace.setdefault(item.workspace_id, []).append(item)
    for workspace_id, items in sorted(by_workspace.items()):
        _process_workspace(session, workspace_id, items, now)


def _process_workspace(session: Session, workspace_id: int, items: list[Progress], now: datetime) -> None:
    survivors = _live_contacts(session, workspace_id, {item.contact_id for item in items})
    assets = {
        asset.id: asset
        for asset in session.scalars(
            select(Asset).where(
                Asset.workspace_id == workspace_id, Asset.id.in_(sorted({item.asset_id for item in items}))
            )
        )
    }
    grouped: dict[tuple[int, int], list[Progress]] = {}
    for item in items:
        contact_id = survivors.get(item.contact_id)
        asset = assets.get(item.asset_id)
        if contact_id is None or asset is None or asset.kind != MEASURED_KINDS[item.kind]:
            continue
        grouped.setdefault((contact_id, asset.id), []).append(item)
    if not grouped:
        return
    readings = _lock_readings(session, workspace_id, sorted(grouped), now)
    scored: list[EventRow] = []
    for key, reports in sorted(grouped.items()):
        reading, asset = readings[key], assets[key[1]]
        # One report at a time, in the order they arrived: a milestone carries the numbers of the
        # report that crossed it, not those of the whole batch.
        for report in reports:
            at = report.at or now
            crossed = fold_reports(reading, asset, [report], at)
            scored += _record_milestones(session, reading, asset, crossed, at, now)
    apply_events(session, workspace_id, scored, now)


def live_contact(session: Session, workspace_id: int, contact_id: int) -> int | None:
    """The contact now standing for ``contact_id`` (its merge survivor, if merged); None if gone."""
    return _live_contacts(session, workspace_id, {contact_id}).get(contact_id)


def _live_contacts(session: Session, workspace_id: int, contact_ids: Iterable[int]) -> dict[int, int]:
    """Each existing contact id mapped to the contact that stands for it now (following merges)."""
    merged_into: dict[int, int | None] = {}
    frontier = set(contact_ids)
    for _ in range(MERGE_HOPS):
        if not frontier:
            break
        query = select(Contact.id, Contact.merged_into_id).where(
            Contact.workspace_id == workspace_id, Contact.id.in_(sorted(frontier))
        )
        found: dict[int, int | None] = {row[0]: row[1] for row in session.execute(query)}
        merged_into.update(found)
        frontier = {target for target in found.values() if target is not None and target not in merged_into}
    answer: dict[int, int] = {}
    for number in set(contact_ids):
        current: int | None = number
        for _ in range(MERGE_HOPS):
            if current is None or current not in merged_into or merged_into[current] is None:
                break
            current = merged_into[current]
        if current is not None and current in merged_into and merged_into[current] is None:
            answer[number] = current
    return answer


def _lock_readings(
    session: Session, workspace_id: int, keys: list[tuple[int, int]], now: datetime
) -> dict[tuple[int, int], Reading]:
    """The readings of ``keys`` (contact id, asset id), created when missing, locked for this
    transaction so that two workers folding beacons of one reader take turns."""
    table = Base.metadata.tables["readings"]
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    rows = [
        {
            "workspace_id": workspace_id,
            "contact_id": contact_id,
            "asset_id": asset_id,
            "pages_seen": [],
            "active_seconds": 0,
            "percent": 0.0,
            "milestones": [],
            "sessions": {},
            "first_at": now,
            "last_at": now,
        }
        for contact_id, asset_id in keys
    ]
    session.execute(insert(table).on_conflict_do_nothing(index_elements=["contact_id", "asset_id"]), rows)
    contact_ids = sorted({contact_id for contact_id, _ in keys})
    asset_ids = sorted({asset_id for _, asset_id in keys})
    query = (
        select(Reading)
        .where(
            Reading.workspace_id == workspace_id,
            Reading.contact_id.in_(contact_ids),
            Reading.asset_id.in_(asset_ids),
        )
        .order_by(Reading.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    found = {(r.contact_id, r.asset_id): r for r in session.scalars(query)}
    return {key: found[key] for key in keys}


def fold_reports(reading: Reading, asset: Asset, reports: list[Progress], at: datetime) -> list[int]:
    """Add ``reports`` to ``reading``; the milestone thresholds crossed for the first time."""
    sessions = dict(reading.sessions or {})
    for report in reports:
        known = sessions.get(report.session_id)
        if known is None and len(sessions) >= MAX_SESSIONS:
            continue
        sessions[report.session_id] = max(known or 0, report.seconds)
    reading.sessions = sessions
    reading.active_seconds = sum(sessions.values())
    if asset.kind == "video":
        reading.percent = max([reading.percent, *(report.percent for report in reports)])
        thresholds: tuple[int, ...] = VIDEO_THRESHOLDS
    else:
        claimed = max([reading.pages_total or 0, *(report.of or 0 for report in reports)])
        total = asset.pages or claimed or None
        seen = set(reading.pages_seen or []).union(*(report.pages for report in reports))
        if total is not None:
            seen = {page for page in seen if page <= total}
        reading.pages_total = total
        reading.pages_seen = sorted(seen)
        reading.percent = round(100.0 * len(seen) / total, 2) if total else 0.0
        thresholds = READ_THRESHOLDS
    reading.first_at = min(reading.first_at, at)
    reading.last_at = max(reading.last_at, at)
    done = set(reading.milestones or [])
    crossed = [mark for mark in thresholds if _reached(reading, asset, mark) and mark not in done]
    reading.milestones = sorted(done | set(crossed))
    return crossed


def _reached(reading: Reading, asset: Asset, mark: int) -> bool:
    """Whether ``reading`` is at ``mark`` percent, compared exactly (no rounding for documents)."""
    if asset.kind == "video":
        return reading.percent >= mark
    total = reading.pages_total or 0
    return total > 0 and len(reading.pages_seen) * 100 >= mark * total


def _record_milestones(
    session: Session, reading: Reading, asset: Asset, crossed: list[int], at: datetime, now: datetime
) -> list[EventRow]:
    """Store one progress event per newly crossed threshold; those stored (for scoring)."""
    event_type = "video_progress" if asset.kind == "video" else "read_progress"
    prefix = "video" if asset.kind == "video" else "read"
    stored: list[EventRow] = []
    for mark in crossed:
        properties: dict[str, Any] = {"asset": asset.slug, "percent": mark}
        properties["active_seconds"] = reading.active_seconds
        if asset.kind != "video":
            properties["pages_viewed"] = len(reading.pages_seen)
            if reading.pages_total:
                properties["pages_total"] = reading.pages_total
        key = f"{prefix}:{asset.id}:{reading.contact_id}:{mark}"
        event = OnceEvent(reading.workspace_id, reading.contact_id, event_type, properties, key, at)
        row = record_once(session, event, now)
        if row is not None:
            stored.append(row)
    return stored


@dataclass(frozen=True)
class OnceEvent:
    """An event stored at most once: its idempotency key decides."""

    workspace_id: int
    contact_id: int
    type: str
    properties: dict[str, Any]
    idempotency_key: str
    occurred_at: datetime


def record_once(session: Session, event: OnceEvent, now: datetime) -> EventRow | None:
    """Insert ``event`` unless its idempotency key was stored before; the row to score, or None.

    ``ON CONFLICT DO NOTHING`` rather than look-then-insert: two requests racing with one key store
    one event and neither fails.
    """
    connection = session.connection()
    insert = pg_insert if connection.dialect.name == "postgresql" else sqlite_insert
    checked = validate_properties(event.type, event.properties)
    values = {
        "workspace_id": event.workspace_id,
        "contact_id": event.contact_id,
        "type": event.type,
        "occurred_at": event.occurred_at,
        "received_at": now,
        "properties": checked,
        "source": "reader",
        "idempotency_key": event.idempotency_key,
    }
    statement = (
        insert(EVENTS)
        .values(values)
        .on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
        .returning(EVENTS.c.id)
    )
    new_id = connection.execute(statement).scalar()
    if new_id is None:
        return None
    return EventRow(new_id, event.contact_id, event.type, event.occurred_at, checked)


def _minutes(seconds: int) -> str:
    if seconds < 60:
        return "under a minute active" if seconds else "no active time"
    minutes = round(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''} active"


def reading_summary(reading: Reading, asset: Asset) -> str:
    """How far someone got, for people: "Read 14 of 18 pages, 22 minutes active" / "Watched 75%"."""
    if asset.kind == "video":
        return f"Watched {_percent(reading.percent)}%"
    seen = len(reading.pages_seen or [])
    pages = f"{seen} of {reading.pages_total}" if reading.pages_total else str(seen)
    noun = "page" if seen == 1 and not reading.pages_total else "pages"
    return f"Read {pages} {noun}, {_minutes(reading.active_seconds)}"


def milestone_summary(properties: dict[str, Any]) -> str:
    """A milestone event's numbers: "9 of 18 pages, 6 minutes active" (empty when it has none)."""
    parts: list[str] = []
    viewed, total = properties.get("pages_viewed"), properties.get("pages_total")
    if isinstance(viewed, int):
        parts.append(f"{viewed} of {total} pages" if isinstance(total, int) else f"{viewed} pages")
    seconds = properties.get("active_seconds")
    if isinstance(seconds, int) and "pages_viewed" in properties:
        parts.append(_minutes(seconds))
    return ", ".join(parts)


def _percent(value: float) -> str:
    return f"{value:.0f}" if value >= 1 or value == 0 else f"{value:.1f}"
