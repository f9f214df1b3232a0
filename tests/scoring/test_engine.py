"""Scoring events as they are stored, on each database: what a batch reports, caps across batches
and late events, rows created on first need, ORM events, the API hook, and two writers at once."""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement, EngagementCap, Event
from leadwell.db.session import Database, with_retries
from leadwell.events.service import EventIn, record_events
from leadwell.scoring.decay import ZERO_RANK, decay_rate, rank_key
from leadwell.scoring.engine import EventRow, ScoreChange, apply_events, score_new_events, scoring_lock
from leadwell.scoring.settings import from_document
from leadwell.scoring.store import apply_settings
from tests import factories
from tests.conftest import Tenant
from tests.scoring.test_recompute import CODEC

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
RULES: dict[str, Any] = {
    "half_life_days": 10,
    "rules": [
        {
            "key": "guide",
            "event": "asset_downloaded",
            "points": 10,
            "cap": {"points": 25, "days": 30, "per": "asset"},
        },
        {"key": "replied", "event": "email_replied", "points": 40},
        {"key": "bounced", "event": "email_bounced", "points": -40},
    ],
}
RATE = decay_rate(10)


def setup(session: Session, stage: str = "lead") -> tuple[int, int]:
    workspace = factories.make_workspace(session)
    apply_settings(session, workspace.id, from_document(RULES))
    return workspace.id, factories.make_contact(session, workspace, stage=stage).id


def stored(session: Session, contact_id: int, type_: str, at: datetime, **properties: Any) -> EventRow:
    found = session.get(Contact, contact_id)
    assert found is not None
    made = factories.make_event(session, found, type_, at, properties)
    return EventRow(made.id, made.contact_id, made.type, made.occurred_at, made.properties)


def test_a_batch_reports_each_contacts_change(db: Database) -> None:
    with db.session() as session:
        ws, ada = setup(session)
        rows = [
            stored(session, ada, "asset_downloaded", NOW - timedelta(days=2), asset="Guide"),
            stored(session, ada, "email_replied", NOW - timedelta(days=1)),
            stored(session, ada, "email_sent", NOW - timedelta(days=1)),
        ]
        changes = apply_events(session, ws, rows, NOW)
    expected = 10 * math.exp(-RATE * 2) + 40 * math.exp(-RATE)
    assert changes == [
        ScoreChange(ada, 0.0, changes[0].after, NOW, (("guide", 10, rows[0].id), ("replied", 40, rows[1].id)))
    ]
    assert math.isclose(changes[0].after, expected, rel_tol=1e-12)
    with db.session() as session:
        row = session.get(Engagement, ada)
        assert row is not None and row.version == 1 and row.queue_state == "open"
        assert row.scored_at == NOW - timedelta(days=1)
        assert math.isclose(row.score, 10 * math.exp(-RATE) + 40, rel_tol=1e-12)
        assert row.rank_key == rank_key(row.score, row.scored_at, RATE)


def test_caps_hold_across_batches_and_for_late_events(db: Database) -> None:
    with db.session() as session:
        ws, ada = setup(session, stage="nurture")
    grants: list[float] = []
    for days in (3, 2, 1, 9):  # the last arrives late: it happened first, and gets what is left
        with db.session() as session:
            row = stored(session, ada, "asset_downloaded", NOW - timedelta(days=days), asset="Guide")
            changes = apply_events(session, ws, [row], NOW)
            grants.append(sum(points for change in changes for _, points, _ in change.awarded))
    assert grants == [10, 10, 5, 0]
    with db.session() as session:
        engagement = session.get(Engagement, ada)
        assert engagement is not None and engagement.queue_state == "parked"  # where its stage puts it
        assert engagement.scored_at == NOW - timedelta(days=1)
        caps = session.execute(select(EngagementCap.rule, EngagementCap.awarded)).all()
        assert caps == [("guide", 25.0)]


def test_points_that_cancel_out_leave_a_zero_score(db: Database) -> None:
    with db.session() as session:
        ws, ada = setup(session)
        rows = [
            stored(session, ada, "email_replied", NOW - timedelta(days=1)),
            stored(session, ada, "email_bounced", NOW - timedelta(days=1), kind="hard"),
        ]
        apply_events(session, ws, rows, NOW)
        row = session.get(Engagement, ada)
        assert row is not None and (row.score, row.rank_key) == (0.0, ZERO_RANK)
        again = [stored(session, ada, "email_bounced", NOW, kind="soft")]
        apply_events(session, ws, again, NOW)
        session.refresh(row)
        assert row.score == -40 and row.rank_key < ZERO_RANK


