"""The outbox: every email is a row, queued once per idempotency key and sent at most once.

**Queueing** (:func:`queue_message`) renders the template for the contact right away — merge
fields, the signed unsubscribe link, click tracking and the open pixel — and stores one row per
``(workspace, idempotency_key)``: queueing the same key again returns the first row. A contact
without an address, an address that does not check out, a suppressed address or an opted-out
contact is *skipped*: the row is stored in state ``suppressed`` for the record and never sent.

**Sending** (:func:`send_due`): a worker claims due rows (:mod:`.outbox_claims`), then for each one
(:mod:`.outbox_delivery`, :mod:`.smtp`):

1. MAIL FROM, RCPT TO, DATA, and the whole message *except* the final ``CRLF.CRLF``;
2. commit ``state = 'releasing'`` — only if the row is still ``claimed`` by this worker, its address
   is not suppressed and its enrollment was not stopped; otherwise drop the connection;
3. send ``CRLF.CRLF`` and read the answer; on 250 commit ``sent`` with the answer and the
   ``email_sent`` event in one transaction.

Why this sends each message exactly once, whatever moment a worker dies at:

- *Before step 2 committed*: the row is ``claimed``, and the SMTP server never saw the end of the
  data. A server acts on a message only once the terminator has arrived; a connection that closes
  before it (the process killed, the kernel closing its socket) leaves nothing. The row goes back
  to ``queued`` and is sent again, once.
- *After step 2 committed*: the row is ``releasing``. It is never sent again: recovery marks it
  ``sent`` ("assumed delivered after worker stop"). The only gap is between that commit and the
  one socket write of the terminator: a worker killed exactly there loses that one message rather
  than sending it twice. (A commit whose outcome the database never confirmed lands in the same
  gap.)
- A worker that lost its lease while alive (its database connection dropped, and another worker
  took its rows back) finds its row no longer ``claimed`` by it at step 2, and drops the
  connection instead of releasing: no duplicate either way.

Transient failures (4xx, connection errors, time-outs) put the row back in the queue after 1, 5, 30
minutes, 2 and 6 hours; the sixth failed attempt makes it ``failed``. A 5xx is final: ``failed``
with the server's answer; refused at RCPT (or 5.1.x at the end of the data), it is a hard bounce:
the address is suppressed, ``email_bounced`` is written and the contact's sequences stop.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from leadwell.capture.reader_pages import delivery_url
from leadwell.capture.tokens import TokenSigner
from leadwell.config import Settings
from leadwell.db.models import (
    Asset,
    Contact,
    EmailTemplate,
    Enrollment,
    Form,
    Mailbox,
    OutboxMessage,
    Sequence,
    TemplateVariant,
)
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, NotFound
from leadwell.experiments.email_variants import template_variant_key
from leadwell.outreach import outbox_claims as claims
from leadwell.outreach import outbox_delivery as delivery
from leadwell.outreach.addresses import checked_address, domain_of, normalize_address
from leadwell.outreach.compose import one_line
from leadwell.outreach.links import LinkMaker, track
from leadwell.outreach.mailboxes import default_mailbox, mailbox_by_id
from leadwell.outreach.render import choose_variant, merge_context, render_variant
from leadwell.outreach.signing import signing_for
from leadwell.outreach.suppressions import suppression_of

MAX_SUBJECT = 500


@dataclass(frozen=True)
class Queued:
    """What :func:`queue_message` did: the row (None when skipped), whether this call stored it,
    and why it was skipped ("suppressed: unsubscribed", "invalid address: …", "no email")."""

    message: OutboxMessage | None
    created: bool
    skipped: str | None


def new_message_id(sender_domain: str) -> str:
    """A fresh Message-ID (without brackets): 24 random hex digits at the sender's domain."""
    return f"{secrets.token_hex(12)}@{sender_domain}"


