"""Handling what comes back: stored once, matched to what we sent, and acted on — a reply stops the
sequence and puts its writer first in the call queue, a hard bounce and a complaint suppress the
address, a soft bounce and an auto-reply change nothing else."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from leadwell.db.models import (
    INBOUND_KINDS,
    Contact,
    ContactEmail,
    EmailTemplate,
    Engagement,
    Enrollment,
    Event,
    InboundMessage,
    Mailbox,
    OutboxMessage,
    Sequence,
    Suppression,
    Workspace,
)
from leadwell.db.session import Database
from leadwell.outreach.inbound import handle_inbound
from leadwell.outreach.inbound_mail import fingerprint
from leadwell.outreach.suppressions import suppression_of
from tests import factories
from tests.outreach.mail_support import (
    ADA,
    AUTO_REPLIES,
    HARD_BOUNCES,
    REPLIES,
    SENT_ID,
    SENT_SUBJECT,
    make_mailbox,
    make_sent,
    message,
    sample,
)

# The samples were written on 3 Dec 2025; "now" is shortly after, so replies are fresh.
NOW = datetime(2025, 12, 3, 13, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Scene:
    """Ada, in a sequence, was sent a message from Grace's mailbox."""

    workspace_id: int
    contact_id: int
    mailbox_id: int
    sent_id: int
    enrollment_id: int


def _scene(session: Session, *, stage: str = "lead") -> Scene:
    workspace = factories.make_workspace(session)
    contact = factories.make_contact(
        session, workspace, email=ADA, first_name="Ada", last_name="Lovelace", stage=stage
    )
    mailbox = make_mailbox(session, workspace)
    template = EmailTemplate(workspace_id=workspace.id, slug="q1-intro", name="Q1 intro")
    sequence = Sequence(workspace_id=workspace.id, slug="q1-outreach", name="Q1 outreach", status="active")
    session.add_all([template, sequence])
    session.flush()
    enrollment = Enrollment(
        workspace_id=workspace.id, sequence_id=sequence.id, contact_id=contact.id, position=2, next_at=NOW
    )
    session.add(enrollment)
    session.flush()
    sent = make_sent(
        session,
        contact,
        mailbox,
        template_id=template.id,
        variant_key="b",
        enrollment_id=enrollment.id,
        step_position=1,
        sent_at=NOW - timedelta(hours=3),
    )
    return Scene(workspace.id, contact.id, mailbox.id, sent.id, enrollment.id)


@pytest.fixture
def scene(db: Database) -> Scene:
    with db.session() as session:
        return _scene(session)


def _handle(db: Database, scene: Scene, raw: bytes, mailbox: bool = True) -> InboundMessage | None:
    with db.session() as session:
        return handle_inbound(session, scene.workspace_id, scene.mailbox_id if mailbox else None, raw, NOW)


def _events(db: Database, scene: Scene, event_type: str) -> list[Event]:
    with db.session() as session:
        return list(
            session.scalars(
                select(Event)
                .where(Event.workspace_id == scene.workspace_id, Event.type == event_type)
                .order_by(Event.id)
            )
        )


def _enrollment(db: Database, scene: Scene) -> Enrollment:
    with db.session() as session:
        enrollment = session.get(Enrollment, scene.enrollment_id)
        assert enrollment is not None
        return enrollment


def _engagement(db: Database, scene: Scene) -> Engagement | None:
    with db.session() as session:
        return session.get(Engagement, scene.contact_id)


@pytest.mark.parametrize("name", REPLIES)
def test_a_reply_is_stored_matched_and_stops_the_sequence(db: Database, scene: Scene, name: str) -> None:
    stored = _handle(db, scene, sample(name))
    assert stored is not None
    assert (stored.kind, stored.contact_id, stored.outbox_message_id) == (
        "reply",
        scene.contact_id,
        scene.sent_id,
    )
    assert stored.from_email == ADA
    assert stored.snippet and "Grace" not in stored.snippet.split("\n")[-1]  # the quote is cut
    (replied,) = _events(db, scene, "email_replied")
    assert replied.contact_id == scene.contact_id
    assert replied.properties == {
        "message": SENT_ID,
        "subject": SENT_SUBJECT,
        "template": "q1-intro",
        "variant": "b",
        "sequence": "q1-outreach",
    }
    assert replied.occurred_at < NOW  # when it was written, from its Date
    enrollment = _enrollment(db, scene)
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "replied")
    engagement = _engagement(db, scene)
    assert engagement is not None
    assert engagement.hot_at == replied.occurred_at
    assert engagement.hot_why == f'Replied to "{SENT_SUBJECT}"'
    assert engagement.score > 0  # the reply was scored


