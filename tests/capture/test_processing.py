"""Hits become events: one event per open, per click and per page view, scored, exactly once; a hit
that cannot become an event is set aside with its reason and never blocks the others."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from leadwell.capture.hits import store_hits
from leadwell.capture.processing import process_pending
from leadwell.capture.visitors import identify, new_visitor_key
from leadwell.db.models import Contact, Engagement, Event, Reading, TrackingHit, Visitor
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from tests import factories
from tests.capture.reader_support import make_asset, pdf_bytes
from tests.capture.tracking_support import Prospect, hits, make_prospect


def _store(db: Database, workspace_id: int, *items: tuple[str, dict[str, Any]]) -> None:
    store_hits(
        db,
        [{"workspace_id": workspace_id, "kind": kind, "payload": p, "ip": "10.0.0.1"} for kind, p in items],
    )


def _events(db: Database, type_: str | None = None) -> list[Event]:
    with db.session() as session:
        query = select(Event).order_by(Event.id)
        if type_ is not None:
            query = query.where(Event.type == type_)
        return list(session.scalars(query))


def _score(db: Database, contact_id: int) -> float:
    with db.session() as session:
        engagement = session.get(Engagement, contact_id)
        return engagement.score if engagement is not None else 0.0


def _open(prospect: Prospect, message: str = "welcome") -> tuple[str, dict[str, Any]]:
    return "open", {**prospect.ids, "m": message}


def _click(prospect: Prospect, url: str, message: str = "welcome") -> tuple[str, dict[str, Any]]:
    return "click", {**prospect.ids, "m": message, "u": url}


def test_opens_become_one_scored_event_per_message_and_contact(db: Database) -> None:
    prospect = make_prospect(db)
    ws = prospect.workspace.id
    _store(db, ws, _open(prospect), _open(prospect), _open(prospect, "follow-up"))
    outcome = process_pending(db)
    _store(db, ws, _open(prospect))  # the pixel loaded again, days later
    again = process_pending(db)
    assert (outcome.processed, outcome.failed, outcome.events) == (3, 0, 2)
    assert (again.processed, again.events) == (1, 0)
    opened = _events(db, "email_opened")
    assert [event.properties for event in opened] == [{"message": "welcome"}, {"message": "follow-up"}]
    assert {event.contact_id for event in opened} == {prospect.contact.id}
    [first_hit, *_] = hits(db)
    assert opened[0].occurred_at == first_hit.received_at
    assert _score(db, prospect.contact.id) > 0
    assert all(hit.processed_at is not None and hit.error is None for hit in hits(db))


def test_clicks_become_one_event_per_message_contact_and_link(db: Database) -> None:
    prospect = make_prospect(db)
    pricing, blog = "https://acme.example/pricing", "https://acme.example/blog?a=1"
    _store(
        db,
        prospect.workspace.id,
        _click(prospect, pricing),
        _click(prospect, blog),
        _click(prospect, pricing),
    )
    assert process_pending(db).events == 2
    clicked = _events(db, "email_clicked")
    assert [event.properties["url"] for event in clicked] == [pricing, blog]
    assert _score(db, prospect.contact.id) > 0


def test_a_deleted_or_foreign_contact_sets_the_hit_aside_without_blocking_the_rest(db: Database) -> None:
    prospect = make_prospect(db)
    gone = make_prospect(db, "Gone Ltd")
    stranger = make_prospect(db, "Stranger Inc")
    with db.session() as session:
        session.delete(session.get(Contact, gone.contact.id))
    ws = prospect.workspace.id
    foreign = ("open", {"w": ws, "c": stranger.contact.id, "m": "x"})  # a contact of another workspace
    _store(db, gone.workspace.id, _open(gone))
    _store(db, ws, foreign, ("open", {"w": ws, "m": "no contact"}), _open(prospect))
    outcome = process_pending(db)
    assert (outcome.processed, outcome.failed, outcome.events) == (1, 3, 1)
    errors = [hit.error for hit in hits(db)]
    assert errors == [
        "contact: no longer exists",
        "contact: no longer exists",
        "payload: not a tracking token's contents",
        None,
    ]
    assert all(hit.processed_at is not None for hit in hits(db))
    assert [event.contact_id for event in _events(db)] == [prospect.contact.id]
    assert process_pending(db).processed == 0


def test_a_merged_contact_credits_the_survivor(db: Database) -> None:
    prospect = make_prospect(db)
    with db.session() as session:
        survivor = factories.make_contact(session, prospect.workspace)
        session.get(Contact, prospect.contact.id).merged_into_id = survivor.id  # type: ignore[union-attr]
    _store(db, prospect.workspace.id, _open(prospect))
    process_pending(db)
    [event] = _events(db)
    assert event.contact_id == survivor.id


def _view(prospect: Prospect, key: str, url: str, **extra: Any) -> tuple[str, dict[str, Any]]:
    return "view", {"site": 1, "v": key, "u": url, "t": extra.get("t"), "r": extra.get("r")}


def test_page_views_belong_to_the_visitor_until_a_form_identifies_them(db: Database) -> None:
    prospect = make_prospect(db)
    ws = prospect.workspace.id
    key = new_visitor_key()
    _store(db, ws, _view(prospect, key, "https://acme.example/", t="Home", r="https://search.example/?q=x"))
    _store(db, ws, _view(prospect, key, "https://acme.example/pricing"))
    assert process_pending(db).events == 2
    anonymous = _events(db, "page_viewed")
    assert {event.contact_id for event in anonymous} == {None}
    assert anonymous[0].properties == {
        "url": "https://acme.example/",
        "title": "Home",
        "referrer": "https://search.example/?q=x",
    }
    with db.session() as session:
        visitor = session.scalars(select(Visitor).where(Visitor.key == key)).one()
        assert {event.visitor_id for event in anonymous} == {visitor.id}
        assert identify(session, ws, key, prospect.contact.id, utcnow()) == key
    assert {event.contact_id for event in _events(db, "page_viewed")} == {prospect.contact.id}
    before = _score(db, prospect.contact.id)
    assert before > 0  # the earlier views were scored when they joined the contact
    _store(db, ws, _view(prospect, key, "https://acme.example/about"))
    process_pending(db)
    latest = _events(db, "page_viewed")[-1]
    assert (latest.contact_id, latest.visitor_id) == (prospect.contact.id, visitor.id)
    assert _score(db, prospect.contact.id) > before * 0.99


def test_a_page_view_that_does_not_check_out_is_set_aside(db: Database) -> None:
    prospect = make_prospect(db)
    ws = prospect.workspace.id
    _store(
        db,
        ws,
        _view(prospect, new_visitor_key(), "not a url"),
        ("view", {"site": 1}),
        _view(prospect, new_visitor_key(), "https://acme.example/", t="x" * 3000),
        _view(prospect, new_visitor_key(), "https://acme.example/ok"),
    )
    outcome = process_pending(db)
    assert (outcome.processed, outcome.failed) == (1, 3)
    errors = [hit.error or "" for hit in hits(db)]
    assert errors[0].startswith("payload: properties.url")
    assert errors[1] == "payload: not a page view"
    assert errors[2].startswith("payload: properties.title")
    assert errors[3] == ""
    with db.session() as session:  # refused views leave no visitor behind
        assert len(session.scalars(select(Visitor)).all()) == 1


def test_a_hit_the_database_refuses_is_set_aside_alone(db: Database) -> None:
    # A message key that passes every check but makes an idempotency key longer than its column:
    # PostgreSQL refuses the row (SQLite does not enforce lengths). The batch's transaction fails,
    # so the hits are taken one by one and only the culprit is set aside.
    prospect = make_prospect(db)
    _store(
        db,
        prospect.workspace.id,
        _open(prospect, "first"),
        _open(prospect, "x" * 196),
        _open(prospect, "last"),
    )
    outcome = process_pending(db)
    assert outcome.processed + outcome.failed == 3
    stored = [hit.error is None for hit in hits(db)]
    if db.dialect == "postgresql":
        assert stored == [True, False, True]
        assert outcome.failed == 1
    else:
        assert stored == [True, True, True]
    messages = {event.properties.get("message") for event in _events(db, "email_opened")}
    assert {"first", "last"} <= messages
    assert all(hit.processed_at is not None for hit in hits(db))


def test_read_hits_go_to_the_reader_in_the_same_transaction(db: Database) -> None:
    prospect = make_prospect(db)
    with db.session() as session:
        asset = make_asset(session, prospect.workspace, content=pdf_bytes(4), pages=4)
        asset_id = asset.id
    payload = {
        **prospect.ids,
        "a": asset_id,
        "pages": [1, 2, 3],
        "of": 4,
        "active": 120,
        "s": "abcdefgh",
        "seq": 1,
    }
    _store(db, prospect.workspace.id, ("read", payload), _open(prospect))
    outcome = process_pending(db)
    assert (outcome.processed, outcome.failed) == (2, 0)
    with db.session() as session:
        reading = session.scalars(select(Reading)).one()
        assert (reading.contact_id, reading.asset_id) == (prospect.contact.id, asset_id)
        assert session.scalar(select(TrackingHit.id).where(TrackingHit.processed_at.is_(None))) is None
    assert any(event.type == "read_progress" for event in _events(db))


def test_hits_are_taken_oldest_first_in_batches(db: Database) -> None:
    prospect = make_prospect(db)
    _store(db, prospect.workspace.id, *[_open(prospect, f"m{n}") for n in range(7)])
    first = process_pending(db, limit=5)
    second = process_pending(db, limit=5)
    assert (first.processed, second.processed) == (5, 2)
    opened = _events(db, "email_opened")
    assert [event.properties["message"] for event in opened] == [f"m{n}" for n in range(7)]
    assert opened[0].occurred_at <= opened[-1].occurred_at < utcnow() + timedelta(seconds=1)
