"""Running sequences: the worker takes the due enrollments of active sequences and runs their
steps, each exactly once.

An enrollment is due when its ``next_at`` has come. The runner claims a batch of due enrollments
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so several workers share them; one worker on SQLite)
and, in one transaction per batch, runs each one's steps from ``position`` for as long as they
are due:

- **email**: inside the sending window (see :mod:`leadwell.outreach.window`), the message is
  queued in the outbox with the key ``step:<enrollment>:<position>``; outside it, the enrollment
  waits for the window's next opening (so nothing waits in the outbox over a weekend, and pausing
  or a reply in the meantime holds it back). A message that cannot be sent (the address is
  suppressed, invalid or missing) stops the enrollment with the reason ``suppressed``.
- **wait N**: the next step is due N business days later, moved into the window.
- **task**: the contact is put in the call queue now with the step's note as the reason, and a
  ``call_task`` event is written.
- after the last step, once its messages have left the outbox, the enrollment is ``completed``
  with a ``sequence_finished`` event.

The claim and the outbox's idempotency key make a crash or a second worker harmless: a batch is
committed whole or not at all, and running a step again finds its message already queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, Enrollment, Event, OutboxMessage, Sequence, SequenceStep
from leadwell.db.session import Database
from leadwell.db.types import utcnow
from leadwell.errors import LeadwellError
from leadwell.events.types import validate_properties
from leadwell.experiments.email_variants import step_template_id
from leadwell.outreach.outbox import queue_message
from leadwell.outreach.sequences import calendar_of, steps_of
from leadwell.outreach.signing import Signing, signing_for
from leadwell.outreach.stops import stop_enrollments
from leadwell.outreach.window import after_business_days, in_window, next_open
from leadwell.scoring.engine import score_new_events
from leadwell.scoring.rows import engagement_of, queue_state_for

log = logging.getLogger(__name__)

DEFAULT_LIMIT = 200
# A finished enrollment whose last messages are still in the outbox looks again this much later.
RECHECK = timedelta(minutes=15)
# A step that failed on something a person must fix (a template broken since) is tried again later.
RETRY = timedelta(hours=1)
PENDING_STATES = ("queued", "claimed", "releasing")


@dataclass
class _Batch:
    """One claimed batch: the moment, the signing, and the sequences, steps and contacts it reads
    (each loaded once)."""

    session: Session
    now: datetime
    signing: Signing
    sequences: dict[int, Sequence] = field(default_factory=dict)
    steps: dict[int, list[SequenceStep]] = field(default_factory=dict)
    contacts: dict[int, Contact] = field(default_factory=dict)

    def sequence(self, sequence_id: int) -> Sequence:
        if sequence_id not in self.sequences:
            found = self.session.get(Sequence, sequence_id)
            assert found is not None  # enrollments go with their sequence
            self.sequences[sequence_id] = found
            self.steps[sequence_id] = steps_of(self.session, sequence_id)
        return self.sequences[sequence_id]


def _claim(session: Session, now: datetime, limit: int) -> list[Enrollment]:
    """Due enrollments of active sequences, the longest due first; locked (skipping rows another
    worker holds) on PostgreSQL."""
    query = (
        select(Enrollment)
        .join(Sequence, Sequence.id == Enrollment.sequence_id)
        .where(Enrollment.status == "active", Enrollment.next_at <= now, Sequence.status == "active")
        .order_by(Enrollment.next_at, Enrollment.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Enrollment, skip_locked=True)
    return list(session.scalars(query))


def _stamp(enrollment: Enrollment) -> str:
    """The enrollment's round (its enrolment moment), which keeps event keys of rounds apart."""
    return str(int(enrollment.enrolled_at.timestamp() * 1_000_000))


def _event(batch: _Batch, enrollment: Enrollment, kind: str, key: str, **properties: object) -> None:
    sequence = batch.sequence(enrollment.sequence_id)
    event = Event(
        workspace_id=enrollment.workspace_id,
        contact_id=enrollment.contact_id,
        type=kind,
        occurred_at=batch.now,
        received_at=batch.now,
        properties=validate_properties(kind, {"sequence": sequence.slug, **properties}),
        source="outreach",
        idempotency_key=key,
    )
    batch.session.add(event)
    score_new_events(batch.session, enrollment.workspace_id, [event])


def _stop(batch: _Batch, enrollment: Enrollment, reason: str) -> None:
    ids = (enrollment.workspace_id, enrollment.contact_id)
    stop_enrollments(batch.session, *ids, reason, batch.now, sequence_id=enrollment.sequence_id)


