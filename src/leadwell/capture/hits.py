"""The tracking inbox: public endpoints store hits here and acknowledge; the worker turns them into
events. Storing first keeps the endpoints fast and makes "acknowledged" mean "on disk"."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from leadwell.db.models import Base, TrackingHit
from leadwell.db.session import Database
from leadwell.db.types import utcnow

TRACKING_HITS = Base.metadata.tables["tracking_hits"]


@dataclass(frozen=True)
class HitRow:
    """One stored hit as the worker hands it to a handler."""

    id: int
    workspace_id: int
    kind: str
    payload: dict[str, Any]
    ip: str | None
    received_at: datetime


def store_hits(db: Database, hits: Sequence[dict[str, Any]]) -> None:
    """Insert ``hits`` (dicts with workspace_id, kind, payload, ip) in one committed transaction."""
    if not hits:
        return
    now = utcnow()
    rows = [{"received_at": now, **hit} for hit in hits]
    # Core, not the ORM: this is the inbox writer's whole job, and the ORM's bookkeeping per row
    # would be most of its time.
    with db.engine.begin() as connection:
        connection.execute(insert(TRACKING_HITS), rows)


def pending_hits(
    session: Session, limit: int = 1000, kinds: Sequence[str] | None = None, ids: Sequence[int] | None = None
) -> list[HitRow]:
    """The oldest unprocessed hits, locked for this transaction (skipping rows another worker holds).

    ``kinds`` keeps to hits of those kinds (the ones a worker can handle); ``ids`` to those hits.
    """
    query = select(TrackingHit).where(TrackingHit.processed_at.is_(None))
    if kinds is not None:
        query = query.where(TrackingHit.kind.in_(list(kinds)))
    if ids is not None:
        query = query.where(TrackingHit.id.in_(list(ids)))
    query = query.order_by(TrackingHit.id).limit(limit).with_for_update(skip_locked=True)
    return [
        HitRow(hit.id, hit.workspace_id, hit.kind, hit.payload, hit.ip, hit.received_at)
        for hit in session.scalars(query)
    ]


def mark_processed(session: Session, hit_ids: Sequence[int], now: datetime, errors: dict[int, str]) -> None:
    """Mark hits handled at ``now``; those in ``errors`` keep why they could not be turned into events."""
    done = [hit_id for hit_id in hit_ids if hit_id not in errors]
    if done:
        session.execute(
            update(TrackingHit)
            .where(TrackingHit.id.in_(done))
            .values(processed_at=now)
            .execution_options(synchronize_session=False)
        )
    for hit_id, error in errors.items():
        session.execute(
            update(TrackingHit)
            .where(TrackingHit.id == hit_id)
            .values(processed_at=now, error=error[:2000])
            .execution_options(synchronize_session=False)
        )
