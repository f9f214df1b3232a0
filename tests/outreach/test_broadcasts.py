"""Newsletters: checked before they are saved, released at their time in chunks (each recipient once,
resumable), excluding who must not be mailed, cancelled before they finish, and delivered through
the real outbox to a real SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from leadwell.db.models import Broadcast, ContactList, ListMember, Mailbox, OutboxMessage, Segment, Workspace
from leadwell.db.session import Database
from leadwell.errors import Conflict, InvalidInput
from leadwell.outreach import broadcasts
from leadwell.outreach.broadcasts import (
    BroadcastInput,
    _Release,
    _release_step,
    audience_size,
    cancel_broadcast,
    create_broadcast,
    release_due_broadcasts,
    scheduled_time,
    update_broadcast,
)
from leadwell.outreach.outbox import send_due
from leadwell.outreach.signing import Signing
from leadwell.outreach.suppressions import suppress
from tests import factories
from tests.outreach.sending_support import LINKS, PUBLIC_URL, SIGNER, make_mailbox, make_template, worker
from tests.outreach.smtp_support import SmtpServer, smtp_server

__all__ = ["smtp_server", "worker"]

SIGNING = Signing(PUBLIC_URL, SIGNER)
NOW = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def _newsletter(session: Session, workspace: Workspace, server: SmtpServer | None = None) -> BroadcastInput:
    """A segment of the workspace's leads, a mailbox and a template; the input of a broadcast to them."""
    mailbox = make_mailbox(session, workspace, server, slug="news")
    template = make_template(session, workspace, subject="March news for {{ first_name }}", slug="march")
    session.add(Segment(workspace_id=workspace.id, slug="leads", name="Leads", filters={"stage": ["lead"]}))
    session.flush()
    assert mailbox.slug == "news"
    return BroadcastInput(
        name="March news", template=template.slug, segment="leads", mailbox="news", send_at="now"
    )


def _input() -> BroadcastInput:
    return BroadcastInput(name="March news", template="march", segment="leads", mailbox="news", send_at="now")


def _messages(session: Session, broadcast_id: int) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.broadcast_id == broadcast_id)
    return list(session.scalars(query.order_by(OutboxMessage.contact_id)))


def test_a_broadcast_goes_once_to_each_recipient_in_chunks(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broadcasts, "CHUNK", 3)
    with db.session() as session:
        ws = factories.make_workspace(session)
        data = _newsletter(session, ws)
        leads = [factories.make_contact(session, ws, stage="lead") for _ in range(8)]
        opted_out = factories.make_contact(session, ws, stage="lead", consent="opted_out")
        bounced = factories.make_contact(session, ws, stage="lead", email="gone@bounce.example")
        suppress(session, ws.id, "gone@bounce.example", "hard_bounce")
        no_email = factories.make_contact(session, ws, stage="lead", email=None)
        factories.make_contact(session, ws, stage="lead", merged_into_id=leads[0].id)
        factories.make_contact(session, ws, stage="customer")
        broadcast = create_broadcast(session, ws.id, data, None, NOW)
        assert (broadcast.status, broadcast.scheduled_at) == ("scheduled", NOW)
        assert audience_size(session, ws.id, broadcast, NOW) == 8
        broadcast_id = broadcast.id

    # A worker that stops after one chunk leaves the rest for the next run, which queues each once.
    assert _release_step(db, NOW, SIGNING, _Release()) is True
    with db.session() as session:
        assert len(_messages(session, broadcast_id)) == 3
        assert session.get_one(Broadcast, broadcast_id).status == "sending"
    assert release_due_broadcasts(db, NOW, SIGNING) == 2  # two more chunks: 3 + 2
    with db.session() as session:
        sent = _messages(session, broadcast_id)
        assert [m.contact_id for m in sent] == sorted(lead.id for lead in leads)
        assert {m.idempotency_key for m in sent} == {f"broadcast:{broadcast_id}:{lead.id}" for lead in leads}
        assert not {opted_out.id, bounced.id, no_email.id} & {m.contact_id for m in sent}
        done = session.get_one(Broadcast, broadcast_id)
        assert (done.status, done.started_at, done.finished_at) == ("sent", NOW, NOW)
    assert release_due_broadcasts(db, NOW + timedelta(hours=1), SIGNING) == 0


def test_a_list_broadcast_waits_for_its_time_and_reaches_the_smtp_server(
    db: Database, smtp_server: SmtpServer, worker: str
) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        data = _newsletter(session, ws, smtp_server)
        members = ContactList(workspace_id=ws.id, slug="newsletter", name="Newsletter")
        session.add(members)
        session.flush()
        people = [
            factories.make_contact(session, ws, first_name=name, stage="nurture") for name in ("Ada", "Grace")
        ]
        session.add_all(ListMember(list_id=members.id, contact_id=person.id) for person in people)
        data.segment, data.list, data.send_at, data.timezone = (
            "",
            "newsletter",
            "2025-03-14T10:30",
            "Europe/Paris",
        )
        broadcast = create_broadcast(session, ws.id, data, None, NOW)
        assert broadcast.scheduled_at == datetime(2025, 3, 14, 9, 30, tzinfo=UTC)  # 10:30 in Paris
        broadcast_id = broadcast.id
    assert release_due_broadcasts(db, NOW, SIGNING) == 0  # not yet
    assert release_due_broadcasts(db, NOW + timedelta(minutes=30), SIGNING) == 1
    assert send_due(db, worker, now=NOW + timedelta(minutes=30), links=LINKS) == 2
    received = smtp_server.wait_for(2)
    assert sorted(item.message["Subject"] for item in received) == [
        "March news for Ada",
        "March news for Grace",
    ]
    with db.session() as session:
        assert {m.state for m in _messages(session, broadcast_id)} == {"sent"}