def _existing(session: Session, workspace_id: int, key: str) -> OutboxMessage | None:
    return session.scalar(
        select(OutboxMessage).where(
            OutboxMessage.workspace_id == workspace_id, OutboxMessage.idempotency_key == key
        )
    )


def _as_queued(row: OutboxMessage, created: bool) -> Queued:
    if row.state == "suppressed":
        return Queued(None, created, row.last_error or "suppressed")
    return Queued(row, created, None)


def _mailbox(session: Session, workspace_id: int, mailbox_id: int | None) -> Mailbox:
    if mailbox_id is not None:
        return mailbox_by_id(session, workspace_id, mailbox_id)
    mailbox = default_mailbox(session, workspace_id)
    if mailbox is None:
        raise InvalidInput(
            "mailbox: the workspace has no sending mailbox yet; add one first", field="mailbox"
        )
    return mailbox


def _template(session: Session, workspace_id: int, template_id: int) -> EmailTemplate:
    template = session.get(EmailTemplate, template_id)
    if template is None or template.workspace_id != workspace_id:
        raise NotFound("template: no such template in this workspace", field="template")
    return template


def _variant(session: Session, template_id: int, variant_key: str | None, seed: str) -> TemplateVariant:
    if variant_key is None:
        return choose_variant(session, template_id, seed)
    variant = session.scalar(
        select(TemplateVariant).where(
            TemplateVariant.template_id == template_id, TemplateVariant.key == variant_key
        )
    )
    if variant is None:
        raise InvalidInput(f"variant_key: the template has no variant {variant_key!r}", field="variant_key")
    return variant


def skip_reason(session: Session, workspace_id: int, contact: Contact) -> tuple[str | None, str]:
    """Why the contact cannot be mailed (None: they can), and their address as best known."""
    raw = (contact.email or "").strip()
    if not raw:
        return "no email", ""
    try:
        address = checked_address(raw, "email")
    except InvalidInput as error:
        return f"invalid address: {error.detail.removeprefix('email: ')}"[:500], normalize_address(raw)[:320]
    reason = suppression_of(session, workspace_id, address)
    if reason is not None:
        return f"suppressed: {reason}", address
    if contact.consent == "opted_out":
        return "suppressed: opted out", address
    return None, address


def _store(session: Session, row: OutboxMessage) -> tuple[OutboxMessage, bool]:
    """Insert ``row``; when a concurrent insert took its key first, that row instead."""
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        existing = _existing(session, row.workspace_id, row.idempotency_key)
        if existing is None:
            raise
        return existing, False
    return row, True


def queue_message(
    session: Session,
    *,
    workspace_id: int,
    contact_id: int,
    template_id: int,
    idempotency_key: str,
    mailbox_id: int | None = None,
    due_at: datetime | None = None,
    enrollment_id: int | None = None,
    step_position: int | None = None,
    broadcast_id: int | None = None,
    variant_key: str | None = None,
    public_url: str,
    signer: TokenSigner,
) -> Queued:
    """Render ``template_id`` for the contact and store it in the outbox, once per idempotency key.

    Raises ``TemplateInvalid`` for a template that does not render, :class:`NotFound` for an
    unknown contact, template or mailbox. Skipped contacts (see :class:`Queued`) get a
    ``suppressed`` row, never sent.
    """
    if not 1 <= len(idempotency_key) <= 200:
        raise InvalidInput("idempotency_key: 1 to 200 characters", field="idempotency_key")
    existing = _existing(session, workspace_id, idempotency_key)
    if existing is not None:
        return _as_queued(existing, False)
    contact = session.get(Contact, contact_id)
    if contact is None or contact.workspace_id != workspace_id:
        raise NotFound("contact: no such contact in this workspace", field="contact")
    template = _template(session, workspace_id, template_id)
    mailbox = _mailbox(session, workspace_id, mailbox_id)
    message_id = new_message_id(domain_of(mailbox.from_email))
    row = OutboxMessage(
        workspace_id=workspace_id,
        contact_id=contact.id,
        mailbox_id=mailbox.id,
        template_id=template.id,
        enrollment_id=enrollment_id,
        step_position=step_position,
        broadcast_id=broadcast_id,
        idempotency_key=idempotency_key,
        message_id=message_id,
        to_name=one_line(f"{contact.first_name} {contact.last_name}")[:200],
        due_at=due_at or utcnow(),
    )
    skipped, address = skip_reason(session, workspace_id, contact)
    row.to_email, row.recipient_domain = address, domain_of(address)[:255]
    if skipped is not None:
        row.state, row.last_error, row.subject = "suppressed", skipped, ""
    else:
        _render_into(session, row, contact, mailbox, variant_key, LinkMaker(signer, public_url))
    stored, created = _store(session, row)
    return _as_queued(stored, created)