def _email(batch: _Batch, enrollment: Enrollment, step: SequenceStep) -> None:
    sequence, contact = batch.sequence(enrollment.sequence_id), batch.contacts[enrollment.contact_id]
    calendar = calendar_of(sequence, contact.timezone)
    if not in_window(calendar, batch.now):
        enrollment.next_at = next_open(calendar, batch.now)
        return
    queued = queue_message(
        batch.session,
        workspace_id=enrollment.workspace_id,
        contact_id=enrollment.contact_id,
        template_id=step_template_id(batch.session, enrollment, step, batch.now),
        idempotency_key=f"step:{enrollment.id}:{enrollment.position}",
        mailbox_id=sequence.mailbox_id,
        due_at=batch.now,
        enrollment_id=enrollment.id,
        step_position=enrollment.position,
        public_url=batch.signing.public_url,
        signer=batch.signing.signer,
    )
    if queued.skipped is not None:
        log.info("enrollment %s stopped: %s", enrollment.id, queued.skipped)
        _stop(batch, enrollment, "suppressed")
        return
    enrollment.position += 1
    enrollment.next_at = batch.now


def _wait(batch: _Batch, enrollment: Enrollment, step: SequenceStep) -> None:
    sequence, contact = batch.sequence(enrollment.sequence_id), batch.contacts[enrollment.contact_id]
    calendar = calendar_of(sequence, contact.timezone)
    enrollment.position += 1
    enrollment.next_at = after_business_days(calendar, batch.now, step.wait_days)


def _task(batch: _Batch, enrollment: Enrollment, step: SequenceStep) -> None:
    """Into the call queue now, the note as the reason shown first. A nurture contact comes up as
    on a revisit date; one past the queue (opportunity, customer, disqualified) only gets the event."""
    sequence, contact = batch.sequence(enrollment.sequence_id), batch.contacts[enrollment.contact_id]
    state = queue_state_for(contact.stage)
    if state != "closed":
        engagement = engagement_of(batch.session, contact.workspace_id, contact.id, contact.stage)
        engagement.resurfaced_why = f"call task ({sequence.name}): {step.note}"[:2000]
        engagement.resurfaced_at = batch.now
        engagement.due_at = batch.now if state == "parked" else None
    key = f"call-task:{enrollment.id}:{enrollment.position}:{_stamp(enrollment)}"
    _event(batch, enrollment, "call_task", key, note=step.note[:2000])
    enrollment.position += 1
    enrollment.next_at = batch.now


def _finish(batch: _Batch, enrollment: Enrollment) -> None:
    """Completed once the last messages left the outbox (until then a reply can still stop them)."""
    pending = select(OutboxMessage.id).where(
        OutboxMessage.enrollment_id == enrollment.id, OutboxMessage.state.in_(PENDING_STATES)
    )
    if batch.session.scalar(pending.limit(1)) is not None:
        enrollment.next_at = batch.now + RECHECK
        return
    enrollment.status, enrollment.finished_at, enrollment.next_at = "completed", batch.now, None
    key = f"sequence-finished:{enrollment.id}:{_stamp(enrollment)}"
    _event(batch, enrollment, "sequence_finished", key, reason="completed")


STEP_RUNNERS: dict[str, Callable[[_Batch, Enrollment, SequenceStep], None]] = {
    "email": _email,
    "wait": _wait,
    "task": _task,
}


def _advance(batch: _Batch, enrollment: Enrollment) -> None:
    """Run the enrollment's steps for as long as they are due."""
    steps = batch.steps[batch.sequence(enrollment.sequence_id).id]
    for _ in range(len(steps) + 2):
        if enrollment.status != "active" or enrollment.next_at is None or enrollment.next_at > batch.now:
            return
        if batch.contacts[enrollment.contact_id].merged_into_id is not None:
            _stop(batch, enrollment, "merged")
            return
        if enrollment.position >= len(steps):
            _finish(batch, enrollment)
            return
        step = steps[enrollment.position]
        STEP_RUNNERS[step.kind](batch, enrollment, step)


def _advance_safely(batch: _Batch, enrollment: Enrollment) -> None:
    """One enrollment in a savepoint: a step refused for a reason a person must fix (a template
    broken since it was checked) is logged and tried again later; the rest of the batch goes on."""
    session = batch.session
    try:
        with session.begin_nested():
            _advance(batch, enrollment)
    except LeadwellError as error:
        log.warning(
            "enrollment %s: step %s refused, retrying later: %s", enrollment.id, enrollment.position, error
        )
        session.execute(
            update(Enrollment).where(Enrollment.id == enrollment.id).values(next_at=batch.now + RETRY)
        )
        session.expire(enrollment)


def advance_due(
    db: Database, now: datetime | None = None, limit: int = DEFAULT_LIMIT, signing: Signing | None = None
) -> int:
    """Run the due steps of up to ``limit`` enrollments of active sequences in one transaction;
    returns how many enrollments were handled."""
    signing = signing or signing_for(db)
    with db.session() as session:
        batch = _Batch(session, now or utcnow(), signing)
        claimed = _claim(session, batch.now, limit)
        if not claimed:
            return 0
        contact_ids = sorted({enrollment.contact_id for enrollment in claimed})
        batch.contacts = {
            c.id: c for c in session.scalars(select(Contact).where(Contact.id.in_(contact_ids)))
        }
        for enrollment in claimed:
            _advance_safely(batch, enrollment)
        return len(claimed)
