"""Call outcomes: what a call's result does to the lead.

| outcome | stage | back in the queue |
| --- | --- | --- |
| no_answer, voicemail, conversation | unchanged | after ``queue.retry_days[outcome]`` days |
| meeting_booked | SQL (a ``meeting_booked`` event too) | after ``retry_days.conversation`` days |
| not_a_fit (needs a reason) | disqualified | never |
| not_now (needs a revisit date) | nurture | on the revisit date, 09:00 in the contact's time zone |

A booked meeting also stops the contact's email sequences (reason ``meeting_booked``). Every
outcome writes a ``call_logged`` event (scored like any event), clears the contact's place at the
top of the queue if a reply had put it there (:mod:`leadwell.outreach.hot`), and may carry what
the call found out (``learned`` field values, see :mod:`leadwell.sales.learned`). Everything
happens in the caller's transaction and is checked before anything is written, so an error leaves
nothing behind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.orm import Session

from leadwell.contacts.service import get_contact
from leadwell.db.models import Contact, Engagement, Event
from leadwell.db.types import utcnow
from leadwell.errors import InvalidInput
from leadwell.events.types import validate_properties
from leadwell.ids import IdCodec
from leadwell.outreach.hot import clear_hot
from leadwell.outreach.stops import stop_enrollments
from leadwell.sales.learned import Learned, check_learned, write_learned
from leadwell.sales.why_now import MONTHS
from leadwell.scoring.engine import score_new_events
from leadwell.scoring.rows import engagement_of
from leadwell.scoring.stages import move_stage
from leadwell.scoring.store import current_settings

OUTCOMES = ("no_answer", "voicemail", "conversation", "meeting_booked", "not_a_fit", "not_now")
OUTCOME_LABELS = {
    "no_answer": "no answer",
    "voicemail": "voicemail",
    "conversation": "conversation",
    "meeting_booked": "meeting booked",
    "not_a_fit": "not a fit",
    "not_now": "not now",
}
RETRIED = ("no_answer", "voicemail", "conversation")
# A meeting moves a lead to SQL from these stages; later ones (opportunity, customer) stay put.
BEFORE_SQL = frozenset({"subscriber", "lead", "mql", "nurture"})
REVISIT_HOUR = time(9, 0)
MAX_REVISIT_DAYS = 3 * 366
MAX_NOTE = 2000
MAX_REASON = 500


@dataclass(frozen=True)
class OutcomeResult:
    """What logging a call did to the lead."""

    contact_id: int
    name: str
    outcome: str
    event_id: int
    stage: str
    moved: bool
    queue_state: str
    due_at: datetime | None
    learned: tuple[str, ...]
    grade: str | None


@dataclass(frozen=True)
class _Checked:
    outcome: str
    note: str | None
    reason: str | None
    revisit_on: date | None
    due_at: datetime | None
    learned: Learned


def contact_zone(contact: Contact) -> ZoneInfo:
    """The contact's time zone, UTC when it has none (or an unknown one)."""
    try:
        return ZoneInfo(contact.timezone) if contact.timezone else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def revisit_moment(contact: Contact, revisit_on: date) -> datetime:
    """09:00 on ``revisit_on`` where the contact is, in UTC."""
    return datetime.combine(revisit_on, REVISIT_HOUR, contact_zone(contact)).astimezone(UTC)


def _text(value: str | None, field: str, limit: int) -> str | None:
    text = (value or "").strip()
    if len(text) > limit:
        raise InvalidInput(f"{field}: at most {limit} characters", field=field)
    return text or None


def _check(
    contact: Contact,
    outcome: str,
    note: str | None,
    reason: str | None,
    revisit_on: date | None,
    learned: Mapping[str, str] | None,
    now: datetime,
) -> _Checked:
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome: {outcome[:40]!r} is not one of {', '.join(OUTCOMES)}", field="outcome")
    if contact.merged_into_id is not None:
        raise InvalidInput("contact_id: merged into another contact; log the call there", field="contact_id")
    checked_note = _text(note, "note", MAX_NOTE)
    checked_reason = _text(reason, "reason", MAX_REASON)
    if outcome == "not_a_fit" and checked_reason is None:
        raise InvalidInput("reason: say why the lead is not a fit", field="reason")
    due_at = None
    if outcome == "not_now":
        if revisit_on is None:
            raise InvalidInput("revisit_on: say when to call again", field="revisit_on")
        today = now.astimezone(contact_zone(contact)).date()
        if revisit_on <= today:
            raise InvalidInput(f"revisit_on: {revisit_on} is not in the future", field="revisit_on")
        if revisit_on > today + timedelta(days=MAX_REVISIT_DAYS):
            raise InvalidInput("revisit_on: at most three years ahead", field="revisit_on")
        due_at = revisit_moment(contact, revisit_on)
    elif revisit_on is not None:
        raise InvalidInput("revisit_on: only a not_now outcome takes a revisit date", field="revisit_on")
    return _Checked(outcome, checked_note, checked_reason, revisit_on, due_at, check_learned(learned))


