"""Taking a contact out of its sequences: enrollments stop, unsent messages are cancelled, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Enrollment, Event, Mailbox, OutboxMessage, Sequence, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.outreach.stops import stop_enrollments
from tests import factories

NOW = utcnow()


def _sequence(session: Session, workspace: Workspace, slug: str) -> Sequence:
    sequence = Sequence(workspace_id=workspace.id, slug=slug, name=slug.title(), status="active")
    session.add(sequence)
    session.flush()
    return sequence


def _message(
    session: Session, workspace: Workspace, mailbox: Mailbox, enrollment: Enrollment, state: str
) -> OutboxMessage:
    message = OutboxMessage(
        workspace_id=workspace.id,
        contact_id=enrollment.contact_id,
        mailbox_id=mailbox.id,
        enrollment_id=enrollment.id,
        idempotency_key=f"step:{enrollment.id}:{state}",
        message_id=f"{state}.{enrollment.id}@acme.example",
        to_email="ada@engines.example",
        recipient_domain="engines.example",
        subject="Hello",
        state=state,
    )
    session.add(message)
    session.flush()
    return message


def test_stopping_ends_every_active_enrollment_and_cancels_unsent_mail(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact, other = (
            factories.make_contact(session, workspace),
            factories.make_contact(session, workspace),
        )
        mailbox = Mailbox(
            workspace_id=workspace.id, slug="sales", from_email="me@acme.example", smtp_host="x"
        )
        session.add(mailbox)
        session.flush()
        first, second, done = (_sequence(session, workspace, slug) for slug in ("welcome", "webinar", "old"))
        active = [
            Enrollment(workspace_id=workspace.id, sequence_id=s.id, contact_id=contact.id, next_at=NOW)
            for s in (first, second)
        ]
        finished = Enrollment(
            workspace_id=workspace.id, sequence_id=done.id, contact_id=contact.id, status="completed"
        )
        bystander = Enrollment(workspace_id=workspace.id, sequence_id=first.id, contact_id=other.id)
        session.add_all([*active, finished, bystander])
        session.flush()
        queued = _message(session, workspace, mailbox, active[0], "queued")
        sent = _message(session, workspace, mailbox, active[0], "sent")
        untouched = _message(session, workspace, mailbox, bystander, "queued")

        later = NOW + timedelta(minutes=5)
        stopped = stop_enrollments(session, workspace.id, contact.id, "replied", later)
        assert sorted(stopped) == sorted(e.id for e in active)
        session.expire_all()
        assert [(e.status, e.stop_reason, e.next_at) for e in active] == [("stopped", "replied", None)] * 2
        assert all(e.finished_at == later for e in active)
        assert (finished.status, bystander.status) == ("completed", "active")
        assert (queued.state, sent.state, untouched.state) == ("cancelled", "sent", "queued")
        events = session.scalars(select(Event).where(Event.type == "sequence_finished")).all()
        assert sorted(e.properties["sequence"] for e in events) == ["webinar", "welcome"]
        assert {e.properties["reason"] for e in events} == {"replied"}

        assert stop_enrollments(session, workspace.id, contact.id, "manual", later) == []


def test_stopping_one_sequence_leaves_the_others(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        first, second = _sequence(session, workspace, "one"), _sequence(session, workspace, "two")
        rows = [
            Enrollment(workspace_id=workspace.id, sequence_id=s.id, contact_id=contact.id)
            for s in (first, second)
        ]
        session.add_all(rows)
        session.flush()
        assert stop_enrollments(session, workspace.id, contact.id, "manual", NOW, sequence_id=second.id) == [
            rows[1].id
        ]
        session.expire_all()
        assert [row.status for row in rows] == ["active", "stopped"]


def test_an_unknown_reason_is_refused_by_name(db: Database) -> None:
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace)
        with pytest.raises(InvalidInput, match="reason"):
            stop_enrollments(session, workspace.id, contact.id, "bored", NOW)
