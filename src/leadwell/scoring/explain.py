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

from leadwell.db.models import Contact, Engagement, Event
from leadwell.errors import NotFound
from leadwell.scoring import decay
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


def explain(session: Session, workspace_id: int, contact_id: int, now: datetime) -> Explanation:
    """A contact's score now and the events behind it; :class:`NotFound` naming ``contact``."""
    contact = session.scalar(select(Contact).where(Contact.id == contact_id, Contact.workspace_id == workspace_id))
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
