"""Numbers of sequences, steps and broadcasts: activity from the outbox and the events about its
messages, outcomes after enrolment, and the contacts behind every figure."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Broadcast, Contact, Enrollment, Event, Mailbox, OutboxMessage, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.outreach.numbers import (
    Numbers,
    broadcast_numbers,
    broadcast_people,
    sequence_numbers,
    sequence_people,
    step_numbers,
)
from tests import factories
from tests.outreach.sequence_support import make_mailbox, make_sequence, make_template

T0 = utcnow() - timedelta(days=10)
_numbers = count(1)


def _message(
    session: Session, mailbox: Mailbox, contact: Contact, state: str = "sent", **fields: object
) -> OutboxMessage:
    number = next(_numbers)
    message = OutboxMessage(
        workspace_id=contact.workspace_id, contact_id=contact.id, mailbox_id=mailbox.id,
        idempotency_key=f"k{number}", message_id=f"m{number}@acme.example", to_email=contact.email or "",
        recipient_domain="example.com", subject="Hi", state=state,
        sent_at=T0 + timedelta(hours=1) if state == "sent" else None, **fields,
    )  # fmt: skip
    session.add(message)
    session.flush()
    return message


def _event(session: Session, contact: Contact, kind: str, days: float, **properties: object) -> None:
    factories.make_event(session, contact, kind, T0 + timedelta(days=days), dict(properties))


def _people(session: Session, query: object) -> set[int]:
    return set(session.scalars(query))  # type: ignore[call-overload]


def test_a_sequence_counts_people_by_activity_and_outcome(db: Database) -> None:
    with db.session() as session:
        ws: Workspace = factories.make_workspace(session)
        mailbox = make_mailbox(session, ws)
        template = make_template(session, ws)
        sequence = make_sequence(
            session, ws, [("email", template), ("wait", 2), ("email", template)], mailbox=mailbox
        )
        ada, bob, cy = (factories.make_contact(session, ws) for _ in range(3))
        rows = {
            c.id: Enrollment(
                workspace_id=ws.id, sequence_id=sequence.id, contact_id=c.id, enrolled_at=T0, next_at=T0
            )
            for c in (ada, bob, cy)
        }
        session.add_all(rows.values())
        session.flush()
        rows[cy.id].status, rows[cy.id].stop_reason = "stopped", "suppressed"
        rows[bob.id].position = 2
        first_ada = _message(session, mailbox, ada, enrollment_id=rows[ada.id].id, step_position=0)
        first_bob = _message(session, mailbox, bob, enrollment_id=rows[bob.id].id, step_position=0)
        _message(session, mailbox, cy, "suppressed", enrollment_id=rows[cy.id].id, step_position=0)
        second_ada = _message(session, mailbox, ada, enrollment_id=rows[ada.id].id, step_position=2)
        _event(session, ada, "email_opened", 1, message=first_ada.message_id)
        _event(session, ada, "email_opened", 2, message=first_ada.message_id)
        _event(session, bob, "email_clicked", 1, message=first_bob.message_id, url="https://acme.example")
        _event(session, bob, "email_unsubscribed", 1, message=first_bob.message_id)
        _event(session, ada, "email_replied", 5, message=second_ada.message_id)
        _event(session, ada, "email_opened", 5, message="someone-else@acme.example")
        _event(session, ada, "meeting_booked", 6)
        _event(session, cy, "meeting_booked", -3)  # before enrolment: not the sequence's doing
        factories.make_deal(
            session, ada, status="won", value=Decimal("12000"), closed_at=T0 + timedelta(days=8)
        )
        factories.make_deal(
            session, bob, status="won", value=Decimal("999"), closed_at=T0 - timedelta(days=1)
        )
        factories.make_deal(session, cy, status="lost", closed_at=T0 + timedelta(days=8))

        numbers = sequence_numbers(session, ws.id, [sequence.id])[sequence.id]
        assert numbers.counts == {
            "enrolled": 3, "active": 2, "completed": 0, "stopped": 1, "sent": 2, "opened": 1, "clicked": 1,
            "replied": 1, "bounced": 0, "unsubscribed": 1, "meetings": 1, "won": 1,
        }  # fmt: skip
        assert numbers.revenue == {"USD": Decimal("12000")} and numbers.revenue_words() == "USD 12,000.00"
        assert (numbers.percent("opened"), numbers.percent("replied")) == ("50.0 %", "50.0 %")

        steps = step_numbers(session, ws.id, sequence.id)
        assert (steps[0]["sent"], steps[0]["opened"], steps[0]["clicked"], steps[0]["replied"]) == (
            2,
            1,
            1,
            0,
        )
        assert (steps[2]["sent"], steps[2]["replied"], steps[2]["active"]) == (1, 1, 1)
        assert steps[0]["active"] == 1  # ada has not moved on in this made-up history

        ids = sequence.id
        assert _people(session, sequence_people(ws.id, ids, "sent")) == {ada.id, bob.id}
        assert _people(session, sequence_people(ws.id, ids, "opened")) == {ada.id}
        assert _people(session, sequence_people(ws.id, ids, "replied", position=0)) == set()
        assert _people(session, sequence_people(ws.id, ids, "replied", position=2)) == {ada.id}
        assert _people(session, sequence_people(ws.id, ids, "unsubscribed")) == {bob.id}
        assert _people(session, sequence_people(ws.id, ids, "stopped")) == {cy.id}
        assert _people(session, sequence_people(ws.id, ids, "active", position=2)) == {bob.id}
        assert _people(session, sequence_people(ws.id, ids, "meetings")) == {ada.id}
        assert _people(session, sequence_people(ws.id, ids, "won")) == {ada.id}


def test_a_broadcast_counts_its_recipients(db: Database) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        mailbox = make_mailbox(session, ws)
        template = make_template(session, ws)
        broadcast = Broadcast(workspace_id=ws.id, name="March news", template_id=template.id, status="sent")
        other = Broadcast(workspace_id=ws.id, name="Empty", template_id=template.id, status="scheduled")
        session.add_all([broadcast, other])
        session.flush()
        ada, bob, cy = (factories.make_contact(session, ws) for _ in range(3))
        to_ada = _message(session, mailbox, ada, broadcast_id=broadcast.id)
        _message(session, mailbox, bob, broadcast_id=broadcast.id)
        _message(session, mailbox, cy, "queued", broadcast_id=broadcast.id)
        _event(session, ada, "email_opened", 1, message=to_ada.message_id)
        factories.make_deal(
            session, bob, status="won", value=Decimal("500"), currency="EUR", closed_at=T0 + timedelta(days=3)
        )

        found = broadcast_numbers(session, ws.id, [broadcast.id, other.id])
        assert found[other.id] == Numbers()
        numbers = found[broadcast.id]
        assert (numbers["sent"], numbers["queued"], numbers["opened"], numbers["won"]) == (2, 1, 1, 1)
        assert numbers.revenue_words() == "EUR 500.00" and numbers.percent("opened") == "50.0 %"
        assert _people(session, broadcast_people(ws.id, broadcast.id, "opened")) == {ada.id}
        assert _people(session, broadcast_people(ws.id, broadcast.id, "won")) == {bob.id}
        assert session.scalar(select(Event.id).where(Event.type == "email_sent")) is None
