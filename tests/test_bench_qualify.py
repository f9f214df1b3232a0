"""The qualification benchmarks' data and baseline: seeded rows as the app stores them, and the naive
replay scoring exactly as the incremental engine does."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime

from bench.qualify_data import TimeText, seed_contacts
from bench.qualify_log import EVENT_MIX, event_rows, live_events, load_events
from bench.qualify_replay import disagreements, rank_keys, replay
from sqlalchemy import delete, func, inspect, select, update

from leadwell.db.models import Contact, Engagement, EngagementCap, Event, Fit
from leadwell.db.session import Database
from leadwell.events.types import validate_properties
from leadwell.scoring.decay import ZERO_RANK
from leadwell.scoring.engine import apply_events
from leadwell.scoring.engine import event_rows as engine_rows
from leadwell.scoring.rows import queue_state_for
from leadwell.scoring.settings import default_settings

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SEED = 7


def test_seeded_contacts_are_graded_and_in_their_queue_state(db: Database) -> None:
    seeded = seed_contacts(db, 400, SEED, NOW)
    assert len(seeded.contact_ids) == 400
    with db.session() as session:
        rows = session.execute(
            select(Contact.id, Contact.stage, Engagement.queue_state, Engagement.grade, Engagement.icp_id)
            .join(Engagement, Engagement.contact_id == Contact.id)
            .where(Contact.workspace_id == seeded.workspace_id)
        ).all()
        fits = session.scalar(select(func.count()).select_from(Fit))
    assert sorted(row[0] for row in rows) == list(seeded.contact_ids)
    assert fits == 400
    assert all(icp_id is not None for *_, icp_id in rows)
    assert {grade for *_, grade, _ in rows} >= {"A", "B", "C", "D", "E"}
    assert {state for _, _, state, _, _ in rows} == {"open", "parked", "closed"}
    # Grading may move good fits forward (a stage rule), never out of their queue state's logic.
    assert all(state == queue_state_for(stage) for _, stage, state, _, _ in rows)


def test_grades_can_be_written_directly_without_fits(db: Database) -> None:
    seeded = seed_contacts(db, 300, SEED, NOW, profile=False)
    with db.session() as session:
        grades = session.execute(
            select(Engagement.grade, Engagement.fit_score, Engagement.icp_id).where(
                Engagement.workspace_id == seeded.workspace_id
            )
        ).all()
        fits = session.scalar(select(func.count()).select_from(Fit))
    assert fits == 0
    assert {grade for grade, _, _ in grades} == {"A", "B", "C", "D", "E"}
    assert all(score is not None and icp_id is None for _, score, icp_id in grades)


def test_loaded_events_are_valid_and_the_indexes_are_back(db: Database) -> None:
    seeded = seed_contacts(db, 300, SEED, NOW, profile=False)
    load_events(db, seeded, 5_000, SEED, NOW)
    with db.session() as session:
        events = session.scalars(select(Event).where(Event.workspace_id == seeded.workspace_id)).all()
    assert len(events) == 5_000
    assert {event.type for event in events} == {event_type for event_type, _ in EVENT_MIX}
    for event in events[:500]:
        assert validate_properties(event.type, event.properties) == event.properties
        assert event.contact_id in seeded.contact_ids
        assert event.occurred_at < NOW
    late = sum(1 for a, b in zip(events, events[1:], strict=False) if b.occurred_at < a.occurred_at)
    assert 0 < late < len(events) // 2  # mostly in time order, some arrive late
    busiest = Counter(event.contact_id for event in events).most_common(1)[0][1]
    assert busiest > 3 * 5_000 / 300
    tables = inspect(db.engine)
    indexes = {index["name"] for index in tables.get_indexes("events")}
    assert {"ix_events_timeline", "ix_events_type_time"} <= indexes
    assert len(tables.get_foreign_keys("events")) == 2


def test_generated_log_is_the_same_for_the_same_seed() -> None:
    times = TimeText("sqlite", NOW)
    first = list(event_rows(SEED, 1, range(10, 110), 2_000, times))
    again = list(event_rows(SEED, 1, range(10, 110), 2_000, times))
    other = list(event_rows(SEED + 1, 1, range(10, 110), 2_000, times))
    assert first == again
    assert first != other
    assert all(json.loads(row[5]) == validate_properties(row[2], json.loads(row[5])) for row in first)


def test_time_text_matches_each_database_format() -> None:
    sqlite, postgres = TimeText("sqlite", NOW), TimeText("postgresql", NOW)
    assert sqlite.at(0) == "2026-03-01 12:00:00.000000"
    assert sqlite.at(-13 * 3600 - 1) == "2026-02-28 22:59:59.000000"
    assert postgres.at(86_400 * 365) == "2027-03-01 12:00:00.000000+00"


def test_live_events_follow_the_mix_with_valid_properties() -> None:
    stream = live_events(SEED)
    drawn = [next(stream) for _ in range(2_000)]
    counts = Counter(event_type for event_type, _ in drawn)
    assert counts.most_common(1)[0][0] == "page_viewed"
    assert all(validate_properties(event_type, props) == props for event_type, props in drawn[:200])


def _reset_scores(db: Database, workspace_id: int) -> None:
    with db.session() as session:
        session.execute(
            update(Engagement)
            .where(Engagement.workspace_id == workspace_id)
            .values(score=0.0, scored_at=None, rank_key=ZERO_RANK)
        )
        session.execute(delete(EngagementCap))


def test_naive_replay_scores_as_the_incremental_engine(db: Database) -> None:
    seeded = seed_contacts(db, 150, SEED, NOW, profile=False)
    load_events(db, seeded, 3_000, SEED, NOW)
    done = replay(db, seeded.workspace_id, default_settings())
    assert done.events == 3_000
    replayed = rank_keys(db, seeded.workspace_id)
    assert sum(key > ZERO_RANK for key in replayed.values()) > 100
    _reset_scores(db, seeded.workspace_id)
    with db.session() as session:
        events = session.scalars(select(Event).order_by(Event.id)).all()
        for start in range(0, len(events), 250):  # batches, as ingest sends them
            apply_events(session, seeded.workspace_id, engine_rows(events[start : start + 250]), NOW)
    assert disagreements(replayed, rank_keys(db, seeded.workspace_id)) == []
