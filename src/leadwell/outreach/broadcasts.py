"""Broadcasts (newsletters): one template to a segment or a contact list, now or at a set time.

A broadcast is saved as a ``draft`` or ``scheduled`` (sending now is scheduling for now). When its
time comes the worker releases it (:func:`release_due_broadcasts`): status ``sending``, then one
outbox message per recipient (key ``broadcast:<id>:<contact>``) in chunks of :data:`CHUNK`, each
chunk its own transaction, so a list of 100,000 never holds one giant transaction and a worker that
stops half-way resumes where it was (recipients already queued are skipped by the SELECT, and the
key would refuse them anyway). The audience is read when the broadcast is released, in SQL: the
segment's contacts (or the list's members) without those merged away, without an address, opted
out, or suppressed. Once every recipient is queued the broadcast is ``sent``. Cancelling before
then stops it; messages queued but not yet sent are cancelled too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.orm import Session

from leadwell.capture.values import clean_text
from leadwell.db.models import (
    Broadcast,
    Contact,
    ContactList,
    EmailTemplate,
    ListMember,
    Mailbox,
    OutboxMessage,
    Segment,
    Suppression,
)
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import Conflict, InvalidInput, LeadwellError, NotFound
from leadwell.outreach.outbox import queue_message
from leadwell.outreach.segments import count_ids, segment_contact_ids
from leadwell.outreach.sequences import check_template_variants
from leadwell.outreach.signing import Signing, signing_for
from leadwell.outreach.window import zone_named

log = logging.getLogger(__name__)

CHUNK = 500
# A time up to this far in the past is taken as "now" (the form took a moment to fill in).
GRACE = timedelta(minutes=5)
MAX_AHEAD = timedelta(days=366)
RETRY = timedelta(hours=1)
STATUS_LABELS = {
    "draft": "Draft",
    "scheduled": "Scheduled",
    "sending": "Sending",
    "sent": "Sent",
    "cancelled": "Cancelled",
}
EDITABLE = ("draft", "scheduled")


@dataclass
class BroadcastInput:
    """A broadcast as the editor or the command line gives it: slugs, and the time where the user is."""

    name: str
    template: str
    segment: str = ""
    list: str = ""
    mailbox: str = ""
    send_at: str = ""  # "now", "" (a draft) or a local time like 2025-03-14T09:00
    timezone: str = "UTC"


def get_broadcast(session: Session, workspace_id: int, broadcast_id: int) -> Broadcast:
    """The workspace's broadcast with this id, else :class:`NotFound`."""
    found = session.get(Broadcast, broadcast_id)
    if found is None or found.workspace_id != workspace_id:
        raise NotFound("broadcast: no such broadcast in this workspace", field="broadcast")
    return found


def list_broadcasts(session: Session, workspace_id: int) -> list[Broadcast]:
    """The workspace's broadcasts, the latest scheduled (or created) first."""
    query = select(Broadcast).where(Broadcast.workspace_id == workspace_id)
    moment = func.coalesce(Broadcast.scheduled_at, Broadcast.created_at)
    return list(session.scalars(query.order_by(moment.desc(), Broadcast.id.desc())))


def scheduled_time(text: str, timezone: str, now: datetime) -> datetime | None:
    """When to send, in UTC: ``now`` for "now", None for a draft, else the local time given read
    in ``timezone``; a time in the past (beyond a few minutes) or more than a year ahead is refused."""
    text = text.strip()
    if not text:
        return None
    if text.lower() == "now":
        return now
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput("send_at: a date and time like 2025-03-14T09:00", field="send_at") from None
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone_named(timezone or "UTC"))
    moment = local.astimezone(UTC)
    if moment < now - GRACE:
        raise InvalidInput("send_at: that time has passed; choose a later one or send now", field="send_at")
    if moment > now + MAX_AHEAD:
        raise InvalidInput("send_at: at most a year ahead", field="send_at")
    return max(moment, now)


def _missing(field: str, what: str, slug: str) -> InvalidInput:
    return InvalidInput(f"{field}: no {what} {slug[:64]!r} in this workspace", field=field)


def _template_id(session: Session, workspace_id: int, slug: str) -> int:
    found = session.scalar(
        select(EmailTemplate.id).where(
            EmailTemplate.workspace_id == workspace_id,
            EmailTemplate.slug == slug,
            EmailTemplate.archived_at.is_(None),
        )
    )
    if found is None:
        raise _missing("template", "template", slug)
    return found


