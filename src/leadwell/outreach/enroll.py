"""Enrolling contacts in a sequence: one by one, everyone in a segment, or whoever sends a form.

Enrolment is set-based: the candidates are classified in one SELECT (merged away, already
enrolled, opted out, without an address, suppressed, or enrolled), the new enrollments go in with
one INSERT … SELECT, and their ``sequence_enrolled`` events with another, whatever the number of
contacts. A contact is in a sequence once (the enrollment row is unique per sequence and
contact); one who finished it (completed or stopped) is enrolled again only when asked
explicitly (``again=True``), never by a trigger, and then starts from the first step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy import update as update_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from leadwell.db.models import (
    Contact,
    Enrollment,
    Event,
    Form,
    OutboxMessage,
    Segment,
    Sequence,
    SequenceStep,
    Suppression,
)
from leadwell.db.types import Json, UTCDateTime
from leadwell.errors import InvalidInput
from leadwell.outreach.segments import segment_contact_ids
from leadwell.scoring.engine import EventRow, apply_events
from leadwell.scoring.points import rules_by_type
from leadwell.scoring.store import current_settings

SKIP_REASONS = {
    "already": "already enrolled",
    "merged": "merged into another contact",
    "opted_out": "opted out",
    "no_email": "no email address",
    "suppressed": "suppressed address",
    "not_found": "not in this workspace",
}
# Contact ids given as a list are classified this many at a time (SQLite takes at most 32,766
# parameters in one statement).
CHUNK = 5_000
EVENT_SOURCE = "outreach"


@dataclass(frozen=True)
class EnrollResult:
    """What an enrolment did: new enrollments, finished ones started again, and why the others
    were left out (counts by reason, see :data:`SKIP_REASONS`)."""

    created: int
    restarted: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    enrollment_ids: tuple[int, ...] = ()

    @property
    def enrolled(self) -> int:
        """Contacts who start the sequence now."""
        return self.created + self.restarted

    def words(self) -> str:
        """ "12 enrolled (1 again); skipped: 3 already enrolled, 1 opted out"."""
        text = f"{self.enrolled:,} enrolled" + (f" ({self.restarted:,} again)" if self.restarted else "")
        parts = [f"{count:,} {SKIP_REASONS[reason]}" for reason, count in self.skipped.items() if count]
        return text + (f"; skipped: {', '.join(parts)}" if parts else "")

    def plus(self, other: EnrollResult) -> EnrollResult:
        """Both results together."""
        skipped = dict(self.skipped)
        for reason, count in other.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + count
        ids = self.enrollment_ids + other.enrollment_ids
        return EnrollResult(self.created + other.created, self.restarted + other.restarted, skipped, ids)


def _sequence(session: Session, workspace_id: int, sequence_id: int) -> Sequence:
    sequence = session.get(Sequence, sequence_id)
    if sequence is None or sequence.workspace_id != workspace_id:
        raise InvalidInput("sequence: no such sequence in this workspace", field="sequence")
    if sequence.status == "archived":
        raise InvalidInput(f"sequence: {sequence.slug!r} is archived; restore it first", field="sequence")
    return sequence


def _sends_email(session: Session, sequence_id: int) -> bool:
    query = select(SequenceStep.id).where(
        SequenceStep.sequence_id == sequence_id, SequenceStep.kind == "email"
    )
    return session.scalar(query.limit(1)) is not None


def _reason(workspace_id: int, sequence_id: int, again: bool, needs_email: bool) -> ColumnElement[str]:
    """Why a candidate contact is left out, or ``ok``; the first reason that applies."""
    enrolled = select(Enrollment.id).where(
        Enrollment.sequence_id == sequence_id, Enrollment.contact_id == Contact.id
    )
    if again:
        enrolled = enrolled.where(Enrollment.status == "active")
    suppressed = select(Suppression.id).where(
        Suppression.workspace_id == workspace_id, Suppression.email == func.lower(Contact.email)
    )
    no_email = Contact.email.is_(None) if needs_email else literal(False)
    return case(
        (Contact.merged_into_id.is_not(None), "merged"),
        (exists(enrolled), "already"),
        (Contact.consent == "opted_out", "opted_out"),
        (no_email, "no_email"),
        (exists(suppressed), "suppressed"),
        else_="ok",
    )


@dataclass(frozen=True)
class _Run:
    """One enrolment's fixed parts."""

    sequence: Sequence
    source: str
    by_user_id: int | None
    now: datetime
    again: bool
    needs_email: bool

    @property
    def stamp(self) -> str:
        """The enrolment's moment in microseconds: it tells rounds of one enrollment apart."""
        return str(int(self.now.timestamp() * 1_000_000))