def date_text(day: date) -> str:
    """ "3 Feb 2026"."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _move(
    session: Session, contact: Contact, checked: _Checked, by_user_id: int | None, now: datetime
) -> bool:
    """The stage move an outcome implies; True when the contact moved."""
    if checked.outcome == "meeting_booked" and contact.stage in BEFORE_SQL:
        why = "meeting booked on a call"
        return move_stage(session, contact, "sql", why, by_user_id=by_user_id, at=now) is not None
    if checked.outcome == "not_a_fit":
        why = f"not a fit: {checked.reason}"
        return move_stage(session, contact, "disqualified", why, by_user_id=by_user_id, at=now) is not None
    if checked.outcome == "not_now":
        assert checked.revisit_on is not None
        said = f"not now: {checked.reason}" if checked.reason else "not now"
        why = f"{said}, revisit {date_text(checked.revisit_on)}"
        return move_stage(session, contact, "nurture", why, by_user_id=by_user_id, at=now) is not None
    return False


def _events(contact: Contact, checked: _Checked, now: datetime) -> list[Event]:
    properties: dict[str, object] = {"outcome": checked.outcome}
    for name in ("note", "reason", "revisit_on"):
        value = getattr(checked, name)
        if value is not None:
            properties[name] = value.isoformat() if isinstance(value, date) else value
    made = [_event(contact, "call_logged", validate_properties("call_logged", properties), now)]
    if checked.outcome == "meeting_booked":
        meeting = {"note": checked.note} if checked.note else {}
        made.append(_event(contact, "meeting_booked", validate_properties("meeting_booked", meeting), now))
    return made


def _event(contact: Contact, event_type: str, properties: dict[str, object], now: datetime) -> Event:
    return Event(
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        type=event_type,
        occurred_at=now,
        received_at=now,
        properties=properties,
        source="leadwell",
    )


def _due(session: Session, workspace_id: int, checked: _Checked, now: datetime) -> datetime | None:
    if checked.outcome == "not_now":
        return checked.due_at
    if checked.outcome == "not_a_fit":
        return None
    retry = current_settings(session, workspace_id)[1].queue.retry_days
    waited = "conversation" if checked.outcome == "meeting_booked" else checked.outcome
    return now + timedelta(days=retry[waited])


def log_outcome(
    session: Session,
    codec: IdCodec,
    workspace_id: int,
    contact_id: int,
    outcome: str,
    *,
    note: str | None = None,
    reason: str | None = None,
    revisit_on: date | None = None,
    learned: Mapping[str, str] | None = None,
    by_user_id: int | None = None,
    now: datetime | None = None,
) -> OutcomeResult:
    """Log a call with ``outcome`` on a contact of the workspace and apply what it implies (see the
    module's table). :class:`InvalidInput` naming the field (``outcome``, ``reason``,
    ``revisit_on``, ``learned.<path>``) when the input breaks a rule; :class:`NotFound` for a
    contact of another workspace."""
    moment = now or utcnow()
    contact = get_contact(session, workspace_id, contact_id)
    checked = _check(contact, outcome, note, reason, revisit_on, learned, moment)
    if checked.learned:
        write_learned(session, codec, contact, checked.learned, by_user_id)
        session.refresh(contact)
    moved = _move(session, contact, checked, by_user_id, moment)
    events = _events(contact, checked, moment)
    session.add_all(events)
    session.flush()
    score_new_events(session, workspace_id, events)
    if checked.outcome == "meeting_booked":  # the conversation is on: no more automated mail
        stop_enrollments(session, workspace_id, contact.id, "meeting_booked", moment)
    session.refresh(contact)
    engagement = engagement_of(session, workspace_id, contact.id, contact.stage)
    session.refresh(engagement)
    _record_call(engagement, checked, _due(session, workspace_id, checked, moment), moment)
    session.flush()
    return OutcomeResult(
        contact_id=contact.id,
        name=f"{contact.first_name} {contact.last_name}".strip() or contact.email or "(no name)",
        outcome=checked.outcome,
        event_id=events[0].id,
        stage=contact.stage,
        moved=moved,
        queue_state=engagement.queue_state,
        due_at=engagement.due_at,
        learned=tuple(checked.learned.paths),
        grade=engagement.grade,
    )


def _record_call(engagement: Engagement, checked: _Checked, due_at: datetime | None, now: datetime) -> None:
    engagement.last_outcome = checked.outcome
    engagement.last_called_at = now
    engagement.due_at = due_at
    clear_hot(engagement)  # whatever came of it, the reply has had its call
    # A resurfaced lead's reason stays until its stage moves (move_stage clears it): after "no
    # answer" it still explains why the lead is worth another try.