def _segment_id(session: Session, workspace_id: int, slug: str) -> int:
    found = session.scalar(
        select(Segment.id).where(Segment.workspace_id == workspace_id, Segment.slug == slug)
    )
    if found is None:
        raise _missing("segment", "segment", slug)
    return found


def _list_id(session: Session, workspace_id: int, slug: str) -> int:
    query = select(ContactList.id).where(ContactList.workspace_id == workspace_id, ContactList.slug == slug)
    found = session.scalar(query)
    if found is None:
        raise _missing("list", "list", slug)
    return found


def _mailbox_id(session: Session, workspace_id: int, slug: str) -> int:
    found = session.scalar(
        select(Mailbox.id).where(
            Mailbox.workspace_id == workspace_id, Mailbox.slug == slug, Mailbox.archived_at.is_(None)
        )
    )
    if found is None:
        raise _missing("mailbox", "mailbox", slug)
    return found


def _apply(
    session: Session, workspace_id: int, broadcast: Broadcast, data: BroadcastInput, now: datetime
) -> None:
    broadcast.name = clean_text(data.name, "name", 200, required=True)
    if not data.template.strip():
        raise InvalidInput("template: choose the template to send", field="template")
    broadcast.template_id = _template_id(session, workspace_id, data.template.strip())
    check_template_variants(session, workspace_id, broadcast.template_id, "template")
    if bool(data.segment.strip()) == bool(data.list.strip()):
        raise InvalidInput("segment: choose a segment or a list (one of them)", field="segment")
    broadcast.segment_id = broadcast.list_id = None
    if data.segment.strip():
        broadcast.segment_id = _segment_id(session, workspace_id, data.segment.strip())
    else:
        broadcast.list_id = _list_id(session, workspace_id, data.list.strip())
    if not data.mailbox.strip():
        raise InvalidInput("mailbox: choose the mailbox it is sent from", field="mailbox")
    broadcast.mailbox_id = _mailbox_id(session, workspace_id, data.mailbox.strip())
    broadcast.scheduled_at = scheduled_time(data.send_at, data.timezone, now)
    broadcast.status = "draft" if broadcast.scheduled_at is None else "scheduled"


def create_broadcast(
    session: Session, workspace_id: int, data: BroadcastInput, by_user_id: int | None, now: datetime
) -> Broadcast:
    """A new broadcast: a draft without a time, else scheduled (for now, or the time given)."""
    broadcast = Broadcast(workspace_id=workspace_id, created_by_id=by_user_id, created_at=now)
    _apply(session, workspace_id, broadcast, data, now)
    session.add(broadcast)
    session.flush()
    return broadcast


def update_broadcast(
    session: Session, workspace_id: int, broadcast_id: int, data: BroadcastInput, now: datetime
) -> Broadcast:
    """Change a draft or scheduled broadcast (its time included)."""
    broadcast = get_broadcast(session, workspace_id, broadcast_id)
    if broadcast.status not in EDITABLE:
        raise Conflict(
            f"broadcast: it is {broadcast.status}; only drafts and scheduled ones change", "broadcast"
        )
    _apply(session, workspace_id, broadcast, data, now)
    session.flush()
    return broadcast


def cancel_broadcast(session: Session, workspace_id: int, broadcast_id: int, now: datetime) -> int:
    """Cancel a broadcast that has not finished going out; returns how many queued messages were
    cancelled with it (messages already sent stay sent)."""
    broadcast = get_broadcast(session, workspace_id, broadcast_id)
    if broadcast.status not in (*EDITABLE, "sending"):
        raise Conflict(f"broadcast: it is {broadcast.status} already", field="broadcast")
    broadcast.status, broadcast.finished_at = "cancelled", now
    cancelled = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.broadcast_id == broadcast.id, OutboxMessage.state == "queued")
        .values(state="cancelled", last_error="broadcast cancelled")
        .execution_options(synchronize_session=False)
    )
    return int(cancelled.rowcount or 0)  # type: ignore[attr-defined]


def audience_ids(session: Session, workspace_id: int, broadcast: Broadcast, now: datetime) -> Select[int]:
    """The recipients as one SELECT: the segment's contacts or the list's members, less those merged
    away, without an address, opted out or suppressed."""
    if broadcast.segment_id is not None:
        segment = session.get(Segment, broadcast.segment_id)
        assert segment is not None
        source = segment_contact_ids(session, workspace_id, segment, now)
    else:
        source = select(ListMember.contact_id).where(ListMember.list_id == broadcast.list_id)
    suppressed = select(Suppression.id).where(
        Suppression.workspace_id == workspace_id, Suppression.email == func.lower(Contact.email)
    )
    return select(Contact.id).where(
        Contact.workspace_id == workspace_id,
        Contact.id.in_(source),
        Contact.merged_into_id.is_(None),
        Contact.email.is_not(None),
        Contact.consent != "opted_out",
        ~exists(suppressed),
    )


