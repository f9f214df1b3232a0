"""What comes back — replies, auto-replies, bounces, complaints — read once and acted on.

:func:`handle_inbound` takes one raw message (read over IMAP, posted to the inbound webhook, or
imported from a file) and, in the caller's transaction:

1. stores it once, keyed by its Message-ID (a message without one by a hash of its bytes), so
   reading the same mail again does nothing;
2. matches it to the message we sent: by the ids in In-Reply-To and References (or, for a
   bounce or complaint, the returned message's Message-ID), else — for a reply — by its sender
   being a known contact writing to one of our mailboxes; a bounce that names no message of ours
   is matched by its recipient's address;
3. acts on it:

   - **reply**: an ``email_replied`` event (scored), the contact's sequences stop (``replied``)
     and the contact goes to the top of the call queue (:mod:`leadwell.outreach.hot`);
   - **auto-reply** (out of office, vacation): stored, nothing else — the person did not answer;
   - **hard bounce**: the address is suppressed (``hard_bounce``), an ``email_bounced`` event
     (``kind=hard``) and the sequences stop (``bounced``); **soft bounce**: the event only;
   - **complaint** (spam report): the address is suppressed (``complaint``), an
     ``email_unsubscribed`` event and the sequences stop (``unsubscribed``);
   - a message from no one we know, or from ourselves (a colleague's answer in the thread, sent
     from one of the workspace's mailboxes or members' addresses), is stored as ``unmatched``.

Events carry the sent message's key, subject, template, variant, sequence and broadcast.
"""

from __future__ import annotations

from collections.abc import Sequence as Seq
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Broadcast,
    Contact,
    ContactEmail,
    EmailTemplate,
    Enrollment,
    Event,
    InboundMessage,
    Mailbox,
    Membership,
    OutboxMessage,
    Sequence,
    User,
)
from leadwell.errors import InvalidInput
from leadwell.events.types import validate_properties
from leadwell.outreach.hot import mark_hot, reply_reason
from leadwell.outreach.inbound_mail import InboundMail, fingerprint, read_mail
from leadwell.outreach.reply_text import snippet
from leadwell.outreach.stops import stop_enrollments
from leadwell.outreach.suppressions import suppress
from leadwell.scoring.engine import score_new_events

MAX_IDS = 50  # ids of a References header looked up: a long thread's oldest ones add nothing
MERGE_HOPS = 5
# Clocks disagree: a Date a little ahead is skew; further ahead it is not believed.
DATE_TOLERANCE_SECONDS = 3600


@dataclass(frozen=True)
class Match:
    """Who and what an inbound message is about."""

    message: OutboxMessage | None  # the message of ours it answers or returns
    contact: Contact | None
    address: str | None  # the address concerned: the replier, or the recipient that bounced


def handle_inbound(
    session: Session, workspace_id: int, mailbox_id: int | None, raw: bytes, now: datetime
) -> InboundMessage | None:
    """Read, store and act on one raw message (see the module's doc); None when the same message
    was handled before (nothing is done again)."""
    mail = read_mail(raw)
    header_id = header_message_id(mail, raw)
    if _seen(session, workspace_id, header_id):
        return None
    match = match_inbound(session, workspace_id, mailbox_id, mail)
    stored = _record(workspace_id, mailbox_id, header_id, mail, match, now)
    try:
        with session.begin_nested():
            session.add(stored)
    except IntegrityError:  # another reader stored it a moment ago
        return None
    _act(session, stored, mail, match, now)
    return stored


def header_message_id(mail: InboundMail, raw: bytes) -> str:
    """The key a message is stored under: its Message-ID, else a hash of its bytes."""
    if mail.message_id and len(mail.message_id) <= 250:
        return mail.message_id
    return fingerprint(raw)


def _seen(session: Session, workspace_id: int, header_id: str) -> bool:
    found = session.scalar(
        select(InboundMessage.id).where(
            InboundMessage.workspace_id == workspace_id, InboundMessage.header_message_id == header_id
        )
    )
    return found is not None