def test_the_same_message_twice_is_handled_once(db: Database, scene: Scene) -> None:
    assert _handle(db, scene, sample("reply_gmail.eml")) is not None
    assert _handle(db, scene, sample("reply_gmail.eml")) is None
    assert len(_events(db, scene, "email_replied")) == 1
    assert len(_events(db, scene, "sequence_finished")) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_a_message_without_a_message_id_is_stored_under_the_hash_of_its_bytes(
    db: Database, scene: Scene
) -> None:
    raw = message(message_id=None)
    stored = _handle(db, scene, raw)
    assert stored is not None and stored.header_message_id == fingerprint(raw)
    assert _handle(db, scene, raw) is None


def test_one_message_id_in_two_workspaces_is_two_messages(db: Database, scene: Scene) -> None:
    with db.session() as session:
        other = _scene_elsewhere(session)
    assert _handle(db, scene, sample("reply_gmail.eml")) is not None
    with db.session() as session:
        assert handle_inbound(session, other, None, sample("reply_gmail.eml"), NOW) is not None


def _scene_elsewhere(session: Session) -> int:
    workspace = factories.make_workspace(session)
    factories.make_contact(session, workspace, email=ADA)
    make_mailbox(session, workspace)
    return workspace.id


@pytest.mark.parametrize("name", AUTO_REPLIES)
def test_an_auto_reply_is_stored_and_changes_nothing(db: Database, scene: Scene, name: str) -> None:
    stored = _handle(db, scene, sample(name))
    assert stored is not None
    assert (stored.kind, stored.contact_id, stored.outbox_message_id) == (
        "auto_reply",
        scene.contact_id,
        scene.sent_id,
    )
    assert stored.snippet
    assert _events(db, scene, "email_replied") == []
    assert _enrollment(db, scene).status == "active"
    engagement = _engagement(db, scene)
    assert engagement is None or engagement.hot_at is None


@pytest.mark.parametrize("name", HARD_BOUNCES)
def test_a_hard_bounce_suppresses_the_address_and_stops_the_sequence(
    db: Database, scene: Scene, name: str
) -> None:
    stored = _handle(db, scene, sample(name))
    assert stored is not None
    assert (stored.kind, stored.bounce_kind, stored.contact_id) == ("bounce", "hard", scene.contact_id)
    assert stored.outbox_message_id == scene.sent_id
    assert stored.diagnostic and "5.1.1" in stored.diagnostic
    with db.session() as session:
        assert suppression_of(session, scene.workspace_id, ADA) == "hard_bounce"
        entry = session.scalar(select(Suppression))
        assert entry is not None and entry.message_id == scene.sent_id
    (bounced,) = _events(db, scene, "email_bounced")
    assert bounced.properties["kind"] == "hard"
    assert bounced.properties["message"] == SENT_ID
    assert "5.1.1" in bounced.properties["diagnostic"]
    enrollment = _enrollment(db, scene)
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "bounced")
    engagement = _engagement(db, scene)
    assert engagement is None or engagement.hot_at is None


def test_a_soft_bounce_is_an_event_and_nothing_more(db: Database, scene: Scene) -> None:
    stored = _handle(db, scene, sample("dsn_delayed.eml"))
    assert stored is not None and (stored.kind, stored.bounce_kind) == ("bounce", "soft")
    (bounced,) = _events(db, scene, "email_bounced")
    assert bounced.properties["kind"] == "soft"
    with db.session() as session:
        assert suppression_of(session, scene.workspace_id, ADA) is None
    assert _enrollment(db, scene).status == "active"


def test_a_complaint_suppresses_the_address_and_counts_as_unsubscribing(db: Database, scene: Scene) -> None:
    stored = _handle(db, scene, sample("arf_complaint.eml"))
    assert stored is not None and (stored.kind, stored.contact_id) == ("complaint", scene.contact_id)
    with db.session() as session:
        assert suppression_of(session, scene.workspace_id, ADA) == "complaint"
    (unsubscribed,) = _events(db, scene, "email_unsubscribed")
    assert unsubscribed.properties["message"] == SENT_ID
    enrollment = _enrollment(db, scene)
    assert (enrollment.status, enrollment.stop_reason) == ("stopped", "unsubscribed")