def audience_size(
    session: Session, workspace_id: int, broadcast: Broadcast, now: datetime | None = None
) -> int:
    """How many people the broadcast would go to now."""
    if broadcast.segment_id is None and broadcast.list_id is None:
        return 0
    return count_ids(session, audience_ids(session, workspace_id, broadcast, now or utcnow()))


def _lock_due(session: Session, now: datetime, broadcast_id: int | None = None) -> Broadcast | None:
    """One broadcast whose time has come (or that is part-way out), locked against other workers."""
    query = select(Broadcast).where(
        Broadcast.status.in_(("scheduled", "sending")), Broadcast.scheduled_at <= now
    )
    if broadcast_id is not None:
        query = query.where(Broadcast.id == broadcast_id)
    query = query.order_by(Broadcast.scheduled_at, Broadcast.id).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalar(query)


def _release_chunk(
    session: Session, broadcast: Broadcast, now: datetime, signing: Signing, after: int
) -> list[int]:
    """Queue the next :data:`CHUNK` recipients (by contact id, after ``after``) not queued yet;
    returns their ids."""
    workspace_id = broadcast.workspace_id
    queued_before = select(OutboxMessage.id).where(
        OutboxMessage.broadcast_id == broadcast.id, OutboxMessage.contact_id == Contact.id
    )
    recipients = audience_ids(session, workspace_id, broadcast, now).where(
        Contact.id > after, ~exists(queued_before)
    )
    chunk = list(session.scalars(recipients.order_by(Contact.id).limit(CHUNK)))
    for contact_id in chunk:
        queue_message(
            session,
            workspace_id=workspace_id,
            contact_id=contact_id,
            template_id=broadcast.template_id,
            idempotency_key=f"broadcast:{broadcast.id}:{contact_id}",
            mailbox_id=broadcast.mailbox_id,
            due_at=now,
            broadcast_id=broadcast.id,
            public_url=signing.public_url,
            signer=signing.signer,
        )
    return chunk


@dataclass
class _Release:
    """Where a release stands: the broadcast worked on and the last recipient queued for it."""

    broadcast_id: int | None = None
    after: int = 0


def _release_step(db: Database, now: datetime, signing: Signing, at: _Release) -> bool:
    """One chunk of one due broadcast in its own transaction; False when nothing was due."""
    with db.session() as session:
        broadcast = _lock_due(session, now, at.broadcast_id)
        if broadcast is None:
            return False
        if broadcast.id != at.broadcast_id:
            at.broadcast_id, at.after = broadcast.id, 0
        if broadcast.status == "scheduled":
            broadcast.status, broadcast.started_at = "sending", now
        if broadcast.segment_id is None and broadcast.list_id is None:
            log.warning("broadcast %s has no segment or list any more: cancelled", broadcast.id)
            broadcast.status, broadcast.finished_at = "cancelled", now
            return True
        chunk = _release_chunk(session, broadcast, now, signing, at.after)
        if len(chunk) < CHUNK:
            broadcast.status, broadcast.finished_at = "sent", now
        else:
            at.after = chunk[-1]
        return True


def _set_aside(db: Database, at: _Release, now: datetime, error: LeadwellError) -> None:
    """A newsletter whose messages cannot be queued (its mailbox was deleted, say) is tried again
    :data:`RETRY` later, so the others go on; what went wrong is logged."""
    log.warning("newsletter %s set aside for an hour: %s", at.broadcast_id, error.detail)
    with db.session() as session:
        session.execute(
            update(Broadcast).where(Broadcast.id == at.broadcast_id).values(scheduled_at=now + RETRY)
        )
    at.broadcast_id = None


def release_due_broadcasts(db: Database, now: datetime | None = None, signing: Signing | None = None) -> int:
    """Release every broadcast whose time has come, chunk by chunk (one transaction each); returns
    how many chunks were worked on."""
    moment, signing = now or utcnow(), signing or signing_for(db)
    at, chunks = _Release(), 0
    while True:
        try:
            released = _release_step(db, moment, signing, at)
        except LeadwellError as error:
            _set_aside(db, at, moment, error)
            continue
        if released:
            chunks += 1
        elif at.broadcast_id is not None:
            at.broadcast_id = None  # finished, cancelled or taken by another worker: the next one
        else:
            return chunks
