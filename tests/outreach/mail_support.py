"""Sample inbound mail for the reply and bounce tests: the files under tests/fixtures/mail/ and small
messages built on the spot.

Every sample answers or returns :data:`SENT_ID`, the message Grace (sales@acme.example) sent to
Ada (ada@engines.example) — the outbox row :func:`make_sent` stores.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Mailbox, OutboxMessage, Workspace
from leadwell.db.types import utcnow

MAIL = Path(__file__).parent.parent / "fixtures" / "mail"
SENT_ID = "lw.7Qm2xK9pT4vB@acme.example"
SENT_SUBJECT = "Quick question about your Q1 hiring plans"
ADA = "ada@engines.example"
MAILBOX_ADDRESS = "sales@acme.example"
REPLIES = ("reply_gmail.eml", "reply_outlook.eml", "reply_apple.eml")
AUTO_REPLIES = ("out_of_office_exchange.eml", "vacation_gmail.eml")
HARD_BOUNCES = (
    "dsn_postfix_hard.eml",
    "dsn_gmail_hard.eml",
    "dsn_outlook_hard.eml",
    "bounce_exim.eml",
    "bounce_qmail.eml",
)


def sample(name: str) -> bytes:
    """A fixture message's bytes."""
    return (MAIL / name).read_bytes()


def message(
    *,
    sender: str = f"Ada Lovelace <{ADA}>",
    to: str = MAILBOX_ADDRESS,
    subject: str = "Re: " + SENT_SUBJECT,
    body: str = "Sounds good, call me.",
    message_id: str | None = "<fresh.1@engines.example>",
    in_reply_to: str | None = f"<{SENT_ID}>",
    date: str = "Wed, 03 Dec 2025 11:00:00 +0000",
    extra: str = "",
) -> bytes:
    """A small plain-text message, as a mail program would send it."""
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Date: {date}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    if in_reply_to:
        lines += [f"In-Reply-To: {in_reply_to}", f"References: {in_reply_to}"]
    if extra:
        lines.append(extra)
    lines += ["MIME-Version: 1.0", 'Content-Type: text/plain; charset="utf-8"', "", body, ""]
    return "\r\n".join(lines).encode()


def make_mailbox(session: Session, workspace: Workspace, **fields: object) -> Mailbox:
    values: dict[str, object] = {"slug": "sales", "from_name": "Grace Hopper", "from_email": MAILBOX_ADDRESS}
    values.update(fields)
    mailbox = Mailbox(workspace_id=workspace.id, smtp_host="127.0.0.1", **values)
    session.add(mailbox)
    session.flush()
    return mailbox


def make_sent(
    session: Session,
    contact: Contact,
    mailbox: Mailbox,
    *,
    message_id: str = SENT_ID,
    sent_at: datetime | None = None,
    **fields: object,
) -> OutboxMessage:
    """A message we sent to ``contact`` (state ``sent``)."""
    values: dict[str, object] = {
        "idempotency_key": f"test:{message_id}",
        "to_email": contact.email or ADA,
        "recipient_domain": (contact.email or ADA).rpartition("@")[2],
        "subject": SENT_SUBJECT,
        "state": "sent",
        "sent_at": sent_at or utcnow(),
    }
    values.update(fields)
    sent = OutboxMessage(
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        mailbox_id=mailbox.id,
        message_id=message_id,
        **values,
    )
    session.add(sent)
    session.flush()
    return sent
