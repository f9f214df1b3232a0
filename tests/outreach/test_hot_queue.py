"""Hot contacts in the call queue: whoever replied comes first, with the reply as why-now, until a
call is logged; a booked meeting — on a call or as an event — ends the contact's sequences."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement, Enrollment, Sequence
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.events.service import EventIn, record_events
from leadwell.ids import IdCodec
from leadwell.outreach.hot import ago_words, mark_hot, reply_reason, subject_words
from leadwell.sales.outcomes import log_outcome
from leadwell.sales.queue import call_queue
from leadwell.scoring.decay import current
from leadwell.scoring.settings import default_settings
from tests.conftest import Tenant
from tests.factories import make_event, make_user
from tests.sales.queue_data import RATE, make_lead

SETTINGS = default_settings()


def _hot(session: Session, contact: Contact, at: datetime, subject: str = "Pricing") -> None:
    assert mark_hot(session, contact, at, reply_reason(subject), at)


def _enrol(session: Session, contact: Contact) -> int:
    sequence = Sequence(workspace_id=contact.workspace_id, slug=f"s{contact.id}", name="S", status="active")
    session.add(sequence)
    session.flush()
    enrollment = Enrollment(workspace_id=contact.workspace_id, sequence_id=sequence.id, contact_id=contact.id)
    session.add(enrollment)
    session.flush()
    return enrollment.id


def test_a_contact_who_replied_comes_first_with_the_reply_as_why_now(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        best = make_lead(session, ws, grade="A", score=80, scored_at=now).id
        replier = make_lead(session, ws, grade="E")
        make_event(
            session,
            replier,
            "email_replied",
            now - timedelta(hours=2),
            {"subject": "Pricing", "message": "m@x"},
        )
        _hot(session, replier, now - timedelta(hours=2))
        items = call_queue(session, ws.id, now)
    assert [item.contact_id for item in items] == [replier.id, best]
    assert items[0].why_now[0] == 'Replied to "Pricing" 2 hours ago'
    # Said once: the event behind it does not come back as the strongest engagement.
    assert not any(sentence.startswith("replied to") for sentence in items[0].why_now)
    assert items[1].why_now[0].startswith("grade A")


def test_hot_contacts_show_whatever_their_grade_or_retry_date_but_not_when_closed(
    db: Database, tenant: Tenant
) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        qualified_out = make_lead(session, ws, grade="F")
        retry_tomorrow = make_lead(session, ws, grade="C", due_at=now + timedelta(days=1))
        nurtured = make_lead(session, ws, grade="B", stage="nurture", due_at=now + timedelta(days=90))
        customer = make_lead(session, ws, grade="A", stage="customer")
        for minutes, contact in enumerate((qualified_out, retry_tomorrow, nurtured, customer)):
            _hot(session, contact, now - timedelta(minutes=minutes + 1))
        items = call_queue(session, ws.id, now)
    # Newest reply first; the customer is worked on the pipeline, not called from here.
    assert [item.contact_id for item in items] == [qualified_out.id, retry_tomorrow.id, nurtured.id]
    assert [item.why_now[0] for item in items] == [
        'Replied to "Pricing" 1 minute ago',
        'Replied to "Pricing" 2 minutes ago',
        'Replied to "Pricing" 3 minutes ago',
    ]


def test_logging_a_call_clears_the_reply_and_the_queue_order_returns(
    db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        best = make_lead(session, ws, grade="A", score=80, scored_at=now).id
        replier = make_lead(session, ws, grade="E")
        _hot(session, replier, now - timedelta(minutes=5))
        log_outcome(session, codec, ws.id, replier.id, "conversation", now=now)
        engagement = session.get(Engagement, replier.id)
        assert engagement is not None and (engagement.hot_at, engagement.hot_why) == (None, None)
        later = now + timedelta(days=30)  # past the conversation's retry date
        items = call_queue(session, ws.id, later)
    assert [item.contact_id for item in items][:1] == [best]
    assert all("Replied to" not in sentence for item in items for sentence in item.why_now)


def test_the_owner_filter_and_the_limit_apply_to_hot_contacts(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    ws = tenant.workspace
    with db.session() as session:
        me = make_user(session, ws, role="sales")
        mine = [make_lead(session, ws, grade="D", owner_id=me.id) for _ in range(3)]
        theirs = make_lead(session, ws, grade="A")
        for minutes, contact in enumerate([*mine, theirs]):
            _hot(session, contact, now - timedelta(minutes=minutes))
        my_items = call_queue(session, ws.id, now, owner_id=me.id)
        top_two = call_queue(session, ws.id, now, limit=2)
    assert [item.contact_id for item in my_items] == [contact.id for contact in mine]
    assert [item.contact_id for item in top_two] == [mine[0].id, mine[1].id]


def test_the_queue_stays_exact_with_hot_contacts_among_everyone(db: Database, tenant: Tenant) -> None:
    """Hot contacts first (newest first), then the brute-force top by expected value."""
    now = utcnow()
    ws = tenant.workspace
    rng = random.Random(7)
    with db.session() as session:
        hot: list[tuple[datetime, int]] = []
        rest: list[tuple[float, int]] = []
        for index in range(120):
            grade = rng.choice(["A", "B", "C", "D", "E", "F", None])
            score = rng.choice([0.0, rng.uniform(1, 120)])
            scored_at = now - timedelta(days=rng.uniform(0, 60)) if score else None
            contact = make_lead(session, ws, grade=grade, score=score, scored_at=scored_at)
            if rng.random() < 0.1:
                at = now - timedelta(minutes=index)
                _hot(session, contact, at)
                hot.append((at, contact.id))
            elif grade != "F":
                value = SETTINGS.queue.probability(grade, current(score, scored_at, now, RATE)) * 5000
                rest.append((value, contact.id))
        items = call_queue(session, ws.id, now, limit=20)
    expected_hot = [contact_id for _, contact_id in sorted(hot, reverse=True)]
    assert [item.contact_id for item in items[: len(hot)]] == expected_hot
    best = sorted(rest, key=lambda pair: -pair[0])[: 20 - len(hot)]
    assert [float(item.expected_value) for item in items[len(hot) :]] == pytest.approx(
        [value for value, _ in best], abs=0.01
    )


def test_a_meeting_booked_on_a_call_stops_the_contact_s_sequences(
    db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        lead = make_lead(session, tenant.workspace, grade="B")
        enrollment_id = _enrol(session, lead)
        log_outcome(session, codec, tenant.workspace.id, lead.id, "meeting_booked")
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None
        assert (enrollment.status, enrollment.stop_reason) == ("stopped", "meeting_booked")


def test_other_call_outcomes_leave_sequences_running(db: Database, tenant: Tenant, codec: IdCodec) -> None:
    with db.session() as session:
        lead = make_lead(session, tenant.workspace, grade="B")
        enrollment_id = _enrol(session, lead)
        log_outcome(session, codec, tenant.workspace.id, lead.id, "voicemail")
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None and enrollment.status == "active"


def test_a_meeting_booked_event_stops_the_contact_s_sequences(
    db: Database, tenant: Tenant, codec: IdCodec
) -> None:
    with db.session() as session:
        lead = make_lead(session, tenant.workspace, grade="B")
        other = make_lead(session, tenant.workspace, grade="B")
        stopped, running = _enrol(session, lead), _enrol(session, other)
        events = [
            EventIn(contact_id=codec.encode("contact", lead.id), type="meeting_booked"),
            EventIn(
                contact_id=codec.encode("contact", other.id),
                type="asset_downloaded",
                properties={"asset": "x"},
            ),
        ]
        record_events(session, codec, tenant.workspace.id, events)
        states = {row.id: (row.status, row.stop_reason) for row in session.query(Enrollment)}
    assert states == {stopped: ("stopped", "meeting_booked"), running: ("active", None)}


def test_a_meeting_posted_to_the_api_stops_the_sequence(db: Database, tenant: Tenant, client: object) -> None:
    from fastapi.testclient import TestClient

    assert isinstance(client, TestClient)
    codec = client.app.state.leadwell.codec  # type: ignore[attr-defined]
    with db.session() as session:
        lead = make_lead(session, tenant.workspace, grade="B")
        enrollment_id = _enrol(session, lead)
    answer = client.post(
        "/api/v1/events",
        json={"contact_id": codec.encode("contact", lead.id), "type": "meeting_booked"},
        headers=tenant.headers,
    )
    assert answer.status_code in (200, 201), answer.text
    with db.session() as session:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None and enrollment.stop_reason == "meeting_booked"


def test_an_old_reply_does_not_make_anyone_hot(db: Database, tenant: Tenant) -> None:
    now = utcnow()
    with db.session() as session:
        lead = make_lead(session, tenant.workspace, grade="B")
        assert not mark_hot(session, lead, now - timedelta(days=8), "Replied", now)
        assert call_queue(session, tenant.workspace.id, now)[0].why_now[:1] != ("Replied",)


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(5, "just now"), (60, "1 minute ago"), (150, "2 minutes ago"), (3600, "1 hour ago"),
     (7300, "2 hours ago"), (86400, "yesterday"), (3 * 86400, "3 days ago")],
)  # fmt: skip
def test_ago_words(seconds: int, words: str) -> None:
    now = utcnow()
    assert ago_words(now - timedelta(seconds=seconds), now) == words


@pytest.mark.parametrize(
    ("subject", "words"),
    [("Re: Pricing", "Pricing"), ("RE: AW: Fwd: Pricing", "Pricing"), ("Re[2]: Pricing", "Pricing"),
     ("Regarding pricing", "Regarding pricing"), ("x" * 100, "x" * 79 + "…")],
)  # fmt: skip
def test_subjects_are_quoted_without_reply_prefixes(subject: str, words: str) -> None:
    assert subject_words(subject) == words
    assert reply_reason("") == "Wrote to us"
