"""Sequences running: steps in order inside the sending window, messages through the real outbox to a
real SMTP server on loopback, the call task in the queue, completion, and everything that holds a
contact back (outside the window, a paused sequence, a reply, a suppressed address, a merge)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Engagement, Enrollment, Event, OutboxMessage, Sequence, Workspace
from leadwell.db.session import Database
from leadwell.outreach.enroll import enroll
from leadwell.outreach.enrollment_holds import pause_enrollment, resume_enrollment
from leadwell.outreach.outbox import send_due
from leadwell.outreach.runner import _claim, advance_due
from leadwell.outreach.signing import Signing
from leadwell.outreach.stops import stop_enrollments
from leadwell.outreach.suppressions import suppress
from leadwell.sales.queue import call_queue
from tests import factories
from tests.outreach.sending_support import LINKS, PUBLIC_URL, SIGNER, make_mailbox, make_template, worker
from tests.outreach.sequence_support import make_sequence
from tests.outreach.smtp_support import SmtpServer, smtp_server

__all__ = ["smtp_server", "worker"]

SIGNING = Signing(PUBLIC_URL, SIGNER)
PARIS = ZoneInfo("Europe/Paris")
OFFICE: dict[str, Any] = {
    "timezone": "Europe/Paris",
    "window_start": "09:00",
    "window_end": "17:00",
    "weekdays": [1, 2, 3, 4, 5],
}


def paris(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of March 2025 on the clock in Paris (the 14th is a Friday)."""
    return datetime(2025, 3, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def _setup(
    db: Database, server: SmtpServer | None, steps: str = "email wait task email", **contact: object
) -> tuple[int, int, int]:
    """A workspace with an active office-hours sequence of ``steps`` and one contact enrolled at
    Friday 15:00; (workspace, sequence, contact) ids."""
    with db.session() as session:
        ws = factories.make_workspace(session)
        mailbox = make_mailbox(session, ws, server)
        emails = [
            make_template(session, ws, subject="Hello {{ first_name }}"),
            make_template(session, ws, subject="Still there?"),
        ]
        values = {"wait": 2, "task": "Ask about the budget"}
        plan = [(kind, emails.pop(0) if kind == "email" else values[kind]) for kind in steps.split()]
        sequence = make_sequence(session, ws, plan, mailbox=mailbox, **OFFICE)
        person = factories.make_contact(session, ws, first_name="Ada", **contact)
        enroll(session, ws.id, sequence.id, [person.id], source="manual", by_user_id=None, now=paris(14, 15))
        return ws.id, sequence.id, person.id


def _enrollment(session: Session, sequence_id: int) -> Enrollment:
    return session.scalars(select(Enrollment).where(Enrollment.sequence_id == sequence_id)).one()


def _messages(session: Session) -> list[OutboxMessage]:
    return list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_contact_walks_the_steps_in_business_hours_and_completes(
    db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    ws, sequence_id, contact_id = _setup(db, smtp_server)
    assert advance_due(db, paris(14, 15), signing=SIGNING) == 1
    with db.session() as session:
        enrollment = _enrollment(session, sequence_id)
        # The email went to the outbox, and the wait of 2 business days ran at once: Tuesday 15:00.
        assert (enrollment.position, enrollment.next_at) == (2, paris(18, 15))
        [first] = _messages(session)
        assert (first.idempotency_key, first.step_position, first.due_at) == (
            f"step:{enrollment.id}:0", 0, paris(14, 15),
        )  # fmt: skip
    assert send_due(db, worker, now=paris(14, 15), links=LINKS) == 1
    [received] = smtp_server.wait_for(1)
    assert received.message["Subject"] == "Hello Ada"

    assert advance_due(db, paris(17, 10), signing=SIGNING) == 0  # Monday: still waiting
    assert advance_due(db, paris(18, 15), signing=SIGNING) == 1
    with db.session() as session:
        enrollment = _enrollment(session, sequence_id)
        assert (enrollment.status, enrollment.position) == ("active", 4)  # the last message is still queued
        assert enrollment.next_at == paris(18, 15) + timedelta(minutes=15)
        task = session.scalars(select(Event).where(Event.type == "call_task")).one()
        assert task.properties == {"sequence": "welcome", "note": "Ask about the budget"}
        engagement = session.get(Engagement, contact_id)
        assert engagement is not None and "Ask about the budget" in (engagement.resurfaced_why or "")
        queue = call_queue(session, ws, paris(18, 15))
        assert (
            queue[0].contact_id == contact_id
            and "call task (Welcome): Ask about the budget" in queue[0].why_now
        )
    assert send_due(db, worker, now=paris(18, 15), links=LINKS) == 1
    assert [item.message["Subject"] for item in smtp_server.wait_for(2)] == ["Hello Ada", "Still there?"]

    assert advance_due(db, paris(18, 15, 30), signing=SIGNING) == 1
    with db.session() as session:
        enrollment = _enrollment(session, sequence_id)
        assert (enrollment.status, enrollment.finished_at, enrollment.next_at) == (
            "completed",
            paris(18, 15, 30),
            None,
        )
        finished = session.scalars(select(Event).where(Event.type == "sequence_finished")).one()
        assert finished.properties == {"sequence": "welcome", "reason": "completed"}
    # Running again changes nothing: each step ran once.
    assert advance_due(db, paris(25, 12), signing=SIGNING) == 0
    with db.session() as session:
        assert len(_messages(session)) == 2


def test_outside_the_window_the_email_waits_for_the_next_opening_where_the_contact_is(db: Database) -> None:
    _ws, sequence_id, _contact = _setup(db, None, timezone="America/New_York")
    saturday = paris(15, 11)
    assert advance_due(db, saturday, signing=SIGNING) == 1
    monday_nine_in_new_york = datetime(2025, 3, 17, 9, 0, tzinfo=ZoneInfo("America/New_York")).astimezone(UTC)
    with db.session() as session:
        enrollment = _enrollment(session, sequence_id)
        assert (enrollment.position, enrollment.next_at) == (0, monday_nine_in_new_york)
        assert _messages(session) == []  # nothing sits in the outbox over the weekend
    assert advance_due(db, monday_nine_in_new_york, signing=SIGNING) == 1
    with db.session() as session:
        assert [m.due_at for m in _messages(session)] == [monday_nine_in_new_york]


def test_a_paused_sequence_holds_everyone_and_resuming_continues_where_it_was(db: Database) -> None:
    _ws, sequence_id, _contact = _setup(db, None)
    advance_due(db, paris(14, 15), signing=SIGNING)
    with db.session() as session:
        session.get_one(Sequence, sequence_id).status = "paused"
    assert advance_due(db, paris(18, 15), signing=SIGNING) == 0
    with db.session() as session:
        assert _enrollment(session, sequence_id).position == 2
        session.get_one(Sequence, sequence_id).status = "active"
    assert advance_due(db, paris(20, 10), signing=SIGNING) == 1
    with db.session() as session:
        assert _enrollment(session, sequence_id).position == 4
        assert [m.step_position for m in _messages(session)] == [0, 3]


def test_one_contact_held_by_hand_waits_until_resumed(db: Database) -> None:
    ws, sequence_id, contact_id = _setup(db, None)
    with db.session() as session:
        pause_enrollment(session, ws, sequence_id, contact_id)
    assert advance_due(db, paris(14, 15), signing=SIGNING) == 0
    with db.session() as session:
        resume_enrollment(session, ws, sequence_id, contact_id, paris(14, 16))
    assert advance_due(db, paris(14, 16), signing=SIGNING) == 1


def test_a_reply_stops_the_sequence_and_nothing_more_goes_out(db: Database) -> None:
    ws, sequence_id, contact_id = _setup(db, None)
    advance_due(db, paris(14, 15), signing=SIGNING)
    with db.session() as session:
        assert stop_enrollments(session, ws, contact_id, "replied", paris(17, 9)) != []
    assert advance_due(db, paris(18, 15), signing=SIGNING) == 0
    with db.session() as session:
        enrollment = _enrollment(session, sequence_id)
        assert (enrollment.status, enrollment.stop_reason) == ("stopped", "replied")
        assert len(_messages(session)) == 1


def test_a_suppressed_address_stops_the_enrollment(db: Database) -> None:
    ws, sequence_id, _contact = _setup(db, None, email="gone@bounce.example")
    with db.session() as session:
        suppress(session, ws, "gone@bounce.example", "hard_bounce")
    advance_due(db, paris(14, 15), signing=SIGNING)
    with db.session() as session:
        enrollment = _enrollment(session, sequence_id)
        assert (enrollment.status, enrollment.stop_reason) == ("stopped", "suppressed")
        assert [m.state for m in _messages(session)] == ["suppressed"]
        reasons = session.scalars(select(Event.properties).where(Event.type == "sequence_finished")).all()
        assert [item["reason"] for item in reasons] == ["suppressed"]


def test_a_merged_contact_leaves_the_sequence(db: Database) -> None:
    ws, sequence_id, contact_id = _setup(db, None)
    with db.session() as session:
        twin = factories.make_contact(session, session.get_one(Workspace, ws), email="ada.twin@example.com")
        session.get_one(Contact, contact_id).merged_into_id = twin.id
    advance_due(db, paris(14, 15), signing=SIGNING)
    with db.session() as session:
        enrollment = _enrollment(session, sequence_id)
        assert (enrollment.status, enrollment.stop_reason) == ("stopped", "merged")
        assert _messages(session) == []


def test_a_contact_enrolled_again_gets_the_steps_again_and_can_stop_again(db: Database) -> None:
    ws, sequence_id, contact_id = _setup(db, None, steps="email")
    advance_due(db, paris(14, 15), signing=SIGNING)
    with db.session() as session:
        stop_enrollments(session, ws, contact_id, "manual", paris(14, 16))
        result = enroll(
            session,
            ws,
            sequence_id,
            [contact_id],
            source="manual",
            by_user_id=None,
            now=paris(17, 10),
            again=True,
        )
        assert result.restarted == 1
    advance_due(db, paris(17, 10), signing=SIGNING)
    with db.session() as session:
        keys = [m.idempotency_key for m in _messages(session)]
        enrollment = _enrollment(session, sequence_id)
        assert keys[1] == f"step:{enrollment.id}:0" and keys[0].startswith(f"step:{enrollment.id}:0~")
        assert stop_enrollments(session, ws, contact_id, "manual", paris(17, 11)) == [enrollment.id]
        assert session.scalar(select(func.count()).where(Event.type == "sequence_finished")) == 2


def test_claimed_enrollments_are_skipped_by_another_worker_on_postgresql(db: Database) -> None:
    _ws, sequence_id, _contact = _setup(db, None)
    with db.session() as holder:
        held = _claim(holder, paris(14, 15), 10)
        assert [row.sequence_id for row in held] == [sequence_id]
        if db.dialect == "postgresql":
            # Another worker meanwhile finds the enrollment locked and skips it.
            assert advance_due(db, paris(14, 15), signing=SIGNING) == 0
    assert advance_due(db, paris(14, 15), signing=SIGNING) == 1
    assert advance_due(db, paris(14, 15), signing=SIGNING) == 0


def test_a_step_that_cannot_run_is_retried_later_and_the_batch_goes_on(db: Database) -> None:
    _ws, good_id, _contact = _setup(db, None)
    with db.session() as session:
        stranded = factories.make_workspace(session)  # no mailbox at all
        template = make_template(session, stranded)
        broken = make_sequence(session, stranded, [("email", template)], slug="stranded", **OFFICE)
        person = factories.make_contact(session, stranded)
        enroll(
            session, stranded.id, broken.id, [person.id], source="manual", by_user_id=None, now=paris(14, 15)
        )
        broken_id = broken.id
    assert advance_due(db, paris(14, 15), signing=SIGNING) == 2
    with db.session() as session:
        assert _enrollment(session, good_id).position == 2
        held = _enrollment(session, broken_id)
        assert (held.status, held.position, held.next_at) == ("active", 0, paris(14, 16))
        assert [m.enrollment_id for m in _messages(session)] == [_enrollment(session, good_id).id]