def _render_into(
    session: Session,
    row: OutboxMessage,
    contact: Contact,
    mailbox: Mailbox,
    variant_key: str | None,
    links: LinkMaker,
) -> None:
    """Render the template's variant for the contact into ``row``, links tracked."""
    assert row.template_id is not None and row.contact_id is not None
    if variant_key is None:  # an experiment on the template decides, when one runs
        variant_key = template_variant_key(session, row.workspace_id, row.template_id, contact.id, row.due_at)
    variant = _variant(session, row.template_id, variant_key, str(contact.id))
    message_links = links.for_message(row.workspace_id, row.contact_id, row.message_id)
    extra = {"unsubscribe_url": message_links.unsubscribe_url(), **_magnet_links(session, row, links)}
    context = merge_context(session, row.workspace_id, contact, mailbox, extra)
    rendered = render_variant(variant, context)
    row.variant_key = variant.key
    row.subject = one_line(rendered.subject)[:MAX_SUBJECT]
    row.html, row.text = track(rendered.html, rendered.text, message_links)


def _magnet_links(session: Session, row: OutboxMessage, links: LinkMaker) -> dict[str, str]:
    """``magnet_title`` and ``magnet_url`` (the contact's personal delivery link) when the message
    belongs to a sequence tied to a lead magnet: its trigger magnet, else its trigger form's."""
    if row.enrollment_id is None or row.contact_id is None:
        return {}
    sequence = session.scalar(
        select(Sequence)
        .join(Enrollment, Enrollment.sequence_id == Sequence.id)
        .where(Enrollment.id == row.enrollment_id)
    )
    if sequence is None:
        return {}
    asset_id = sequence.trigger_asset_id
    if asset_id is None and sequence.trigger_form_id is not None:
        asset_id = session.scalar(select(Form.asset_id).where(Form.id == sequence.trigger_form_id))
    asset = session.get(Asset, asset_id) if asset_id is not None else None
    if asset is None or asset.workspace_id != row.workspace_id:
        return {}
    url = delivery_url(links.signer, links.public_url, row.workspace_id, row.contact_id, asset.id)
    return {"magnet_title": asset.title, "magnet_url": url}


def queue_test_message(
    session: Session, workspace_id: int, mailbox_id: int, to_email: str, sent_by: str
) -> OutboxMessage:
    """Queue a short test message from a mailbox to ``to_email`` (no contact, no tracking)."""
    mailbox = mailbox_by_id(session, workspace_id, mailbox_id)
    address = checked_address(to_email, "to")
    now = utcnow()
    text = (
        f"This is a test message from the mailbox {mailbox.slug} ({mailbox.from_email}), sent by "
        f"{sent_by} at {now:%Y-%m-%d %H:%M} UTC.\n\nIf you can read this, sending works.\n"
    )
    row = OutboxMessage(
        workspace_id=workspace_id,
        mailbox_id=mailbox.id,
        idempotency_key=f"test:{mailbox.id}:{secrets.token_hex(8)}",
        message_id=new_message_id(domain_of(mailbox.from_email)),
        to_email=address,
        recipient_domain=domain_of(address),
        subject=f"Test message from {mailbox.slug}",
        text=text,
        due_at=now,
    )
    session.add(row)
    session.flush()
    return row


