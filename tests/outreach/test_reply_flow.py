"""The whole loop on real servers: contacts enrolled in a sequence are mailed through the outbox to
an SMTP server on loopback; their replies, bounces and complaints arrive in a dovecot mailbox and
are read by the IMAP poller. A reply stops the sequence, logs an event and puts the contact first
in the call queue; a hard bounce suppresses and stops; a soft bounce is only an event; a complaint
suppresses and unsubscribes; polling again stores nothing twice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from leadwell.db.models import Contact, Enrollment, Event, InboundMessage, OutboxMessage, Workspace
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.outreach.enroll import enroll
from leadwell.outreach.imap_poll import poll_mailboxes
from leadwell.outreach.outbox import send_due
from leadwell.outreach.runner import advance_due
from leadwell.outreach.signing import Signing
from leadwell.outreach.suppressions import suppression_of
from leadwell.sales.queue import call_queue
from tests import factories
from tests.outreach.imap_support import PASSWORD, ImapMailbox, imap_mailbox, imap_server
from tests.outreach.mail_support import SENT_ID, message, sample
from tests.outreach.sending_support import LINKS, PUBLIC_URL, SIGNER, make_mailbox, worker
from tests.outreach.sequence_support import make_sequence, make_template
from tests.outreach.smtp_support import SmtpServer, smtp_server

__all__ = ["imap_mailbox", "imap_server", "smtp_server", "worker"]

SIGNING = Signing(PUBLIC_URL, SIGNER)
PEOPLE = {
    "ada": "ada@engines.example",
    "bob": "bob@engines.example",
    "cy": "cy@looms.example",
    "dee": "dee@looms.example",
}


@dataclass(frozen=True)
class Campaign:
    workspace_id: int
    contacts: dict[str, int]  # name → contact id
    enrollments: dict[str, int]  # name → enrollment id
    sent: dict[str, str]  # name → the Message-ID of the first email, as the SMTP server received it


def _campaign(db: Database, smtp: SmtpServer, imap: ImapMailbox, worker: str, now: datetime) -> Campaign:
    """Four contacts enrolled in a two-email sequence; the first email sent to each."""
    with db.session() as session:
        workspace = factories.make_workspace(session)
        mailbox = make_mailbox(
            session,
            workspace,
            smtp,
            from_email="sales@acme.example",
            imap_host=imap.server.host,
            imap_port=imap.server.port,
            imap_security="none",
            imap_username=imap.user,
            imap_password=PASSWORD,
        )
        first = make_template(session, workspace, slug="q1-intro", subject="Quick question, {{ first_name }}")
        second = make_template(session, workspace, slug="q1-nudge", subject="Following up")
        sequence = make_sequence(
            session, workspace, [("email", first), ("wait", 2), ("email", second)], slug="q1", mailbox=mailbox
        )
        contacts = {
            name: factories.make_contact(session, workspace, first_name=name.title(), email=address).id
            for name, address in PEOPLE.items()
        }
        enroll(
            session,
            workspace.id,
            sequence.id,
            list(contacts.values()),
            source="manual",
            by_user_id=None,
            now=now,
        )
        enrollments = {
            name: session.scalars(select(Enrollment.id).where(Enrollment.contact_id == contact_id)).one()
            for name, contact_id in contacts.items()
        }
    assert advance_due(db, now, signing=SIGNING) == len(PEOPLE)
    assert send_due(db, worker, links=LINKS) == len(PEOPLE)
    received = smtp.wait_for(len(PEOPLE))
    by_address = {item.rcpt_tos[0]: item.message_id for item in received}
    sent = {name: by_address[address] for name, address in PEOPLE.items()}
    return Campaign(workspace.id, contacts, enrollments, sent)


def _returned(name: str, campaign: Campaign, new_address: str) -> bytes:
    """A sample report rewritten to return our message to ``new_address``."""
    return (
        sample(name)
        .replace(SENT_ID.encode(), campaign.sent[new_address.split("@")[0]].encode())
        .replace(b"ada@engines.example", new_address.encode())
    )


def _enrollment(db: Database, enrollment_id: int) -> tuple[str, str | None]:
    with db.session() as session:
        row = session.get(Enrollment, enrollment_id)
        assert row is not None
        return row.status, row.stop_reason


def _events(db: Database, campaign: Campaign, event_type: str) -> dict[int, list[Event]]:
    with db.session() as session:
        found: dict[int, list[Event]] = {}
        for event in session.scalars(
            select(Event).where(Event.workspace_id == campaign.workspace_id, Event.type == event_type)
        ):
            found.setdefault(event.contact_id or 0, []).append(event)
        return found


def test_replies_bounces_and_complaints_read_over_imap_act_on_the_sequence(
    db: Database, smtp_server: SmtpServer, imap_mailbox: ImapMailbox, worker: str
) -> None:
    now = utcnow()
    campaign = _campaign(db, smtp_server, imap_mailbox, worker, now)
    reply = message(
        sender="Ada <ada@engines.example>",
        to="sales@acme.example",
        subject="Re: Quick question, Ada",
        body="Yes - call me this afternoon.\n\nOn Tue, Grace wrote:\n> Quick question",
        in_reply_to=f"<{campaign.sent['ada']}>",
        date=(now - timedelta(minutes=20)).strftime("%a, %d %b %Y %H:%M:%S +0000"),
    )
    imap_mailbox.deliver(reply)
    imap_mailbox.deliver(_returned("dsn_gmail_hard.eml", campaign, PEOPLE["bob"]))
    imap_mailbox.deliver(_returned("dsn_delayed.eml", campaign, PEOPLE["cy"]))
    imap_mailbox.deliver(_returned("arf_complaint.eml", campaign, PEOPLE["dee"]))

    assert poll_mailboxes(db, now) == 4

    # Ada replied: her sequence stopped, the reply is on her timeline, and she is first to call.
    assert _enrollment(db, campaign.enrollments["ada"]) == ("stopped", "replied")
    (replied,) = _events(db, campaign, "email_replied")[campaign.contacts["ada"]]
    assert replied.properties == {
        "message": campaign.sent["ada"],
        "subject": "Quick question, Ada",
        "template": "q1-intro",
        "variant": "a",
        "sequence": "q1",
    }
    with db.session() as session:
        queue = call_queue(session, campaign.workspace_id, now)
    assert queue[0].contact_id == campaign.contacts["ada"]
    assert queue[0].why_now[0] == 'Replied to "Quick question, Ada" 20 minutes ago'

    # Bob's address does not exist: suppressed, and his sequence stopped.
    assert _enrollment(db, campaign.enrollments["bob"]) == ("stopped", "bounced")
    (bounced,) = _events(db, campaign, "email_bounced")[campaign.contacts["bob"]]
    assert bounced.properties["kind"] == "hard"
    # Cy's server is slow: an event, nothing more. Dee reported spam: suppressed and unsubscribed.
    assert _enrollment(db, campaign.enrollments["cy"]) == ("active", None)
    (delayed,) = _events(db, campaign, "email_bounced")[campaign.contacts["cy"]]
    assert delayed.properties["kind"] == "soft"
    assert _enrollment(db, campaign.enrollments["dee"]) == ("stopped", "unsubscribed")
    with db.session() as session:
        reasons = {name: suppression_of(session, campaign.workspace_id, PEOPLE[name]) for name in PEOPLE}
    assert reasons == {"ada": None, "bob": "hard_bounce", "cy": None, "dee": "complaint"}

    # Polling again (and again once more mail came) stores nothing twice.
    imap_mailbox.deliver(reply)  # the same reply delivered twice by a confused server
    assert poll_mailboxes(db, now + timedelta(minutes=2)) == 1
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 4
    assert len(_events(db, campaign, "email_replied")[campaign.contacts["ada"]]) == 1

    # The second email goes only to the one still in the sequence.
    later = now + timedelta(days=5)
    advance_due(db, later, signing=SIGNING)
    with db.session() as session:
        nudges = session.scalars(
            select(Contact.first_name)
            .join(OutboxMessage, OutboxMessage.contact_id == Contact.id)
            .where(OutboxMessage.subject == "Following up")
        ).all()
    assert nudges == ["Cy"]


def test_a_reply_read_twice_across_workspaces_stays_in_its_own(
    db: Database, smtp_server: SmtpServer, imap_mailbox: ImapMailbox, worker: str
) -> None:
    now = utcnow()
    campaign = _campaign(db, smtp_server, imap_mailbox, worker, now)
    with db.session() as session:
        other = factories.make_workspace(session)
        factories.make_contact(session, other, email=PEOPLE["ada"])
        other_id = other.id
    imap_mailbox.deliver(message(in_reply_to=f"<{campaign.sent['ada']}>"))
    poll_mailboxes(db, now)
    with db.session() as session:
        owners = session.scalars(select(InboundMessage.workspace_id)).all()
        assert owners == [campaign.workspace_id]
        assert session.get(Workspace, other_id) is not None
        assert not session.scalars(select(Event).where(Event.workspace_id == other_id)).all()