def test_queued_mail_to_a_bounced_address_is_held(db: Database, scene: Scene) -> None:
    with db.session() as session:
        contact = session.get(Contact, scene.contact_id)
        mailbox = session.get(Mailbox, scene.mailbox_id)
        assert contact is not None and mailbox is not None
        waiting = make_sent(
            session, contact, mailbox, message_id="next@acme.example", state="queued", sent_at=None
        )
        waiting.sent_at = None
        waiting_id = waiting.id
    _handle(db, scene, sample("bounce_exim.eml"))
    with db.session() as session:
        held = session.get(OutboxMessage, waiting_id)
        assert held is not None and held.state in ("suppressed", "cancelled")


def test_a_bounce_quoting_nothing_of_ours_is_matched_by_its_recipient(db: Database, scene: Scene) -> None:
    raw = sample("bounce_qmail.eml").replace(b"Message-ID: <lw.7Qm2xK9pT4vB@acme.example>\n", b"")
    stored = _handle(db, scene, raw)
    assert stored is not None
    assert (stored.contact_id, stored.outbox_message_id) == (scene.contact_id, scene.sent_id)
    with db.session() as session:
        assert suppression_of(session, scene.workspace_id, ADA) == "hard_bounce"


def test_a_bounce_for_an_address_we_never_mailed_is_only_stored(db: Database, scene: Scene) -> None:
    raw = (
        sample("bounce_qmail.eml")
        .replace(b"Message-ID: <lw.7Qm2xK9pT4vB@acme.example>\n", b"")
        .replace(b"<ada@engines.example>:", b"<stranger@elsewhere.example>:")
    )
    stored = _handle(db, scene, raw)
    assert stored is not None and (stored.kind, stored.contact_id, stored.outbox_message_id) == (
        "bounce",
        None,
        None,
    )
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Suppression)) == 0


def test_a_reply_without_thread_headers_is_matched_by_its_sender(db: Database, scene: Scene) -> None:
    stored = _handle(db, scene, message(in_reply_to=None, subject="Can we talk?"))
    assert stored is not None
    assert (stored.kind, stored.contact_id, stored.outbox_message_id) == ("reply", scene.contact_id, None)
    (replied,) = _events(db, scene, "email_replied")
    assert replied.properties == {"subject": "Can we talk?"}
    assert _enrollment(db, scene).stop_reason == "replied"
    engagement = _engagement(db, scene)
    assert engagement is not None and engagement.hot_why == 'Replied to "Can we talk?"'


def test_without_a_mailbox_the_sender_must_write_to_one_of_our_addresses(db: Database, scene: Scene) -> None:
    elsewhere = _handle(db, scene, message(in_reply_to=None, to="someone@else.example"), mailbox=False)
    assert elsewhere is not None and elsewhere.kind == "unmatched"
    to_us = _handle(
        db, scene, message(in_reply_to=None, message_id="<fresh.2@engines.example>"), mailbox=False
    )
    assert to_us is not None and to_us.kind == "reply"


def test_mail_from_a_stranger_is_unmatched(db: Database, scene: Scene) -> None:
    stored = _handle(db, scene, message(sender="Bob <bob@stranger.example>", in_reply_to=None))
    assert stored is not None and (stored.kind, stored.contact_id) == ("unmatched", None)
    assert _events(db, scene, "email_replied") == []


def test_our_own_answer_in_the_thread_is_not_the_contact_replying(db: Database, scene: Scene) -> None:
    with db.session() as session:
        workspace = session.get(Workspace, scene.workspace_id)
        assert workspace is not None
        factories.make_user(session, workspace, role="sales", email="grace@acme.example")
    from_mailbox = _handle(db, scene, message(sender="Grace <sales@acme.example>"))
    from_member = _handle(db, scene, message(sender="grace@acme.example", message_id="<own.2@acme.example>"))
    for stored in (from_mailbox, from_member):
        assert stored is not None and (stored.kind, stored.contact_id) == ("unmatched", None)
        assert stored.outbox_message_id == scene.sent_id
    assert _events(db, scene, "email_replied") == []
    assert _enrollment(db, scene).status == "active"