def _insert(session: Session) -> Any:
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def _classify(session: Session, run: _Run, candidates: Select[int]) -> tuple[dict[str, int], Any]:
    """Counts per reason, and the SELECT of the contact ids that may be enrolled."""
    sequence = run.sequence
    reason = _reason(sequence.workspace_id, sequence.id, run.again, run.needs_email).label("reason")
    classified = (
        select(Contact.id.label("contact_id"), reason)
        .where(Contact.workspace_id == sequence.workspace_id, Contact.id.in_(candidates))
        .subquery()
    )
    counts = {
        kind: count
        for kind, count in session.execute(
            select(classified.c.reason, func.count()).group_by(classified.c.reason)
        )
    }
    return counts, select(classified.c.contact_id).where(classified.c.reason == "ok")


def _finished_of_contact(run: _Run) -> Any:
    """The id of the finished enrollment in this sequence of the event's contact."""
    return (
        select(Enrollment.id)
        .where(
            Enrollment.sequence_id == run.sequence.id,
            Enrollment.contact_id == Event.contact_id,
            Enrollment.status.in_(("completed", "stopped")),
        )
        .scalar_subquery()
    )


def _mark_earlier_round(session: Session, run: _Run, finished: Any, chosen: Any) -> None:
    """Before finished enrollments start again: the messages of their earlier round keep their record
    under keys marked with their own id, so the new round's steps (``step:<enrollment>:<position>``)
    are queued afresh; and stop_enrollments' event key ("sequence-finished:<enrollment>") of the
    earlier round gets its event's id appended, so this round can stop again."""
    session.execute(
        update_(OutboxMessage)
        .where(
            OutboxMessage.enrollment_id.in_(finished),
            OutboxMessage.idempotency_key.like("step:%"),
            OutboxMessage.idempotency_key.not_like("%~%"),
        )
        .values(idempotency_key=OutboxMessage.idempotency_key + "~" + cast(OutboxMessage.id, String))
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update_(Event)
        .where(
            Event.workspace_id == run.sequence.workspace_id,
            Event.type == "sequence_finished",
            Event.contact_id.in_(chosen),
            Event.idempotency_key == literal("sequence-finished:") + cast(_finished_of_contact(run), String),
        )
        .values(idempotency_key=Event.idempotency_key + "~" + cast(Event.id, String))
        .execution_options(synchronize_session=False)
    )


def _restart(session: Session, run: _Run, chosen: Any) -> list[tuple[int, int]]:
    """Start finished enrollments of the chosen contacts again from the first step."""
    finished = select(Enrollment.id).where(
        Enrollment.sequence_id == run.sequence.id,
        Enrollment.status.in_(("completed", "stopped")),
        Enrollment.contact_id.in_(chosen),
    )
    _mark_earlier_round(session, run, finished, chosen)
    restarted = session.execute(
        update_(Enrollment)
        .where(Enrollment.id.in_(finished))
        .values(
            status="active",
            position=0,
            next_at=run.now,
            stop_reason=None,
            finished_at=None,
            source=run.source,
            enrolled_by_id=run.by_user_id,
            enrolled_at=run.now,
        )
        .returning(Enrollment.id, Enrollment.contact_id)
        .execution_options(synchronize_session=False)
    )
    return [(row[0], row[1]) for row in restarted]


def _create(session: Session, run: _Run, chosen: Any) -> list[tuple[int, int]]:
    """New enrollments for the chosen contacts not enrolled before (a racing one is left alone)."""
    sequence = run.sequence
    never = ~exists(
        select(Enrollment.id).where(
            Enrollment.sequence_id == sequence.id, Enrollment.contact_id == Contact.id
        )
    )
    now = literal(run.now, UTCDateTime)
    rows = select(
        literal(sequence.workspace_id, BigInteger), literal(sequence.id, BigInteger), Contact.id,
        literal("active", String), literal(0, Integer), now, literal(run.source, String),
        literal(run.by_user_id, BigInteger), now,
    ).where(Contact.id.in_(chosen), never)  # fmt: skip
    columns = [
        "workspace_id", "sequence_id", "contact_id", "status", "position",
        "next_at", "source", "enrolled_by_id", "enrolled_at",
    ]  # fmt: skip
    statement = _insert(session)(Enrollment).from_select(columns, rows)
    statement = statement.on_conflict_do_nothing(index_elements=["sequence_id", "contact_id"])
    created = session.execute(statement.returning(Enrollment.id, Enrollment.contact_id))
    return [(row[0], row[1]) for row in created]


