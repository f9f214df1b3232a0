"""Sending claimed messages, and every state a message moves to afterwards.

Each move is one guarded UPDATE (``WHERE state = <expected> AND claimed_by = <this worker>``) in
its own transaction: a worker whose row was taken back meanwhile changes nothing. See
:mod:`leadwell.outreach.outbox` for the protocol and why it sends each message at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Broadcast,
    EmailTemplate,
    Enrollment,
    Event,
    Mailbox,
    OutboxMessage,
    Sequence,
    Suppression,
)
from leadwell.db.session import Database
from leadwell.events.types import validate_properties
from leadwell.experiments.email_variants import expose_sent
from leadwell.outreach.compose import Envelope, compose
from leadwell.outreach.links import LinkMaker
from leadwell.outreach.smtp import ServerSettings, SmtpFailure, SmtpSession, Unanswered, Withheld
from leadwell.outreach.stops import stop_enrollments
from leadwell.outreach.suppressions import suppress
from leadwell.scoring.engine import score_new_events

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6
# Waits before attempt 2, 3, 4, 5 and 6 after a transient failure.
BACKOFF = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=6),
)
ASSUMED_DELIVERED = "assumed delivered after worker stop"
STOPPED = "sequence stopped before sending"
NO_ANSWER = "no answer to the end of the data; assumed delivered"
Clock = Callable[[], datetime]
T = TypeVar("T")


def _move(session: Session, message_id: int, worker: str | None, from_state: str, **values: Any) -> bool:
    """Move one row on from ``from_state`` if this worker still holds it; whether it moved."""
    query = update(OutboxMessage).where(OutboxMessage.id == message_id, OutboxMessage.state == from_state)
    if worker is not None:
        query = query.where(OutboxMessage.claimed_by == worker)
    result = cast(CursorResult[Any], session.execute(query.values(**values)))
    return result.rowcount == 1


def _named(template: str | None, sequence: str | None, broadcast: str | None) -> dict[str, Any]:
    given = {"template": template, "sequence": sequence, "broadcast": broadcast[:200] if broadcast else None}
    return {key: value for key, value in given.items() if value is not None}


def email_properties(
    session: Session, row: OutboxMessage, names: dict[str, Any] | None = None
) -> dict[str, Any]:
    """``message``, ``subject``, ``template``, ``variant``, ``sequence`` and ``broadcast`` of a row,
    as email events carry them (``names``: the template, sequence and broadcast, when known)."""
    if names is None:
        names = _names(session, [row.id]).get(row.id, {})
    given = {"message": row.message_id, "subject": row.subject, "variant": row.variant_key, **names}
    return {key: value for key, value in given.items() if value is not None}


def _event(
    session: Session,
    row: OutboxMessage,
    type_: str,
    now: datetime,
    names: dict[str, Any] | None = None,
    **extra: Any,
) -> None:
    if row.contact_id is None:  # a test message, or its contact was deleted
        return
    properties = validate_properties(type_, {**email_properties(session, row, names), **extra})
    event = Event(
        workspace_id=row.workspace_id,
        contact_id=row.contact_id,
        type=type_,
        occurred_at=now,
        properties=properties,
        source="outreach",
        idempotency_key=f"{type_.replace('_', '-')}:{row.id}",
    )
    session.add(event)
    score_new_events(session, row.workspace_id, [event])


def record_sent(session: Session, row: OutboxMessage, reply: str, now: datetime) -> None:
    """The row is sent: its answer and time, and the ``email_sent`` event (state already moved)."""
    row.state, row.sent_at, row.smtp_response, row.last_error = "sent", now, reply[:500], None
    session.flush()
    _event(session, row, "email_sent", now)
    expose_sent(session, row, now)


def settle_orphans(session: Session, worker: str | None, now: datetime) -> int:
    """Take back the rows a stopped worker left (``worker`` None: any worker's): ``claimed`` ones
    are queued again (its last attempt counts), ``releasing`` ones were handed over and are sent.
    Returns how many were settled for good (sent, or failed after too many attempts)."""
    query = select(OutboxMessage).where(OutboxMessage.state.in_(("claimed", "releasing")))
    if worker is not None:
        query = query.where(OutboxMessage.claimed_by == worker)
    settled = 0
    for row in session.scalars(query.with_for_update()):
        if row.state == "releasing":
            record_sent(session, row, ASSUMED_DELIVERED, now)
        elif row.attempts >= MAX_ATTEMPTS:
            row.state, row.last_error = "failed", "the worker stopped while sending it, too many times"
        else:
            row.state, row.claimed_by, row.claimed_at = "queued", None, None
            continue  # counted when it is sent
        settled += 1
    return settled


def _still_wanted() -> Any:
    """SQL: the row's address is not suppressed and its enrollment (if any) was not stopped."""
    suppressed = (
        select(Suppression.id)
        .where(
            Suppression.workspace_id == OutboxMessage.workspace_id,
            Suppression.email == OutboxMessage.to_email,
        )
        .exists()
    )
    stopped = (
        select(Enrollment.id)
        .where(Enrollment.id == OutboxMessage.enrollment_id, Enrollment.status == "stopped")
        .exists()
    )
    return ~suppressed & ~stopped


def _committed(session: Session, work: Callable[[Session], T]) -> T:
    """Run ``work`` and commit; roll back and re-raise when it fails."""
    try:
        result = work(session)
        session.commit()
        return result
    except BaseException:
        session.rollback()
        raise


def _is_bounce(failure: SmtpFailure) -> bool:
    # A 5xx to RCPT names the recipient; some servers only say so at the end of the data, with an
    # enhanced status 5.1.x (bad destination mailbox) — the message has only one recipient.
    if not failure.permanent:
        return False
    return failure.stage == "rcpt" or (failure.stage == "end" and failure.detail[4:8].startswith("5.1."))


@dataclass
class Batch:
    """Claimed messages of one mailbox, sent over one SMTP connection and one database session
    (committed at every step of the protocol: a connection per batch, not per statement)."""

    db: Database
    mailbox: Mailbox
    worker: str
    links: LinkMaker
    clock: Clock

    def run(self, ids: list[int]) -> int:
        """Send ``ids``; how many were handled. When the server cannot be reached at all, every
        one of them is retried later."""
        smtp = SmtpSession(ServerSettings.of(self.mailbox))
        with self.db.sessions() as session:
            query = select(OutboxMessage).where(OutboxMessage.id.in_(ids)).order_by(OutboxMessage.id)
            rows = list(session.scalars(query))
            names = _names(session, ids)
            session.commit()
            try:
                for position, row in enumerate(rows):
                    unreachable = self._send(session, smtp, row, names.get(row.id, {}))
                    if unreachable is not None:  # the server is out of reach: the rest wait too
                        for later in rows[position + 1 :]:
                            _committed(
                                session, partial(self._retry, row=later, detail=unreachable, state="claimed")
                            )
                        break
            finally:
                smtp.close()
        return len(rows)

    def _send(
        self, session: Session, smtp: SmtpSession, row: OutboxMessage, names: dict[str, Any]
    ) -> str | None:
        """Send one message and record what happened; the error when the server cannot be reached."""
        try:
            envelope = self._envelope(row)
        except Exception as error:  # a message that cannot be built (a key edited in the database…)
            log.exception("outbox: message %s could not be composed", row.id)
            detail = f"could not compose the message: {error}"
            _committed(session, partial(self._retry, row=row, detail=detail, state="claimed"))
            return None
        try:
            reply = smtp.transmit(envelope, partial(self._release, session, row))
        except Withheld:
            _committed(session, partial(self._withheld, row=row))
            return None
        except Unanswered:
            reply = NO_ANSWER
        except SmtpFailure as failure:
            _committed(session, partial(self._failed, row=row, failure=failure, names=names))
            return failure.detail if failure.stage == "connect" else None
        _committed(session, partial(self._sent, row=row, reply=reply, names=names))
        return None

    def _envelope(self, row: OutboxMessage) -> Envelope:
        unsubscribe = (
            self.links.unsubscribe_url(row.workspace_id, row.contact_id, row.message_id)
            if row.contact_id
            else None
        )
        return compose(row, self.mailbox, unsubscribe, self.clock())

    def _release(self, session: Session, row: OutboxMessage) -> bool:
        """Commit ``releasing`` — after it the message is never sent again — if the row is still
        this worker's and still wanted. False (never an exception) means: do not release."""
        query = (
            update(OutboxMessage)
            .where(
                OutboxMessage.id == row.id,
                OutboxMessage.state == "claimed",
                OutboxMessage.claimed_by == self.worker,
                _still_wanted(),
            )
            .values(state="releasing")
            .execution_options(synchronize_session=False)
        )
        try:
            result = _committed(session, lambda s: cast(CursorResult[Any], s.execute(query)))
        except Exception:
            log.exception("outbox: could not mark message %s releasing; not sending it now", row.id)
            return False
        return result.rowcount == 1

    def _sent(self, session: Session, row: OutboxMessage, reply: str, names: dict[str, Any]) -> None:
        now = self.clock()
        values = {"state": "sent", "sent_at": now, "smtp_response": reply[:500], "last_error": None}
        if _move(session, row.id, self.worker, "releasing", **values):
            _event(session, row, "email_sent", now, names)
            expose_sent(session, row, now)

    def _withheld(self, session: Session, row: OutboxMessage) -> None:
        """Not released at the last moment: say why (suppressed, sequence stopped), or queue it
        again when it was only the database that failed."""
        reason = session.scalar(
            select(Suppression.reason).where(
                Suppression.workspace_id == row.workspace_id, Suppression.email == row.to_email
            )
        )
        enrollment = session.get(Enrollment, row.enrollment_id) if row.enrollment_id else None
        if reason is not None:
            _move(
                session,
                row.id,
                self.worker,
                "claimed",
                state="suppressed",
                last_error=f"suppressed: {reason}",
            )
        elif enrollment is not None and enrollment.status == "stopped":
            _move(session, row.id, self.worker, "claimed", state="cancelled", last_error=STOPPED)
        else:
            self._retry(session, row, "not released: the database was not reachable", "claimed")

    def _retry(self, session: Session, row: OutboxMessage, detail: str, state: str) -> None:
        """A transient failure: queued again after the backoff for its attempt, or failed after the last."""
        if row.attempts >= MAX_ATTEMPTS:
            _move(session, row.id, self.worker, state, state="failed", last_error=detail[:1000])
            return
        wait = BACKOFF[min(max(row.attempts, 1), len(BACKOFF)) - 1]
        values = {
            "state": "queued",
            "due_at": self.clock() + wait,
            "last_error": detail[:1000],
            "claimed_by": None,
        }
        _move(session, row.id, self.worker, state, **values)

    def _failed(
        self, session: Session, row: OutboxMessage, failure: SmtpFailure, names: dict[str, Any]
    ) -> None:
        state = "releasing" if failure.stage == "end" else "claimed"
        detail = failure.detail
        if _is_bounce(failure):
            self._bounce(session, row, detail, state, names)
        elif failure.permanent and failure.stage != "connect":
            # Refusals at connection time (a wrong password, a relay that refuses us) are the
            # mailbox's problem, not the message's: they are retried like any outage.
            _move(
                session,
                row.id,
                self.worker,
                state,
                state="failed",
                last_error=detail[:1000],
                smtp_response=detail[:500],
            )
        else:
            self._retry(session, row, detail, state)

    def _bounce(
        self, session: Session, row: OutboxMessage, detail: str, state: str, names: dict[str, Any]
    ) -> None:
        """Refused for good: failed, the address suppressed, ``email_bounced`` and the contact's
        sequences stopped (reason ``bounced``), in one transaction."""
        values = {"state": "failed", "last_error": detail[:1000], "smtp_response": detail[:500]}
        if not _move(session, row.id, self.worker, state, **values):
            return
        now = self.clock()
        suppress(session, row.workspace_id, row.to_email, "hard_bounce", message_id=row.id, note=detail)
        _event(session, row, "email_bounced", now, names, kind="hard", diagnostic=detail)
        if row.contact_id is not None:
            stop_enrollments(session, row.workspace_id, row.contact_id, "bounced", now)


def _names(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Each row's template slug, sequence slug and broadcast name, in one query."""
    found = session.execute(
        select(OutboxMessage.id, EmailTemplate.slug, Sequence.slug, Broadcast.name)
        .select_from(OutboxMessage)
        .outerjoin(EmailTemplate, EmailTemplate.id == OutboxMessage.template_id)
        .outerjoin(Enrollment, Enrollment.id == OutboxMessage.enrollment_id)
        .outerjoin(Sequence, Sequence.id == Enrollment.sequence_id)
        .outerjoin(Broadcast, Broadcast.id == OutboxMessage.broadcast_id)
        .where(OutboxMessage.id.in_(ids))
    ).all()
    return {row_id: _named(template, sequence, broadcast) for row_id, template, sequence, broadcast in found}


def deliver(
    db: Database, mailbox: Mailbox, ids: list[int], worker: str, links: LinkMaker, clock: Clock
) -> int:
    """Send the claimed messages ``ids`` of ``mailbox``; how many were handled."""
    return Batch(db, mailbox, worker, links, clock).run(ids)
