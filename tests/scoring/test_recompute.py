"""The recompute rebuilds, in SQL, exactly what scoring events one by one built: for generated rule
sets and event logs (times in any order, arrival order apart from time order, caps, negative points,
decay half-lives from a day to a month) on each database."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement, EngagementCap, Event, Workspace
from leadwell.db.session import Database
from leadwell.events.service import EventIn, record_events
from leadwell.ids import IdCodec
from leadwell.scoring import recompute as recompute_module
from leadwell.scoring import recompute_parts
from leadwell.scoring.decay import ZERO_RANK
from leadwell.scoring.recompute import recompute
from leadwell.scoring.settings import from_document
from leadwell.scoring.store import apply_settings
from tests import factories
from tests.conftest import TEST_SECRET

CODEC = IdCodec(TEST_SECRET)
EXAMPLES = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
LONG_ASSET = "Annual report " + "x" * 180
LONG_TITLE = "Pricing " + "y" * 300  # a scope longer than its column: cut, the same way on both paths
RULES: dict[str, dict[str, Any]] = {
    "dl": {"event": "asset_downloaded", "points": 10, "cap": {"points": 10, "days": 365, "per": "asset"}},
    "dl-any": {"event": "asset_downloaded", "points": 2.5},
    "read-80": {
        "event": "read_progress",
        "points": 25,
        "when": [{"property": "percent", "op": "gte", "value": 80}],
        "cap": {"points": 25, "days": 365, "per": "asset"},
    },
    "read-half": {
        "event": "read_progress",
        "points": 10,
        "when": [{"property": "percent", "op": "gte", "value": 50}],
        "cap": {"points": 15, "days": 30, "per": "asset"},
    },
    "read-low": {
        "event": "read_progress",
        "points": -1.5,
        "when": [{"property": "percent", "op": "lt", "value": 20}],
        "cap": {"points": 3, "days": 7},
    },
    "pricing": {
        "event": "page_viewed",
        "points": 10,
        "when": [{"property": "url", "op": "contains", "value": "/Pricing"}],
        "cap": {"points": 10, "days": 7},
    },
    "page": {"event": "page_viewed", "points": 1, "cap": {"points": 5, "days": 7}},
    "titled": {"event": "page_viewed", "points": 0.5, "cap": {"points": 1, "days": 30, "per": "title"}},
    "page-not-a": {
        "event": "page_viewed",
        "points": 2,
        "when": [{"property": "url", "op": "ne", "value": "HTTPS://EXAMPLE.COM/a"}],
    },
    "opened": {"event": "email_opened", "points": 1, "cap": {"points": 3, "days": 1}},
    "hard-bounce": {
        "event": "email_bounced",
        "points": -100,
        "when": [{"property": "kind", "op": "eq", "value": "hard"}],
    },
    "soft-bounce": {
        "event": "email_bounced",
        "points": -5,
        "when": [{"property": "kind", "op": "in", "value": ["soft"]}],
        "cap": {"points": 10, "days": 30},
    },
    "webinar": {
        "event": "webinar_attended",
        "points": 30,
        "when": [{"property": "minutes", "op": "gte", "value": 30}],
        "cap": {"points": 30, "days": 365, "per": "webinar"},
    },
    "webinar-short": {
        "event": "webinar_attended",
        "points": 5,
        "when": [
            {"property": "minutes", "op": "lt", "value": 30},
            {"property": "webinar", "op": "not_in", "value": ["w2"]},
        ],
    },
    "form": {"event": "form_submitted", "points": 15, "cap": {"points": 15, "days": 30, "per": "form"}},
    "call": {
        "event": "call_logged",
        "points": 7,
        "when": [{"property": "outcome", "op": "eq", "value": "conversation"}],
        "cap": {"points": 14, "days": 7, "per": "duration_seconds"},
    },
    "call-noted": {"event": "call_logged", "points": 3, "when": [{"property": "note", "op": "exists"}]},
    "unsubscribed": {"event": "email_unsubscribed", "points": -50},
}
PROPERTIES: dict[str, list[dict[str, Any]]] = {
    "asset_downloaded": [{"asset": "Guide"}, {"asset": "guide"}, {"asset": LONG_ASSET}],
    "read_progress": [{"asset": "Guide", "percent": p} for p in (0, 10, 19.5, 20, 50, 79.9, 80, 100)]
    + [{"asset": LONG_ASSET, "percent": 90}],
    "page_viewed": [
        {"url": "https://example.com/pricing"},
        {"url": "https://example.com/PRICING/x"},
        {"url": "https://example.com/a", "title": "A"},
        {"url": "https://example.com/b", "title": LONG_TITLE},
    ],
    "email_opened": [{}],
    "email_bounced": [{"kind": "hard"}, {"kind": "soft"}],
    "webinar_attended": [{"webinar": w, "minutes": m} for w in ("w1", "W1", "w2") for m in (0, 29.5, 30, 90)],
    "form_submitted": [{"form": "contact"}, {"form": "demo"}],
    "call_logged": [
        {"outcome": "conversation", "duration_seconds": 60},
        {"outcome": "conversation", "duration_seconds": 61},
        {"outcome": "no_answer", "note": "later"},
        {"outcome": "conversation", "duration_seconds": 60, "note": "x"},
    ],
    "email_unsubscribed": [{}],
    "email_sent": [{}],
}
START = datetime(2022, 6, 1, tzinfo=UTC)
SPAN_MICROS = 3 * 365 * 86_400 * 1_000_000  # three years: a one-day half-life decays past doubles

rule_sets = st.lists(st.sampled_from(sorted(RULES)), min_size=1, max_size=8, unique=True)
half_lives = st.sampled_from([1, 7, 30, 2.5])
events = st.lists(
    st.tuples(
        st.integers(0, 3),  # contact
        st.sampled_from(sorted(PROPERTIES)).flatmap(
            lambda kind: st.tuples(st.just(kind), st.sampled_from(PROPERTIES[kind]))
        ),
        st.one_of(st.integers(0, SPAN_MICROS), st.integers(SPAN_MICROS - 86_400_000_000, SPAN_MICROS)),
    ),
    min_size=1,
    max_size=40,
)
cuts = st.lists(st.integers(1, 40), max_size=6)


def settings_document(keys: list[str], half_life: float) -> dict[str, Any]:
    return {"half_life_days": half_life, "rules": [{"key": key, **RULES[key]} for key in keys]}


def setup(session: Session, keys: list[str], half_life: float) -> tuple[Workspace, list[int]]:
    """A workspace with these rules in force and four contacts."""
    workspace = factories.make_workspace(session)
    apply_settings(session, workspace.id, from_document(settings_document(keys, half_life)))
    contacts = [factories.make_contact(session, workspace).id for _ in range(4)]
    return workspace, contacts


def event_in(contact_id: int, kind: str, properties: dict[str, Any], micros: int) -> EventIn:
    return EventIn(
        contact_id=CODEC.encode("contact", contact_id),
        type=kind,
        occurred_at=START + timedelta(microseconds=micros),
        properties=properties,
    )


def ingest(db: Database, workspace_id: int, items: list[EventIn], cuts: list[int]) -> None:
    """Record the events in batches (each in its own transaction), scored as they arrive."""
    start = 0
    for cut in [*sorted(set(cuts)), len(items)]:
        if cut <= start:
            continue
        with db.session() as session:
            record_events(session, CODEC, workspace_id, items[start:cut])
        start = cut


def snapshot(session: Session, workspace_id: int) -> tuple[dict[int, Any], dict[Any, float]]:
    scores = {
        row.contact_id: (row.score, row.scored_at, row.rank_key)
        for row in session.scalars(select(Engagement).where(Engagement.workspace_id == workspace_id))
    }
    caps = {
        (row.contact_id, row.rule, row.scope): row.awarded
        for row in session.scalars(select(EngagementCap).where(EngagementCap.contact_id.in_(list(scores))))
    }
    return scores, caps


def assert_same(
    incremental: tuple[dict[int, Any], dict[Any, float]], rebuilt: tuple[dict[int, Any], dict[Any, float]]
) -> None:
    scores, caps = incremental
    again, again_caps = rebuilt
    # Contacts nothing was ever granted to have no row until the recompute gives them one.
    assert scores.keys() <= again.keys()
    scores = {n: scores.get(n, (0.0, None, ZERO_RANK)) for n in again}
    for contact_id, (score, scored_at, rank) in scores.items():
        other_score, other_at, other_rank = again[contact_id]
        assert math.isclose(score, other_score, rel_tol=1e-9, abs_tol=1e-9), (contact_id, score, other_score)
        assert scored_at == other_at, contact_id
        assert math.isclose(rank, other_rank, rel_tol=1e-9), (contact_id, rank, other_rank)
    assert caps.keys() == again_caps.keys()
    for key, awarded in caps.items():
        assert math.isclose(awarded, again_caps[key], rel_tol=1e-12), key
    # The same order: wherever the incremental keys differ by more than rounding.
    ranked = sorted(scores, key=lambda n: scores[n][2])
    for low, high in zip(ranked, ranked[1:], strict=False):
        if scores[high][2] - scores[low][2] > 1e-9 * max(1.0, abs(scores[high][2])):
            assert again[low][2] < again[high][2], (low, high)


@EXAMPLES
@given(rule_sets, half_lives, events, cuts)
def test_incremental_scores_equal_the_recompute(
    db: Database, keys: list[str], half_life: float, log: list[Any], batches: list[int]
) -> None:
    with db.session() as session:
        workspace, contacts = setup(session, keys, half_life)
    items = [event_in(contacts[who], kind, props, micros) for who, (kind, props), micros in log]
    ingest(db, workspace.id, items, batches)
    with db.session() as session:
        incremental = snapshot(session, workspace.id)
    with db.session() as session:
        recompute(session, workspace.id, db.engine)
    with db.session() as session:
        assert_same(incremental, snapshot(session, workspace.id))


@EXAMPLES
@given(rule_sets, half_lives, events, st.integers(0, 40))
def test_scoring_goes_on_from_a_recompute(
    db: Database, keys: list[str], half_life: float, log: list[Any], middle: int
) -> None:
    """Caps totals a recompute wrote are the ones later events are granted against."""
    with db.session() as session:
        workspace, contacts = setup(session, keys, half_life)
    items = [event_in(contacts[who], kind, props, micros) for who, (kind, props), micros in log]
    ingest(db, workspace.id, items[:middle], [])
    with db.session() as session:
        recompute(session, workspace.id)
    ingest(db, workspace.id, items[middle:], [])
    with db.session() as session:
        incremental = snapshot(session, workspace.id)
    with db.session() as session:
        recompute(session, workspace.id)
    with db.session() as session:
        assert_same(incremental, snapshot(session, workspace.id))


def test_recompute_rebuilds_scores_caps_and_rows_without_touching_the_queue(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        reader = factories.make_contact(session, workspace, stage="nurture")
        idle = factories.make_contact(session, workspace, stage="customer")
        merged = factories.make_contact(session, workspace, merged_into_id=reader.id)
        other = factories.make_workspace(session)
        stranger = factories.make_contact(session, other)
        ids = (workspace.id, reader.id, idle.id, merged.id, other.id, stranger.id)
    ws, reader_id, idle_id, merged_id, other_id, stranger_id = ids
    moment = datetime.now(UTC) - timedelta(days=2)
    ingest(db, ws, [event_in(reader_id, "asset_downloaded", {"asset": "Guide"}, 0)], [])
    ingest(db, other_id, [event_in(stranger_id, "email_replied", {}, 0)], [])
    with db.session() as session:
        session.add(
            Event(
                workspace_id=ws, contact_id=reader_id, type="email_replied", occurred_at=moment, properties={}
            )
        )
        session.execute(
            update(Engagement).where(Engagement.contact_id == reader_id).values(due_at=moment, grade="B")
        )
        session.execute(
            update(Engagement).where(Engagement.contact_id == idle_id).values(score=99.0, rank_key=5.0)
        )
        session.execute(update(Engagement).where(Engagement.contact_id == stranger_id).values(score=1.5))
    with db.session() as session:
        run = recompute(session, ws)
    assert (run.contacts, run.events_scored) == (2, 2)  # a merged contact gets no row of its own
    with db.session() as session:
        rows = {row.contact_id: row for row in session.scalars(select(Engagement))}
        assert merged_id not in rows
        reader_row, idle_row = rows[reader_id], rows[idle_id]
        assert reader_row.score >= 40 and reader_row.scored_at is not None and reader_row.version == 0
        assert (reader_row.queue_state, reader_row.grade, reader_row.due_at) == ("parked", "B", moment)
        assert (idle_row.score, idle_row.scored_at, idle_row.rank_key, idle_row.queue_state) == (
            0.0,
            None,
            ZERO_RANK,
            "closed",
        )
        assert rows[stranger_id].score == 1.5  # another workspace is left alone
        caps = session.scalars(select(EngagementCap.rule).where(EngagementCap.contact_id == reader_id)).all()
        assert caps == ["downloaded"]


def test_a_workspace_without_events_or_rules_recomputes_to_zero(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        apply_settings(session, workspace.id, from_document({"rules": []}))
        contact = factories.make_contact(session, workspace)
        factories.make_event(session, contact)
        ws, contact_id = workspace.id, contact.id
    with db.session() as session:
        run = recompute(session, ws, db.engine)
    assert (run.contacts, run.events_scored) == (1, 0)
    with db.session() as session:
        row = session.get(Engagement, contact_id)
        assert row is not None and (row.score, row.rank_key, row.version) == (0.0, ZERO_RANK, 1)


def _attached(db: Database) -> list[str]:
    """The databases attached to the pooled connections the session gets, besides main and temp."""
    with db.engine.connect() as connection:
        if db.dialect != "sqlite":
            return []
        return [row[1] for row in connection.exec_driver_sql("PRAGMA database_list") if row[1] != "main"]


def test_a_recompute_split_over_connections_equals_one_on_a_single_connection(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With an engine the work is split in two halves of the contact ids (PostgreSQL: each on its own
    connection; SQLite: read in processes of their own into scratch files this connection writes
    from): the scores and cap totals are the ones a single connection computes, and no scratch
    database stays attached to a pooled connection."""
    monkeypatch.setattr(recompute_module, "PARTS_FROM", 0)  # split however few the contacts
    rng = random.Random(3)
    with db.session() as session:
        workspace, contacts = setup(session, sorted(RULES), 7)
        contacts += [factories.make_contact(session, workspace).id for _ in range(6)]
    kinds = sorted(PROPERTIES)
    items = []
    for number in range(300):
        kind = rng.choice(kinds)
        items.append(
            event_in(rng.choice(contacts), kind, rng.choice(PROPERTIES[kind]), number * 3_600_000_000)
        )
    ingest(db, workspace.id, items, [100, 200])
    with db.session() as session:
        recompute(session, workspace.id)
    with db.session() as session:
        single = snapshot(session, workspace.id)
    with db.session() as session:
        run = recompute(session, workspace.id, db.engine)
    assert run.contacts == len(contacts) and run.events_scored > 0
    with db.session() as session:
        split = snapshot(session, workspace.id)
    assert single[0] == split[0]
    assert single[1].keys() == split[1].keys() and len(split[1]) > 10
    assert all(math.isclose(single[1][key], split[1][key], rel_tol=1e-12) for key in single[1])
    assert _attached(db) in ([], ["temp"])
    if db.dialect == "sqlite":  # the scratch folder beside the database file is gone
        assert not list(Path(str(db.engine.url.database)).parent.glob(".leadwell-recompute-*"))
    # SQLite took the split path: its scratch files were attached (and have been detached since).
    assert event.contains(db.engine, "checkin", recompute_parts._detach_parts) is (db.dialect == "sqlite")


def test_a_recompute_inside_a_writing_transaction_stays_on_its_connection(db: Database) -> None:
    """On SQLite, a session that already wrote holds the write lock: the halves could neither see its
    changes nor attach their files, so the recompute runs on the session's connection and still
    counts what the session wrote but did not commit."""
    with db.session() as session:
        workspace, (first, *_) = setup(session, ["dl"], 7)
        ws = workspace.id
    with db.session() as session:
        contact = session.get(Contact, first)
        assert contact is not None
        factories.make_event(session, contact)  # a download, 10 points
        run = recompute(session, ws, db.engine if db.dialect == "sqlite" else None)
    assert run.events_scored == 1
    with db.session() as session:
        row = session.get(Engagement, first)
        assert row is not None and 9 < row.score <= 10