def test_unscored_events_cost_one_small_query_per_batch(db: Database) -> None:
    with db.session() as session:
        ws, ada = setup(session)
        rows = [stored(session, ada, "email_sent", NOW) for _ in range(50)]
        statements: list[str] = []
        listen = lambda *args: statements.append(args[2])  # noqa: E731
        connection = session.connection()
        event.listen(connection, "before_cursor_execute", listen)
        try:
            assert apply_events(session, ws, rows, NOW) == []
        finally:
            event.remove(connection, "before_cursor_execute", listen)
    assert len(statements) == 1 and "scoring_versions" in statements[0]


def test_orm_events_are_scored_after_a_flush(db: Database) -> None:
    with db.session() as session:
        ws, ada = setup(session)
        engagement = Engagement(
            contact_id=ada, workspace_id=ws, score=0.0, rank_key=ZERO_RANK, queue_state="open"
        )
        session.add(engagement)
        reply = Event(workspace_id=ws, contact_id=ada, type="email_replied", occurred_at=NOW, properties={})
        session.add(reply)
        changes = score_new_events(session, ws, [reply])
        assert [change.awarded for change in changes] == [(("replied", 40, reply.id),)]
        assert engagement.score == 40  # the object the session held was read again


def test_events_recorded_through_the_api_are_scored(client: TestClient, db: Database, tenant: Tenant) -> None:
    with db.session() as session:
        contact = factories.make_contact(session, tenant.workspace)
        public = CODEC.encode("contact", contact.id)
    body = {"contact_id": public, "type": "email_replied", "occurred_at": "2026-01-01T10:00:00Z"}
    assert client.post("/api/v1/events", json=body, headers=tenant.headers).status_code == 201
    assert (
        client.post(
            "/api/v1/events", json=body | {"idempotency_key": "k"}, headers=tenant.headers
        ).status_code
        == 201
    )
    with db.session() as session:
        row = session.get(Engagement, contact.id)
        assert row is not None and math.isclose(row.score, 80.0)  # two replies, default rules


def test_two_writers_scoring_one_contact_take_turns(db: Database) -> None:
    """The first holds its transaction open; the second waits (PostgreSQL: on the engagement row's
    lock; SQLite: for the write lock, then retries) and sees what the first granted."""
    with db.session() as session:
        ws, ada = setup(session)
    item = EventIn(
        contact_id=CODEC.encode("contact", ada),
        type="asset_downloaded",
        occurred_at=NOW,
        properties={"asset": "Guide"},
    )
    first_scored, release = threading.Event(), threading.Event()
    seen: list[list[Any]] = []

    def first() -> None:
        with db.session() as session:
            record_events(session, CODEC, ws, [item, item, item])  # 10 + 10 + 5: the cap is reached
            first_scored.set()
            release.wait(timeout=10)

    def second() -> None:
        first_scored.wait(timeout=10)
        seen.append(with_retries(db, lambda session: record_events(session, CODEC, ws, [item])))

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # the second is waiting by now
    release.set()
    for thread in threads:
        thread.join(timeout=20)
    assert seen and len(seen[0]) == 1
    with db.session() as session:
        caps = session.scalars(select(EngagementCap.awarded)).all()
        row = session.get(Engagement, ada)
        assert caps == [25.0] and row is not None and math.isclose(row.score, 25.0)


def test_batches_wait_for_a_recompute_on_postgresql(db: Database) -> None:
    if db.dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time; the lock is PostgreSQL's")
    with db.session() as session:
        ws, ada = setup(session)
    item = EventIn(
        contact_id=CODEC.encode("contact", ada), type="email_replied", occurred_at=NOW, properties={}
    )
    locked, release = threading.Event(), threading.Event()
    finished: list[float] = []

    def recomputing() -> None:
        with db.session() as session:
            scoring_lock(session.connection(), ws, exclusive=True)
            locked.set()
            release.wait(timeout=10)

    def recording() -> None:
        locked.wait(timeout=10)
        with db.session() as session:
            record_events(session, CODEC, ws, [item])
        finished.append(time.monotonic())

    threads = [threading.Thread(target=recomputing), threading.Thread(target=recording)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    released_at = time.monotonic()
    release.set()
    for thread in threads:
        thread.join(timeout=20)
    assert finished and finished[0] >= released_at
    with db.session() as session:
        row = session.get(Engagement, ada)
        assert row is not None and row.score == 40
