"""Engagement as it stood at a past moment: the event log up to then replayed through a workspace's
scoring settings, with the scoring engine's own functions, so that a backtest ranks leads by the
score they had then.

Events count by when they occurred (``occurred_at`` before the moment), in the order they were
stored, as :mod:`leadwell.scoring.engine` scores events arriving: each rule whose conditions hold
grants its points, a capped rule what its scope has left (:func:`leadwell.scoring.points.grant`),
and points decay from when they were earned (:mod:`leadwell.scoring.decay`). The replay also
notes which rules each lead met, for the backtest's "which rule misleads".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from leadwell.db.models import Event
from leadwell.scoring import decay
from leadwell.scoring.points import CompiledRule, grant, rules_by_type, scope_of
from leadwell.scoring.settings import Settings

EVENT_BATCH = 5_000


@dataclass
class Replay:
    """Scores rebuilt from the log: (S, t0) per lead, cap totals, and the rules each lead met."""

    rate: float  # λ per day
    scores: dict[int, tuple[float, datetime | None]] = field(default_factory=dict)
    caps: dict[tuple[int, str, str], float] = field(default_factory=dict)
    met: dict[int, set[str]] = field(default_factory=dict)

    def score_at(self, lead: int, moment: datetime) -> float:
        """The lead's engagement as it stood at ``moment`` (0 without points)."""
        score, at = self.scores.get(lead, (0.0, None))
        return decay.current(score, at, moment, self.rate)

    def apply(self, compiled: CompiledRule, contact_id: int, occurred_at: datetime, properties: Any) -> None:
        """One event matched by one rule: the points its cap leaves, added with decay."""
        rule = compiled.rule
        self.met.setdefault(contact_id, set()).add(rule.key)
        points = rule.points
        if rule.cap is not None:
            key = (contact_id, rule.key, scope_of(compiled, occurred_at, properties))
            points, self.caps[key] = grant(self.caps.get(key, 0.0), points, rule.cap)
        if points:
            score, at = self.scores.get(contact_id, (0.0, None))
            self.scores[contact_id] = decay.add_points(score, at, points, occurred_at, self.rate)


def _events(session: Session, workspace_id: int, before: datetime, types: Iterable[str]) -> Iterable[Any]:
    query = (
        select(Event.id, Event.contact_id, Event.type, Event.occurred_at, Event.properties)
        .where(
            Event.workspace_id == workspace_id,
            Event.occurred_at < before,
            Event.type.in_(sorted(types)),
            Event.contact_id.is_not(None),
        )
        .order_by(Event.id)
    )
    return session.execute(query.execution_options(yield_per=EVENT_BATCH))


def replay(
    session: Session, workspace_id: int, before: datetime, settings: Settings, leads: set[int]
) -> Replay:
    """The leads' engagement built from every event that occurred before ``before``, in the order
    the events were stored, as the engine scores events arriving."""
    index = rules_by_type(settings)
    state = Replay(settings.decay_rate)
    for event in _events(session, workspace_id, before, index):
        if event.contact_id in leads:
            for compiled in index[event.type]:
                if compiled.holds(event.properties):
                    state.apply(compiled, event.contact_id, event.occurred_at, event.properties)
    return state