def test_a_colleague_answering_the_thread_is_credited_to_the_person_we_wrote_to(
    db: Database, scene: Scene
) -> None:
    stored = _handle(db, scene, message(sender="Charles <charles@engines.example>"))
    assert stored is not None and (stored.kind, stored.contact_id) == ("reply", scene.contact_id)


def test_a_reply_from_a_known_colleague_is_credited_to_the_colleague(db: Database, scene: Scene) -> None:
    with db.session() as session:
        workspace = session.get(Workspace, scene.workspace_id)
        assert workspace is not None
        charles = factories.make_contact(session, workspace, email="charles@engines.example").id
    stored = _handle(db, scene, message(sender="Charles <charles@engines.example>"))
    assert stored is not None and (stored.contact_id, stored.outbox_message_id) == (charles, scene.sent_id)


def test_a_merged_contact_s_reply_goes_to_the_survivor(db: Database, scene: Scene) -> None:
    with db.session() as session:
        workspace = session.get(Workspace, scene.workspace_id)
        assert workspace is not None
        survivor = factories.make_contact(session, workspace, email="ada.l@engines.example")
        contact = session.get(Contact, scene.contact_id)
        assert contact is not None
        contact.merged_into_id = survivor.id
        session.execute(delete(ContactEmail).where(ContactEmail.contact_id == scene.contact_id))
        survivor_id = survivor.id
    stored = _handle(db, scene, sample("reply_apple.eml"))
    assert stored is not None and stored.contact_id == survivor_id


def test_unparseable_bytes_are_stored_once_as_unmatched(db: Database, scene: Scene) -> None:
    stored = _handle(db, scene, b"\x00\x01 not mail")
    assert stored is not None
    assert (stored.kind, stored.diagnostic) == ("unmatched", "not a readable email message")
    assert _handle(db, scene, b"\x00\x01 not mail") is None


def test_an_old_reply_stops_the_sequence_but_is_not_hot(db: Database, scene: Scene) -> None:
    raw = message(date="Mon, 03 Nov 2025 09:00:00 +0000")
    stored = _handle(db, scene, raw)
    assert stored is not None and stored.kind == "reply"
    assert _enrollment(db, scene).stop_reason == "replied"
    engagement = _engagement(db, scene)
    assert engagement is not None and engagement.hot_at is None


def test_a_date_far_in_the_future_is_not_believed(db: Database, scene: Scene) -> None:
    _handle(db, scene, message(date="Fri, 01 Jan 2100 00:00:00 +0000"))
    (replied,) = _events(db, scene, "email_replied")
    assert replied.occurred_at == NOW


def test_a_newer_reply_replaces_the_hot_reason_an_older_one_does_not(db: Database, scene: Scene) -> None:
    _handle(
        db, scene, message(subject="Re: second", date="Wed, 03 Dec 2025 12:00:00 +0000", message_id="<b@x>")
    )
    _handle(
        db, scene, message(subject="Re: first", date="Wed, 03 Dec 2025 10:00:00 +0000", message_id="<a@x>")
    )
    engagement = _engagement(db, scene)
    assert engagement is not None
    assert engagement.hot_why == f'Replied to "{SENT_SUBJECT}"'
    assert engagement.hot_at == datetime(2025, 12, 3, 12, 0, tzinfo=UTC)


def test_damaged_mail_is_stored_and_never_breaks_handling(db: Database, scene: Scene) -> None:
    """Real samples with bytes flipped, cut short or spliced: each is stored once, whatever it is."""
    rng = random.Random(3464)
    names = [*REPLIES, *AUTO_REPLIES, *HARD_BOUNCES, "dsn_delayed.eml", "arf_complaint.eml"]
    damaged = []
    for index in range(60):
        raw = bytearray(sample(rng.choice(names)))
        for _ in range(rng.randint(1, 40)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        if index % 3 == 0:
            raw = raw[: rng.randrange(len(raw))]
        if index % 5 == 0:
            raw += sample(rng.choice(names))[rng.randrange(200) :]
        damaged.append(bytes(raw))
    with db.session() as session:
        handled = [handle_inbound(session, scene.workspace_id, scene.mailbox_id, raw, NOW) for raw in damaged]
    assert all(stored is None or stored.kind in INBOUND_KINDS for stored in handled)
    with db.session() as session:
        stored_count = session.scalar(select(func.count()).select_from(InboundMessage))
    assert stored_count == len({stored.id for stored in handled if stored is not None}) > 0
