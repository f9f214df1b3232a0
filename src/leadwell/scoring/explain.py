"""Why a contact has its engagement score: every scored event, the points it earned, what they are
worth now (:func:`explain`).

The contact's log is replayed with the settings in force, in event-id order with its caps, as the
recompute does; the score shown is the stored one, which the replay adds up to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Contact, ContactEmail, Engagement, Event
from leadwell.errors import InvalidInput, NotFound
from leadwell.events.types import EVENT_LABELS
from leadwell.ids import BadId, IdCodec
from leadwell.scoring import decay, words
from leadwell.scoring.points import grant, rules_by_type, scope_of
from leadwell.scoring.settings import Rule, Settings
from leadwell.scoring.store import current_settings


@dataclass(frozen=True)
class Earned:
    """One rule's points for one event: granted (0 when its cap was used up) and worth now."""

    event_id: int
    occurred_at: datetime
    event_type: str
    rule: Rule
    points: float
    now: float

    @property
    def capped(self) -> bool:
        return self.points != self.rule.points


@dataclass(frozen=True)
class Explanation:
    contact_id: int
    version: int
    settings: Settings
    score: float  # now
    stored: float  # S at scored_at
    scored_at: datetime | None
    earned: list[Earned]


def replay(settings: Settings, events: list[Event], now: datetime) -> list[Earned]:
    """One contact's events (in id order) scored from scratch: caps counted as the log goes."""
    index = rules_by_type(settings)
    rate = settings.decay_rate
    awarded: dict[tuple[str, str], float] = {}
    found = []
    for event in events:
        for compiled in index.get(event.type, ()):
            if not compiled.holds(event.properties):
                continue
            rule, granted = compiled.rule, compiled.rule.points
            if rule.cap is not None:
                key = (rule.key, scope_of(compiled, event.occurred_at, event.properties))
                granted, awarded[key] = grant(awarded.get(key, 0.0), rule.points, rule.cap)
            worth = decay.current(granted, event.occurred_at, now, rate)
            found.append(Earned(event.id, event.occurred_at, event.type, rule, granted, worth))
    return found


def find_contact(session: Session, workspace_id: int, codec: IdCodec | None, given: str) -> int:
    """The contact of this workspace an email address or public id (``ct_…``) names;
    :class:`InvalidInput` or :class:`NotFound` naming ``contact`` otherwise."""
    text = given.strip()
    if "@" in text:
        found = session.scalar(
            select(ContactEmail.contact_id).where(
                ContactEmail.workspace_id == workspace_id, ContactEmail.email == text.lower()
            )
        )
    else:
        try:
            number = codec.decode("contact", text) if codec is not None else None
        except BadId:
            number = None
        if number is None:
            raise InvalidInput("CONTACT: not a contact id (ct_…) or an email address", field="contact")
        found = session.scalar(
            select(Contact.id).where(Contact.id == number, Contact.workspace_id == workspace_id)
        )
    if found is None:
        raise NotFound("CONTACT: no such contact in this workspace", field="contact")
    return found


def explain(session: Session, workspace_id: int, contact_id: int, now: datetime) -> Explanation:
    """A contact's score now and the events behind it; :class:`NotFound` naming ``contact``."""
    contact = session.scalar(
        select(Contact).where(Contact.id == contact_id, Contact.workspace_id == workspace_id)
    )
    if contact is None:
        raise NotFound("contact: no such contact in this workspace", field="contact")
    version, settings = current_settings(session, workspace_id)
    events = list(
        session.scalars(
            select(Event)
            .where(
                Event.workspace_id == workspace_id,
                Event.contact_id == contact_id,
                Event.type.in_(sorted(rules_by_type(settings))),
            )
            .order_by(Event.id)
        )
    )
    row = session.get(Engagement, contact_id)
    stored, scored_at = (row.score, row.scored_at) if row is not None else (0.0, None)
    score = decay.current(stored, scored_at, now, settings.decay_rate)
    return Explanation(contact_id, version, settings, score, stored, scored_at, replay(settings, events, now))


def earned_line(item: Earned) -> str:
    """One scored event in words: when, what, the rule, the points and their worth now."""
    when = item.occurred_at.strftime("%Y-%m-%d %H:%M")
    what = EVENT_LABELS.get(item.event_type, item.event_type)
    head = f"{when}  {what} — {item.rule.label}: "
    if item.points == 0:
        assert item.rule.cap is not None
        return head + f"0 (cap reached: {words.cap(item.rule.cap)})"
    got = words.points(item.points)
    if item.capped:
        got += f" of {words.points(item.rule.points)} (cap)"
    return head + f"{got}, worth {item.now:.1f} now"


def explanation_lines(found: Explanation) -> list[str]:
    lines = [
        f"engagement {found.score:.1f} now (settings version {found.version}; "
        f"{words.half_life(found.settings.half_life_days).lower()[:-1]})"
    ]
    if not found.earned:
        return [*lines, "no scored events"]
    lines.append(f"{len(found.earned)} scored event{'' if len(found.earned) == 1 else 's'}, oldest first:")
    return lines + ["  " + earned_line(item) for item in found.earned]