def match_inbound(session: Session, workspace_id: int, mailbox_id: int | None, mail: InboundMail) -> Match:
    """The sent message, contact and address ``mail`` is about (each None when unknown)."""
    if mail.kind == "unparseable":
        return Match(None, None, None)
    sent = _sent_message(session, workspace_id, mail.matched_ids)
    if mail.kind in ("bounce", "complaint"):
        address = sent.to_email if sent else (mail.report.recipient if mail.report else None)
        if sent is None and address:
            sent = _latest_to(session, workspace_id, address)
        contact = _live_contact(session, workspace_id, sent.contact_id if sent else None)
        return Match(sent, contact or _contact_by_address(session, workspace_id, address), address)
    if _from_us(session, workspace_id, mail.sender):  # our own answer in the thread, say
        return Match(sent, None, mail.sender)
    writer = _contact_by_address(session, workspace_id, mail.sender)
    if sent is not None:
        return Match(sent, writer or _live_contact(session, workspace_id, sent.contact_id), mail.sender)
    if writer is not None and _addressed_to_us(session, workspace_id, mailbox_id, mail):
        return Match(None, writer, mail.sender)
    return Match(None, None, mail.sender)


def _sent_message(session: Session, workspace_id: int, ids: Seq[str]) -> OutboxMessage | None:
    """Our message among ``ids``, the first named winning (In-Reply-To before older References)."""
    wanted = list(ids[:MAX_IDS])
    if not wanted:
        return None
    found = {
        message.message_id: message
        for message in session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.workspace_id == workspace_id, OutboxMessage.message_id.in_(wanted)
            )
        )
    }
    return next((found[key] for key in wanted if key in found), None)


def _latest_to(session: Session, workspace_id: int, address: str) -> OutboxMessage | None:
    """The last message we sent to ``address`` (a bounce that quotes nothing of ours)."""
    return session.scalars(
        select(OutboxMessage)
        .where(
            OutboxMessage.workspace_id == workspace_id,
            OutboxMessage.to_email == address,
            OutboxMessage.sent_at.is_not(None),
        )
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    ).first()


def _contact_by_address(session: Session, workspace_id: int, address: str | None) -> Contact | None:
    if not address:
        return None
    contact_id = session.scalar(
        select(ContactEmail.contact_id).where(
            ContactEmail.workspace_id == workspace_id, ContactEmail.email == address.lower()
        )
    )
    return _live_contact(session, workspace_id, contact_id)


def _live_contact(session: Session, workspace_id: int, contact_id: int | None) -> Contact | None:
    """The contact, or the one it was merged into."""
    for _ in range(MERGE_HOPS):
        if contact_id is None:
            return None
        contact = session.get(Contact, contact_id)
        if contact is None or contact.workspace_id != workspace_id:
            return None
        if contact.merged_into_id is None:
            return contact
        contact_id = contact.merged_into_id
    return None


def _from_us(session: Session, workspace_id: int, sender: str | None) -> bool:
    """Sent by one of the workspace's mailboxes or members: not a prospect's reply."""
    if not sender:
        return False
    mailbox = select(Mailbox.id).where(
        Mailbox.workspace_id == workspace_id, or_(Mailbox.from_email == sender, Mailbox.reply_to == sender)
    )
    member = (
        select(User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.workspace_id == workspace_id, User.email == sender)
    )
    return session.execute(mailbox.union_all(member).limit(1)).first() is not None


def _addressed_to_us(session: Session, workspace_id: int, mailbox_id: int | None, mail: InboundMail) -> bool:
    """Read from one of our mailboxes, or sent to one of their addresses."""
    if mailbox_id is not None:
        return True
    if not mail.recipients:
        return False
    ours = session.execute(
        select(Mailbox.id).where(
            Mailbox.workspace_id == workspace_id,
            or_(Mailbox.from_email.in_(mail.recipients), Mailbox.reply_to.in_(mail.recipients)),
        )
    ).first()
    return ours is not None


def _kind(mail: InboundMail, match: Match) -> str:
    if mail.kind == "unparseable" or (mail.kind == "reply" and match.contact is None):
        return "unmatched"
    return mail.kind


def _record(
    workspace_id: int, mailbox_id: int | None, header_id: str, mail: InboundMail, match: Match, now: datetime
) -> InboundMessage:
    report = mail.report
    reply_like = mail.kind in ("reply", "auto_reply")
    diagnostic = report.diagnostic if report else None
    if mail.kind == "unparseable":
        diagnostic = "not a readable email message"
    return InboundMessage(
        workspace_id=workspace_id,
        mailbox_id=mailbox_id,
        header_message_id=header_id,
        kind=_kind(mail, match),
        outbox_message_id=match.message.id if match.message else None,
        contact_id=match.contact.id if match.contact else None,
        from_email=(mail.sender or "")[:320] or None,
        subject=mail.subject[:500] or None,
        snippet=(snippet(mail.text) or None) if reply_like else None,
        bounce_kind=report.bounce_kind if report and report.kind == "bounce" else None,
        diagnostic=diagnostic[:1000] if diagnostic else None,
        received_at=now,
    )