def test_cancelling_stops_a_broadcast_and_its_unsent_messages(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broadcasts, "CHUNK", 2)
    with db.session() as session:
        ws = factories.make_workspace(session)
        data = _newsletter(session, ws)
        for _ in range(5):
            factories.make_contact(session, ws, stage="lead")
        broadcast_id = create_broadcast(session, ws.id, data, None, NOW).id
    _release_step(db, NOW, SIGNING, _Release())
    with db.session() as session:
        assert cancel_broadcast(session, ws.id, broadcast_id, NOW) == 2
        with pytest.raises(Conflict, match="cancelled already"):
            cancel_broadcast(session, ws.id, broadcast_id, NOW)
    assert release_due_broadcasts(db, NOW, SIGNING) == 0
    with db.session() as session:
        assert [m.state for m in _messages(session, broadcast_id)] == ["cancelled", "cancelled"]
        with pytest.raises(Conflict, match="only drafts and scheduled"):
            update_broadcast(session, ws.id, broadcast_id, data, NOW)


BAD_INPUT = [
    ({"name": " "}, "name", "must not be empty"),
    ({"template": "nope"}, "template", "no template 'nope'"),
    ({"segment": ""}, "segment", "a segment or a list"),
    ({"list": "newsletter"}, "segment", "a segment or a list"),
    ({"segment": "", "list": "missing"}, "list", "no list 'missing'"),
    ({"mailbox": ""}, "mailbox", "choose the mailbox"),
    ({"send_at": "tomorrow"}, "send_at", "a date and time"),
    ({"send_at": "2025-03-13T09:00"}, "send_at", "has passed"),
    ({"send_at": "2027-03-13T09:00"}, "send_at", "a year ahead"),
    ({"send_at": "2025-03-15T09:00", "timezone": "Mars/Base"}, "timezone", "not an IANA time zone"),
]


def test_a_bad_broadcast_is_refused_by_name(db: Database) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        for change, field, words in BAD_INPUT:
            data = _newsletter(session, ws) if not session.scalar(select(Segment.id)) else _input()
            for name, value in change.items():
                setattr(data, name, value)
            with pytest.raises(InvalidInput) as refused:
                create_broadcast(session, ws.id, data, None, NOW)
            assert (refused.value.field, words in refused.value.detail) == (field, True), change
        assert session.scalar(select(Broadcast.id)) is None


def test_a_template_with_an_unknown_merge_field_is_refused_with_its_line(db: Database) -> None:
    with db.session() as session:
        ws = factories.make_workspace(session)
        data = _newsletter(session, ws)
        broken = make_template(session, ws, slug="broken", html="<p>Hi</p>\n<p>{{ frist_name }}</p>")
        data.template = broken.slug
        with pytest.raises(InvalidInput) as refused:
            create_broadcast(session, ws.id, data, None, NOW)
        assert refused.value.field == "template"
        assert (
            "'broken' variant a, html line 2" in refused.value.detail and "frist_name" in refused.value.detail
        )


def test_drafts_have_no_time_and_times_read_in_the_zone_given() -> None:
    assert scheduled_time("", "UTC", NOW) is None
    assert scheduled_time("now", "UTC", NOW) == NOW
    assert scheduled_time("2025-03-14T08:58", "UTC", NOW) == NOW  # a moment ago: sent now
    assert scheduled_time("2025-03-15T09:00", "Asia/Tokyo", NOW) == datetime(2025, 3, 15, 0, 0, tzinfo=UTC)
    assert scheduled_time("2025-03-15T09:00+01:00", "Asia/Tokyo", NOW) == datetime(
        2025, 3, 15, 8, 0, tzinfo=UTC
    )


def test_a_newsletter_that_cannot_be_queued_is_set_aside_and_the_others_go_out(db: Database) -> None:
    with db.session() as session:
        first, second = factories.make_workspace(session), factories.make_workspace(session)
        stranded = create_broadcast(session, first.id, _newsletter(session, first), None, NOW)
        fine = create_broadcast(session, second.id, _newsletter(session, second), None, NOW)
        for ws in (first, second):
            factories.make_contact(session, ws, stage="lead")
        # The first workspace's only mailbox goes: its newsletter has nothing to send from.
        session.execute(delete(Mailbox).where(Mailbox.workspace_id == first.id))
        ids = (stranded.id, fine.id)
    assert release_due_broadcasts(db, NOW, SIGNING) == 1
    with db.session() as session:
        left, sent = (session.get_one(Broadcast, number) for number in ids)
        assert (left.status, left.scheduled_at) == ("scheduled", NOW + timedelta(hours=1))
        assert (sent.status, len(_messages(session, sent.id))) == ("sent", 1)
        assert _messages(session, left.id) == []