def _events(session: Session, run: _Run, candidates: Select[int]) -> None:
    """``sequence_enrolled`` for every enrollment this run started among ``candidates``, in one
    INSERT … SELECT; scored when a rule scores them."""
    sequence = run.sequence
    properties = {"sequence": sequence.slug, "source": run.source}
    key = literal("sequence-enrolled:") + cast(Enrollment.id, String) + literal(f":{run.stamp}")
    now = literal(run.now, UTCDateTime)
    rows = select(
        literal(sequence.workspace_id, BigInteger), Enrollment.contact_id,
        literal("sequence_enrolled", String), now, now, literal(properties, Json),
        literal(EVENT_SOURCE, String), key,
    ).where(
        Enrollment.sequence_id == sequence.id,
        Enrollment.enrolled_at == run.now,
        Enrollment.status == "active",
        Enrollment.contact_id.in_(candidates),
    )  # fmt: skip
    columns = [
        "workspace_id", "contact_id", "type", "occurred_at", "received_at", "properties", "source",
        "idempotency_key",
    ]  # fmt: skip
    # The same moment twice (a second call with the same ``now``) writes each event once.
    statement = _insert(session)(Event).from_select(columns, rows)
    statement = statement.on_conflict_do_nothing(index_elements=["workspace_id", "idempotency_key"])
    settings = current_settings(session, sequence.workspace_id)[1]
    if not rules_by_type(settings).get("sequence_enrolled"):
        session.execute(statement)
        return
    stored = session.execute(statement.returning(Event.id, Event.contact_id, Event.occurred_at))
    scored = [EventRow(row[0], row[1], "sequence_enrolled", row[2], properties) for row in stored]
    apply_events(session, sequence.workspace_id, scored, run.now)


def _enroll_from(session: Session, run: _Run, candidates: Select[int], given: int | None) -> EnrollResult:
    counts, chosen = _classify(session, run, candidates)
    restarted = _restart(session, run, chosen) if run.again else []
    created = _create(session, run, chosen)
    _events(session, run, candidates)
    skipped = {reason: counts.get(reason, 0) for reason in SKIP_REASONS if reason != "not_found"}
    # A contact enrolled by someone else between the count and the insert counts as already enrolled.
    skipped["already"] += counts.get("ok", 0) - len(created) - len(restarted)
    if given is not None:
        skipped["not_found"] = given - sum(counts.values())
    ids = tuple(enrollment_id for enrollment_id, _contact in (*created, *restarted))
    return EnrollResult(len(created), len(restarted), skipped, ids)


def _run(
    session: Session,
    workspace_id: int,
    sequence_id: int,
    source: str,
    by: int | None,
    now: datetime,
    again: bool,
) -> _Run:
    sequence = _sequence(session, workspace_id, sequence_id)
    source = source.strip()[:120] or "manual"
    session.flush()
    return _Run(sequence, source, by, now, again, _sends_email(session, sequence.id))


def enroll(
    session: Session,
    workspace_id: int,
    sequence_id: int,
    contact_ids: Iterable[int],
    *,
    source: str,
    by_user_id: int | None,
    now: datetime,
    again: bool = False,
) -> EnrollResult:
    """Enrol these contacts (``source``: ``manual``, ``segment:<slug>``, ``form:<slug>``); with
    ``again``, contacts who finished the sequence start it again."""
    run = _run(session, workspace_id, sequence_id, source, by_user_id, now, again)
    ids = sorted(set(contact_ids))
    result = EnrollResult(0, 0, {})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        candidates = select(Contact.id).where(Contact.id.in_(chunk))
        result = result.plus(_enroll_from(session, run, candidates, len(chunk)))
    return result


def enroll_segment(
    session: Session,
    workspace_id: int,
    sequence_id: int,
    segment: Segment,
    *,
    by_user_id: int | None,
    now: datetime,
    again: bool = False,
) -> EnrollResult:
    """Enrol everyone in ``segment`` now, in a handful of statements whatever its size."""
    run = _run(session, workspace_id, sequence_id, f"segment:{segment.slug}", by_user_id, now, again)
    return _enroll_from(session, run, segment_contact_ids(session, workspace_id, segment, now), None)


def enroll_from_form(
    session: Session, workspace_id: int, form_id: int, asset_id: int | None, contact_id: int, now: datetime
) -> list[int]:
    """After a form submission: enrol its contact in every active sequence triggered by the form or
    by the lead magnet it delivers. Returns the new enrollments' ids (none for a contact already
    enrolled or finished: triggers never enrol anyone twice)."""
    triggered = or_(
        Sequence.trigger_form_id == form_id,
        and_(literal(asset_id is not None), Sequence.trigger_asset_id == asset_id),
    )
    sequence_ids = session.scalars(
        select(Sequence.id).where(
            Sequence.workspace_id == workspace_id, Sequence.status == "active", triggered
        )
    ).all()
    if not sequence_ids:
        return []
    slug = session.scalar(select(Form.slug).where(Form.id == form_id)) or str(form_id)
    created: list[int] = []
    for sequence_id in sorted(sequence_ids):
        result = enroll(
            session, workspace_id, sequence_id, [contact_id], source=f"form:{slug}", by_user_id=None, now=now
        )
        created.extend(result.enrollment_ids)
    return created
