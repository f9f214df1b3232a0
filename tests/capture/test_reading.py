"""Reading depth: beacons folded into Reading rows, milestone events and the score they move."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from leadwell.capture.hits import HitRow
from leadwell.capture.reading import (
    Progress,
    fold_reports,
    milestone_summary,
    parse_hit,
    process_progress_hits,
    reading_summary,
)
from leadwell.db.models import Asset, Contact, Reading, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from tests import factories
from tests.capture.reader_support import events_of, make_asset, pdf_bytes, read_hit, score_of, video_hit


def _setup(db: Database, pages: int | None = 18, kind: str = "pdf") -> tuple[int, int, int]:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        content = pdf_bytes(1) if kind == "pdf" else b"\x00" * 16
        asset = make_asset(session, workspace, kind, content, pages=pages if kind == "pdf" else None)
        return workspace.id, contact.id, asset.id


def _run(db: Database, hits: list[HitRow]) -> None:
    with db.session() as session:
        process_progress_hits(session, hits, utcnow())


def _reading(db: Database, contact_id: int, asset_id: int) -> Reading:
    with db.session() as session:
        found = session.scalar(
            select(Reading).where(Reading.contact_id == contact_id, Reading.asset_id == asset_id)
        )
        assert found is not None
        return found


def test_pages_are_a_union_and_sessions_add_up(db: Database) -> None:
    w, c, a = _setup(db)
    _run(db, [read_hit(w, c, a, [1, 2, 3], 40, "first-load")])
    _run(
        db,
        [read_hit(w, c, a, [1, 2, 3, 4, 5], 70, "first-load"), read_hit(w, c, a, [9, 10], 30, "second-load")],
    )
    reading = _reading(db, c, a)
    assert reading.pages_seen == [1, 2, 3, 4, 5, 9, 10]
    assert reading.pages_total == 18
    assert reading.active_seconds == 100  # 70 (first load's highest) + 30
    assert reading.sessions == {"first-load": 70, "second-load": 30}
    assert round(reading.percent, 2) == round(700 / 18, 2)


def test_replayed_and_out_of_order_beacons_change_nothing(db: Database) -> None:
    w, c, a = _setup(db)
    later = read_hit(w, c, a, [1, 2, 3, 4, 5, 6, 7, 8, 9], 300)
    earlier = read_hit(w, c, a, [1, 2, 3], 60)
    _run(db, [later])
    before = _reading(db, c, a)
    _run(db, [earlier, later, earlier])
    _run(db, [later])
    after = _reading(db, c, a)
    assert (after.pages_seen, after.active_seconds, after.milestones) == (
        before.pages_seen,
        before.active_seconds,
        before.milestones,
    )
    with db.session() as session:
        assert [e.properties["percent"] for e in events_of(session, c, "read_progress")] == [25, 50]


def test_pages_are_clipped_to_the_assets_page_count(db: Database) -> None:
    w, c, a = _setup(db, pages=6)
    _run(db, [read_hit(w, c, a, [1, 2, 6, 7, 500], 20, of=1000)])
    reading = _reading(db, c, a)
    assert reading.pages_total == 6  # the file's count, not what the client claimed
    assert reading.pages_seen == [1, 2, 6]
    assert reading.percent == 50.0


def test_without_a_known_page_count_the_clients_count_is_used(db: Database) -> None:
    w, c, a = _setup(db, pages=None)
    _run(db, [read_hit(w, c, a, [1, 2, 3, 4], 20, of=8)])
    reading = _reading(db, c, a)
    assert (reading.pages_total, reading.pages_seen, reading.percent) == (8, [1, 2, 3, 4], 50.0)


def test_milestones_are_recorded_once_each_with_their_numbers(db: Database) -> None:
    w, c, a = _setup(db)
    _run(db, [read_hit(w, c, a, list(range(1, 10)), 360)])  # 9 of 18: 25 % and 50 %
    _run(db, [read_hit(w, c, a, list(range(1, 10)), 400)])  # nothing new crossed
    _run(db, [read_hit(w, c, a, list(range(1, 19)), 900, "another-load")])  # the rest
    with db.session() as session:
        events = events_of(session, c, "read_progress")
    assert [e.properties["percent"] for e in events] == [25, 50, 75, 90, 100]
    half = events[1]
    assert half.properties == {
        "asset": half.properties["asset"],
        "percent": 50,
        "pages_viewed": 9,
        "pages_total": 18,
        "active_seconds": 360,
    }
    assert half.idempotency_key == f"read:{a}:{c}:50"
    assert milestone_summary(half.properties) == "9 of 18 pages, 6 minutes active"
    assert _reading(db, c, a).milestones == [25, 50, 75, 90, 100]


def test_a_milestone_moves_the_score(db: Database) -> None:
    w, c, a = _setup(db)
    _run(db, [read_hit(w, c, a, [1, 2, 3, 4], 60)])  # 22 %: no milestone, no points
    with db.session() as session:
        assert score_of(session, c) == 0.0
    _run(db, [read_hit(w, c, a, list(range(1, 10)), 120)])  # 50 %: the default "read half" rule
    with db.session() as session:
        assert score_of(session, c) > 0.0


def test_a_deleted_contact_or_asset_is_ignored(db: Database) -> None:
    w, c, a = _setup(db)
    with db.session() as session:
        workspace = session.get(Workspace, w)
        assert workspace is not None
        survivor = factories.make_contact(session, workspace).id
        other = make_asset(session, workspace, "pdf", pdf_bytes(1), pages=4).id
        session.execute(delete(Contact).where(Contact.id == c))
        session.execute(delete(Asset).where(Asset.id == other))
    _run(db, [read_hit(w, c, a, [1, 2, 3], 30), read_hit(w, survivor, other, [1, 2], 30)])
    _run(db, [read_hit(w, survivor, a, [1], 5)])
    with db.session() as session:
        rows = list(session.scalars(select(Reading)))
        assert [(r.contact_id, r.asset_id) for r in rows] == [(survivor, a)]


def test_a_merged_contacts_reading_goes_to_the_survivor(db: Database) -> None:
    w, c, a = _setup(db)
    with db.session() as session:
        workspace = session.get(Workspace, w)
        assert workspace is not None
        survivor = factories.make_contact(session, workspace).id
        merged = session.get(Contact, c)
        assert merged is not None
        merged.merged_into_id = survivor
    _run(db, [read_hit(w, c, a, [1, 2, 3], 30)])
    assert _reading(db, survivor, a).pages_seen == [1, 2, 3]


def test_malformed_and_foreign_hits_are_ignored(db: Database) -> None:
    w, c, a = _setup(db)
    good = read_hit(w, c, a, [1, 2], 10)
    broken = [
        HitRow(1, w, "read", {**good.payload, "pages": "1,2"}, None, utcnow()),
        HitRow(2, w, "read", {**good.payload, "active": -5}, None, utcnow()),
        HitRow(3, w, "read", {**good.payload, "s": "x"}, None, utcnow()),
        HitRow(4, w, "read", {**good.payload, "c": True}, None, utcnow()),
        HitRow(5, w + 1, "read", good.payload, None, utcnow()),  # another workspace's inbox row
        HitRow(6, w, "video", good.payload, None, utcnow()),  # a video hit without a percent
        HitRow(7, w, "open", good.payload, None, utcnow()),
    ]
    assert [parse_hit(hit) for hit in broken] == [None] * len(broken)
    _run(db, broken)
    with db.session() as session:
        assert session.scalar(select(Reading)) is None


def test_video_progress_keeps_the_furthest_point_and_records_quarters(db: Database) -> None:
    w, c, a = _setup(db, kind="video")
    _run(db, [video_hit(w, c, a, 50, 61), video_hit(w, c, a, 25, 30)])
    _run(db, [video_hit(w, c, a, 75, 95, "video-two")])
    reading = _reading(db, c, a)
    assert (reading.percent, reading.active_seconds, reading.pages_seen) == (75.0, 156, [])
    with db.session() as session:
        events = events_of(session, c, "video_progress")
        assert [e.properties["percent"] for e in events] == [25, 50, 75]
        assert events[2].properties == {
            "asset": events[2].properties["asset"],
            "percent": 75,
            "active_seconds": 156,
        }
        assert score_of(session, c) > 0.0  # the default "watched 75 %" rule
        asset = session.get(Asset, a)
        assert asset is not None
        assert reading_summary(reading, asset) == "Watched 75%"


def test_hits_for_what_they_cannot_measure_are_ignored(db: Database) -> None:
    w, c, video = _setup(db, kind="video")
    with db.session() as session:
        workspace = session.get(Workspace, w)
        assert workspace is not None
        book = make_asset(session, workspace, "epub", b"PK").id
        paper = make_asset(session, workspace, "pdf", pdf_bytes(1), pages=4).id
    _run(
        db,
        [read_hit(w, c, video, [1, 2, 3], 30), read_hit(w, c, book, [1], 5), video_hit(w, c, paper, 50, 9)],
    )
    with db.session() as session:
        assert session.scalar(select(Reading)) is None


def test_reading_summary_words(db: Database) -> None:
    w, c, a = _setup(db)
    _run(db, [read_hit(w, c, a, list(range(1, 15)), 22 * 60 + 10)])
    with db.session() as session:
        asset = session.get(Asset, a)
        assert asset is not None
        assert reading_summary(_reading(db, c, a), asset) == "Read 14 of 18 pages, 22 minutes active"
        reading = Reading(pages_seen=[1], pages_total=None, active_seconds=20, percent=0.0)
        assert reading_summary(reading, asset) == "Read 1 page, under a minute active"


def test_late_beacons_keep_the_latest_time(db: Database) -> None:
    w, c, a = _setup(db)
    now = utcnow()
    _run(db, [read_hit(w, c, a, [1], 5, received_at=now)])
    _run(db, [read_hit(w, c, a, [2], 5, "older-load", received_at=now - timedelta(hours=2))])
    reading = _reading(db, c, a)
    assert reading.last_at >= now - timedelta(seconds=1)
    assert reading.first_at <= now - timedelta(hours=2) + timedelta(seconds=1)


# A page load's reports: pages seen so far and cumulative active seconds, both only growing.
_load = st.lists(
    st.tuples(st.sets(st.integers(1, 30), max_size=5), st.integers(0, 120)), min_size=1, max_size=5
)


def _cumulative(session_id: str, steps: list[tuple[set[int], int]]) -> list[Progress]:
    pages: set[int] = set()
    active = 0
    reports = []
    for new_pages, more in steps:
        pages |= new_pages
        active += more
        reports.append(Progress("read", 1, 1, 1, session_id, active, frozenset(pages), 24))
    return reports


@settings(max_examples=40, deadline=None)
@given(loads=st.lists(_load, min_size=1, max_size=4), data=st.data())
def test_any_order_and_any_repeats_give_the_same_reading(
    loads: list[list[tuple[set[int], int]]], data: st.DataObject
) -> None:
    reports = [
        report for index, steps in enumerate(loads) for report in _cumulative(f"session-{index}", steps)
    ]
    finals = [_cumulative(f"session-{index}", steps)[-1] for index, steps in enumerate(loads)]
    arrived = data.draw(st.permutations(reports + data.draw(st.lists(st.sampled_from(reports), max_size=6))))
    asset = Asset(kind="pdf", pages=20, slug="guide")
    now = utcnow()

    def fresh() -> Reading:
        return Reading(
            pages_seen=[],
            active_seconds=0,
            percent=0.0,
            milestones=[],
            sessions={},
            first_at=now,
            last_at=now,
        )

    one_by_one = fresh()
    for report in arrived:
        fold_reports(one_by_one, asset, [report], now)
    expected = fresh()
    fold_reports(expected, asset, finals, now)
    assert one_by_one.pages_seen == expected.pages_seen
    assert all(page <= 20 for page in expected.pages_seen)
    assert one_by_one.active_seconds == expected.active_seconds == sum(final.seconds for final in finals)
    assert one_by_one.milestones == expected.milestones