def default_links(db: Database, settings: Settings | None = None) -> LinkMaker:
    """The installation's link maker: its secret (configured, else the stored one) and public URL."""
    signing = signing_for(db, settings)
    return LinkMaker(signing.signer, signing.public_url)


def send_due(
    db: Database, worker: str, limit: int = 50, now: datetime | None = None, *, links: LinkMaker | None = None
) -> int:
    """Claim and send up to ``limit`` due messages as ``worker``; how many it handled (sent,
    failed, retried, or set aside because suppressed or stopped since they were queued).

    ``worker`` must be unique to the calling process (see :func:`leadwell.worker.worker_name`);
    ``now`` fixes the clock (tests); ``links`` defaults to the installation's settings.
    """
    lease = claims.lease(db, worker)
    if lease is None:
        return 0
    clock: delivery.Clock = utcnow if now is None else (lambda: now)
    handled = claims.recover(db, lease, delivery.settle_orphans, clock())
    maker: LinkMaker | None = links
    for mailbox in claims.mailboxes_with_work(db, clock()):
        if handled >= limit:
            break
        lease.unfinished = True
        with db.session() as session:
            ids, set_aside = claims.claim(session, mailbox, worker, limit - handled, clock())
        handled += set_aside
        if ids:
            maker = maker or default_links(db)
            handled += delivery.deliver(db, mailbox, ids, worker, maker, clock)
        lease.unfinished = False
    return handled


def send_one(db: Database, worker: str, message_id: int, *, links: LinkMaker | None = None) -> OutboxMessage:
    """Send one queued message now, whatever its mailbox's limits (test messages from the command
    line); the row as it ended up."""
    lease = claims.lease(db, worker)
    if lease is None:
        raise Conflict("worker: this worker name is in use by another process", field="worker")
    with db.session() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            raise NotFound("message: no such message", field="message")
        mailbox = session.get(Mailbox, row.mailbox_id)
        claimed = claims.claim_one(session, message_id, worker, utcnow())
    if claimed and mailbox is not None:
        delivery.deliver(db, mailbox, [message_id], worker, links or default_links(db), utcnow)
    with db.session() as session:
        final = session.get(OutboxMessage, message_id)
        assert final is not None
        return final


def stop_worker(db: Database, worker: str) -> None:
    """The worker is stopping: give up its lease (its name's lock and connection)."""
    claims.release(db, worker)


def cancel_message(session: Session, workspace_id: int, message_id: int) -> OutboxMessage:
    """Cancel a queued message (it is never sent); :class:`Conflict` once a worker has it."""
    row = _row(session, workspace_id, message_id)
    if row.state != "queued":
        raise Conflict(f"message: it is {row.state}; only a queued message can be cancelled", field="message")
    row.state, row.last_error = "cancelled", "cancelled by hand"
    return row


def retry_message(
    session: Session, workspace_id: int, message_id: int, now: datetime | None = None
) -> OutboxMessage:
    """Queue a failed message again, due now, with a fresh set of attempts."""
    row = _row(session, workspace_id, message_id)
    if row.state != "failed":
        raise Conflict(f"message: it is {row.state}; only a failed message can be retried", field="message")
    reason = suppression_of(session, workspace_id, row.to_email)
    if reason is not None:
        raise Conflict(f"message: the address is suppressed ({reason})", field="message")
    row.state, row.attempts, row.due_at, row.claimed_by = "queued", 0, now or utcnow(), None
    return row


def _row(session: Session, workspace_id: int, message_id: int) -> OutboxMessage:
    row = session.get(OutboxMessage, message_id, with_for_update=True)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("message: no such message in this workspace", field="message")
    return row