def _act(session: Session, stored: InboundMessage, mail: InboundMail, match: Match, now: datetime) -> None:
    kind = stored.kind
    if kind == "reply" and match.contact is not None:
        _on_reply(session, stored, mail, match, now)
    elif kind == "bounce" and (match.contact is not None or match.message is not None):
        _on_bounce(session, stored, match, now)
    elif kind == "complaint" and (match.contact is not None or match.message is not None):
        _on_complaint(session, stored, match, now)


def written_at(mail: InboundMail, now: datetime) -> datetime:
    """When the message was written: its Date, unless missing or ahead of ``now`` beyond skew."""
    moment = mail.written_at
    if moment is None or (moment - now).total_seconds() > DATE_TOLERANCE_SECONDS:
        return now
    return min(moment, now)


def _on_reply(
    session: Session, stored: InboundMessage, mail: InboundMail, match: Match, now: datetime
) -> None:
    assert match.contact is not None
    contact = match.contact
    at = written_at(mail, now)
    subject = match.message.subject if match.message else mail.subject
    _event(session, stored, contact, "email_replied", at, _message_properties(session, match, subject))
    stop_enrollments(session, contact.workspace_id, contact.id, "replied", now)
    mark_hot(session, contact, at, reply_reason(subject), now)


def _on_bounce(session: Session, stored: InboundMessage, match: Match, now: datetime) -> None:
    hard = stored.bounce_kind == "hard"
    if hard and match.address:
        _suppress(session, stored, match, "hard_bounce")
    if match.contact is None:
        return
    properties = _message_properties(session, match, match.message.subject if match.message else None)
    properties.update(kind=stored.bounce_kind or "soft")
    if stored.diagnostic:
        properties["diagnostic"] = stored.diagnostic
    _event(session, stored, match.contact, "email_bounced", now, properties)
    if hard:
        stop_enrollments(session, stored.workspace_id, match.contact.id, "bounced", now)


def _on_complaint(session: Session, stored: InboundMessage, match: Match, now: datetime) -> None:
    if match.address:
        _suppress(session, stored, match, "complaint")
    if match.contact is None:
        return
    subject = match.message.subject if match.message else None
    properties = _message_properties(session, match, subject)
    _event(session, stored, match.contact, "email_unsubscribed", now, properties)
    stop_enrollments(session, stored.workspace_id, match.contact.id, "unsubscribed", now)


def _suppress(session: Session, stored: InboundMessage, match: Match, reason: str) -> None:
    assert match.address is not None
    note = f"{stored.kind}: {stored.diagnostic}" if stored.diagnostic else stored.kind
    try:
        suppress(
            session,
            stored.workspace_id,
            match.address,
            reason,
            message_id=match.message.id if match.message else None,
            note=note[:500],
        )
    except InvalidInput:  # an address the suppression list refuses cannot be mailed anyway
        return


def _message_properties(session: Session, match: Match, subject: str | None) -> dict[str, Any]:
    """The email event properties that say which of our messages this was about."""
    sent = match.message
    properties: dict[str, Any] = {"subject": subject[:500]} if subject else {}
    if sent is None:
        return properties
    properties["message"] = sent.message_id[:200]
    if sent.variant_key:
        properties["variant"] = sent.variant_key
    if sent.template_id is not None:
        template = session.scalar(select(EmailTemplate.slug).where(EmailTemplate.id == sent.template_id))
        if template:
            properties["template"] = template
    if sent.broadcast_id is not None:
        broadcast = session.scalar(select(Broadcast.name).where(Broadcast.id == sent.broadcast_id))
        if broadcast:
            properties["broadcast"] = broadcast[:200]
    if sent.enrollment_id is not None:
        slug = session.scalar(
            select(Sequence.slug)
            .join(Enrollment, Enrollment.sequence_id == Sequence.id)
            .where(Enrollment.id == sent.enrollment_id)
        )
        if slug:
            properties["sequence"] = slug
    return properties


def _event(
    session: Session,
    stored: InboundMessage,
    contact: Contact,
    event_type: str,
    at: datetime,
    properties: dict[str, Any],
) -> None:
    event = Event(
        workspace_id=stored.workspace_id,
        contact_id=contact.id,
        type=event_type,
        occurred_at=at,
        received_at=stored.received_at,
        properties=validate_properties(event_type, properties),
        source="outreach",
        idempotency_key=f"inbound:{stored.id}:{event_type}",
    )
    session.add(event)
    score_new_events(session, stored.workspace_id, [event])
