"""Reading replies and bounces over IMAP from a real server (dovecot): new messages only, once,
never marking or moving them; UIDVALIDITY changes, TLS, and servers that fail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from leadwell.db.models import Enrollment, Event, InboundMessage, Mailbox, Sequence
from leadwell.db.session import Database
from leadwell.outreach import imap_poll
from leadwell.outreach.imap_poll import claim, poll_mailbox, poll_mailboxes
from tests import factories
from tests.outreach.imap_support import PASSWORD, ImapMailbox, imap_mailbox, imap_server
from tests.outreach.mail_support import ADA, make_mailbox, make_sent, message, sample
from tests.test_serve import free_port

__all__ = ["imap_mailbox", "imap_server"]

NOW = datetime(2025, 12, 3, 13, 0, tzinfo=UTC)


def _setup(db: Database, imap: ImapMailbox, **imap_fields: object) -> tuple[int, int]:
    """A workspace where Ada was sent our message, in a sequence, and a mailbox reading ``imap``;
    (mailbox id, enrollment id)."""
    fields: dict[str, object] = {
        "imap_host": imap.server.host,
        "imap_port": imap.server.port,
        "imap_security": "none",
        "imap_username": imap.user,
        "imap_password": PASSWORD,
    }
    fields.update(imap_fields)
    with db.session() as session:
        workspace = factories.make_workspace(session)
        contact = factories.make_contact(session, workspace, email=ADA)
        mailbox = make_mailbox(session, workspace, **fields)
        sequence = Sequence(workspace_id=workspace.id, slug="q1", name="Q1", status="active")
        session.add(sequence)
        session.flush()
        enrollment = Enrollment(workspace_id=workspace.id, sequence_id=sequence.id, contact_id=contact.id)
        session.add(enrollment)
        session.flush()
        make_sent(session, contact, mailbox, enrollment_id=enrollment.id)
        return mailbox.id, enrollment.id


def _mailbox(db: Database, mailbox_id: int) -> Mailbox:
    with db.session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None
        return mailbox


def _stored(db: Database) -> list[tuple[str, str | None]]:
    with db.session() as session:
        rows = session.execute(
            select(InboundMessage.kind, InboundMessage.bounce_kind).order_by(InboundMessage.id)
        )
        return [(kind, bounce) for kind, bounce in rows]


def test_new_messages_are_read_handled_and_left_unread_in_place(
    db: Database, imap_mailbox: ImapMailbox
) -> None:
    mailbox_id, enrollment_id = _setup(db, imap_mailbox)
    for name in ("out_of_office_exchange.eml", "reply_gmail.eml", "dsn_delayed.eml"):
        imap_mailbox.deliver(sample(name))
    assert poll_mailboxes(db, NOW) == 3
    assert _stored(db) == [("auto_reply", None), ("reply", None), ("bounce", "soft")]
    with db.session() as session:
        enrollment = session.get(Enrollment, enrollment_id)
        assert enrollment is not None and enrollment.stop_reason == "replied"
    mailbox = _mailbox(db, mailbox_id)
    assert (mailbox.imap_last_uid, mailbox.imap_error, mailbox.imap_polled_at) == (3, None, NOW)
    assert mailbox.imap_uidvalidity == imap_mailbox.uidvalidity()
    # Nothing was marked as seen, moved or deleted.
    assert imap_mailbox.count() == 3
    assert all(b"\\Seen" not in flags and b"\\Deleted" not in flags for flags in imap_mailbox.flags())


def test_polling_again_reads_only_what_arrived_since(db: Database, imap_mailbox: ImapMailbox) -> None:
    mailbox_id, _ = _setup(db, imap_mailbox)
    imap_mailbox.deliver(sample("reply_gmail.eml"))
    assert poll_mailboxes(db, NOW) == 1
    assert poll_mailboxes(db, NOW + timedelta(seconds=30)) == 0  # not due yet: a minute apart
    assert poll_mailboxes(db, NOW + timedelta(minutes=1)) == 0  # due, nothing new
    imap_mailbox.deliver(sample("bounce_exim.eml"))
    assert poll_mailboxes(db, NOW + timedelta(minutes=2)) == 1
    assert _stored(db) == [("reply", None), ("bounce", "hard")]
    assert _mailbox(db, mailbox_id).imap_last_uid == 2
    with db.session() as session:
        assert (
            session.scalar(select(func.count()).select_from(Event).where(Event.type == "email_replied")) == 1
        )


def test_a_new_uidvalidity_reads_the_folder_again_and_stores_nothing_twice(
    db: Database, imap_mailbox: ImapMailbox
) -> None:
    mailbox_id, _ = _setup(db, imap_mailbox)
    imap_mailbox.deliver(sample("reply_gmail.eml"))
    poll_mailbox(db, mailbox_id, NOW)
    with db.session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None
        mailbox.imap_uidvalidity = 1  # as if the folder had been rebuilt since
        mailbox.imap_last_uid = 40
    imap_mailbox.deliver(sample("dsn_postfix_hard.eml"))
    result = poll_mailbox(db, mailbox_id, NOW + timedelta(minutes=1))
    assert (result.read, result.new, result.error) == (2, 1, None)
    assert _stored(db) == [("reply", None), ("bounce", "hard")]
    mailbox = _mailbox(db, mailbox_id)
    assert (mailbox.imap_uidvalidity, mailbox.imap_last_uid) == (imap_mailbox.uidvalidity(), 2)


def test_a_folder_other_than_the_inbox(db: Database, imap_mailbox: ImapMailbox) -> None:
    mailbox_id, _ = _setup(db, imap_mailbox, imap_folder="Bounce Reports")
    imap_mailbox.deliver(sample("reply_apple.eml"))  # in the inbox: not read
    imap_mailbox.deliver(sample("bounce_qmail.eml"), folder="Bounce Reports")
    assert poll_mailbox(db, mailbox_id, NOW).read == 1
    assert _stored(db) == [("bounce", "hard")]


def test_many_messages_are_read_in_batches_and_a_long_backlog_over_several_polls(
    db: Database, imap_mailbox: ImapMailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imap_poll, "BATCH", 3)
    monkeypatch.setattr(imap_poll, "MAX_PER_POLL", 7)
    mailbox_id, _ = _setup(db, imap_mailbox)
    for number in range(10):
        imap_mailbox.deliver(message(message_id=f"<n{number}@engines.example>", in_reply_to=None))
    first = poll_mailbox(db, mailbox_id, NOW)
    assert (first.read, first.more) == (7, True)
    # Messages were left, so the mailbox is due again at once.
    assert poll_mailboxes(db, NOW + timedelta(seconds=1)) == 3
    assert len(_stored(db)) == 10
    assert _mailbox(db, mailbox_id).imap_last_uid == 10


def test_only_one_worker_claims_a_mailbox_each_minute(db: Database, imap_mailbox: ImapMailbox) -> None:
    mailbox_id, _ = _setup(db, imap_mailbox)
    assert claim(db, mailbox_id, NOW)
    assert not claim(db, mailbox_id, NOW + timedelta(seconds=10))
    assert claim(db, mailbox_id, NOW + timedelta(minutes=1))


def test_mailboxes_without_imap_or_archived_are_not_polled(db: Database, imap_mailbox: ImapMailbox) -> None:
    mailbox_id, _ = _setup(db, imap_mailbox)
    with db.session() as session:
        workspace_id = _mailbox(db, mailbox_id).workspace_id
        session.add(
            Mailbox(workspace_id=workspace_id, slug="no-imap", from_email="n@acme.example", smtp_host="x")
        )
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None
        mailbox.archived_at = NOW
    imap_mailbox.deliver(sample("reply_gmail.eml"))
    assert poll_mailboxes(db, NOW) == 0
    assert _stored(db) == []


def test_an_unreachable_server_is_an_error_on_the_mailbox_not_a_crash(
    db: Database, imap_mailbox: ImapMailbox
) -> None:
    mailbox_id, _ = _setup(db, imap_mailbox, imap_port=free_port())
    assert poll_mailboxes(db, NOW) == 0
    mailbox = _mailbox(db, mailbox_id)
    assert mailbox.imap_error is not None and mailbox.imap_error.startswith("could not reach 127.0.0.1:")
    assert mailbox.imap_polled_at == NOW  # tried again in a minute, not in a tight loop
    assert poll_mailboxes(db, NOW + timedelta(seconds=5)) == 0


def test_a_refused_login_is_reported_and_cleared_once_fixed(db: Database, imap_mailbox: ImapMailbox) -> None:
    mailbox_id, _ = _setup(db, imap_mailbox, imap_password="wrong")
    result = poll_mailbox(db, mailbox_id, NOW)
    assert result.error is not None and "refused the login for " + imap_mailbox.user in result.error
    assert _mailbox(db, mailbox_id).imap_error == result.error
    with db.session() as session:
        mailbox = session.get(Mailbox, mailbox_id)
        assert mailbox is not None
        mailbox.imap_password = PASSWORD
    assert poll_mailbox(db, mailbox_id, NOW + timedelta(minutes=1)).error is None
    assert _mailbox(db, mailbox_id).imap_error is None


def test_a_missing_folder_is_reported(db: Database, imap_mailbox: ImapMailbox) -> None:
    mailbox_id, _ = _setup(db, imap_mailbox, imap_folder="Replies")
    result = poll_mailbox(db, mailbox_id, NOW)
    assert result.error is not None and result.error.startswith("folder 'Replies' cannot be opened")


@pytest.mark.parametrize("security", ["tls", "starttls"])
def test_tls_and_starttls_verify_the_server_certificate(
    db: Database, imap_mailbox: ImapMailbox, monkeypatch: pytest.MonkeyPatch, security: str
) -> None:
    server = imap_mailbox.server
    port = server.tls_port if security == "tls" else server.port
    mailbox_id, _ = _setup(db, imap_mailbox, imap_security=security, imap_port=port)
    imap_mailbox.deliver(sample("reply_outlook.eml"))
    untrusted = poll_mailbox(db, mailbox_id, NOW)
    assert untrusted.error is not None and "certificate verify failed" in untrusted.error
    monkeypatch.setenv("SSL_CERT_FILE", str(server.certificate))
    trusted = poll_mailbox(db, mailbox_id, NOW + timedelta(minutes=1))
    assert (trusted.error, trusted.read) == (None, 1)
